package actors_test

import (
	"slices"
	"testing"

	"github.com/eioactor/engineio/actors"
)

// typeNames lists the types of msgs, in order.
func typeNames(msgs []any) []string {
	names := make([]string, len(msgs))
	for i, m := range msgs {
		names[i] = typeName(m)
	}
	return names
}

func expectTypes(t *testing.T, what string, msgs []any, want ...string) {
	t.Helper()
	if got := typeNames(msgs); !slices.Equal(got, want) {
		t.Fatalf("%s: %v; want %v", what, got, want)
	}
}

// Subscribe, message by message: a subscriber comes once however often it
// subscribes; one that comes while the writer has its batch learns when
// that batch is out (Drained), whether the writer finished it already
// without answering, or answers it now that someone waits; a Subscribe
// with no subscriber is refused.
func TestSubscribeAnswers(t *testing.T) {
	h := newHarness(t)
	pid, ws, frame := h.openEchoWebSocket()

	expectTypes(t, "Subscribe with no subscriber", h.request(pid, &actors.Subscribe{}).take(), "*actors.Unhandled")

	// The echo's batch: finished by the writer, unanswered (nobody waited).
	frame("a")
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4a"}) || ws.answers != 0 {
		t.Fatalf("frames %q, %d answers; want the echo, unanswered", got, ws.answers)
	}
	sub := h.probe()
	h.sys.Root.RequestWithCustomSender(pid, &actors.Subscribe{Subscriber: sub.pid}, sub.pid)
	expectTypes(t, "subscribing after an unanswered batch", sub.take(), "*actors.Drained", "*actors.Subscribed")
	h.sys.Root.RequestWithCustomSender(pid, &actors.Subscribe{Subscriber: sub.pid}, sub.pid)
	expectTypes(t, "subscribing again", sub.take(), "*actors.Subscribed")
	frame("b")
	expectTypes(t, "a message with one subscription, subscribed twice", sub.take(), "*actors.MessageReceived", "*actors.Drained")
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4b"}) || ws.answers != 1 {
		t.Fatalf("frames %q, %d answers; want the echo, answered for the subscriber", got, ws.answers)
	}

	// A batch still with the writer when a subscriber comes: the writer
	// answers it, and the subscriber learns then.
	h.sys.Root.Send(pid, &actors.Unsubscribe{Subscriber: sub.pid})
	ws.holdWrites = true
	frame("c")
	stalled := ws.last
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4c"}) {
		t.Fatalf("frames %q; want the echo", got)
	}
	expectTypes(t, "events after Unsubscribe", sub.take())
	late := h.probe()
	h.sys.Root.RequestWithCustomSender(pid, &actors.Subscribe{Subscriber: late.pid}, late.pid)
	expectTypes(t, "subscribing while the writer has a batch", late.take(), "*actors.Subscribed")
	ws.holdWrites = false
	ws.finish(stalled, nil)
	if ws.answers != 2 {
		t.Fatalf("the writer answered %d batches; want 2: the subscriber waits for the stalled one", ws.answers)
	}
	expectTypes(t, "once the stalled batch is out", late.take(), "*actors.Drained")
}

// A Subscribe queued behind the message that closes the session is
// answered from the closed state: SessionClosed, with the reason.
func TestSubscribeToAClosedSession(t *testing.T) {
	h := newHarness(t)
	_, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{ID: 3}) // parked
	release := h.holdBusy(pid)
	h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: poll.pid, Poll: 3})
	sub := h.probe()
	h.sys.Root.RequestWithCustomSender(pid, &actors.Subscribe{Subscriber: sub.pid}, sub.pid)
	release()
	got := sub.take()
	expectTypes(t, "Subscribe behind the close", got, "*actors.SessionClosed")
	if sc := got[0].(*actors.SessionClosed); sc.Reason != actors.ReasonTransportError {
		t.Errorf("SessionClosed reason %q; want %q", sc.Reason, actors.ReasonTransportError)
	}
}

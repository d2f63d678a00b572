package reply

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// routed is a reply naming the request it answers.
type routed struct {
	id   uint64
	text string
}

func (r *routed) ReplyID() uint64 { return r.id }

func TestRouterDelivers(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	a, b := r.Get(), r.Get()
	if a.PID() != b.PID() || a.ID() == b.ID() || a.ID() == 0 {
		t.Fatalf("inboxes share the router's PID under distinct IDs: %v %d, %v %d", a.PID(), a.ID(), b.PID(), b.ID())
	}
	if _, ok := sys.ProcessRegistry.GetLocal(a.PID().Id); !ok {
		t.Fatal("the router is not registered")
	}
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "to b"})
	sys.Root.Send(r.pid, &routed{id: a.ID(), text: "to a"})
	sys.Root.Send(r.pid, "not routed")
	sys.Root.Send(r.pid, &routed{id: 1 << 40, text: "to nobody"})
	for _, c := range []struct {
		ib   *Inbox
		want string
	}{{a, "to a"}, {b, "to b"}} {
		got, err := c.ib.Wait(context.Background(), time.Second)
		if err != nil || got.(*routed).text != c.want {
			t.Fatalf("Wait = %v, %v; want %q", got, err, c.want)
		}
		if got, err := c.ib.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
			t.Fatalf("a second Wait = %v, %v; want ErrTimeout", got, err)
		}
	}
}

// A detached request gets every later reply under its ID, the one its
// inbox already held first; its inbox serves the next request, which
// none of them reaches; after Drop they are dropped.
func TestRouterDetach(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	ib := r.Get()
	id := ib.ID()
	sys.Root.Send(r.PID(), &routed{id: id, text: "early"})
	waitQueued(t, ib)
	got := make(chan string, 4)
	to := func(m any) { got <- m.(*routed).text }
	if d := r.Detach(ib, to); d != id {
		t.Fatalf("Detach = ID %d; want %d", d, id)
	}
	if m := receive(t, got); m != "early" {
		t.Fatalf("the detached request got %q first; want early", m)
	}
	next := r.Get()
	if next != ib || next.ID() == id {
		t.Fatalf("after Detach, Get = %p ID %d; want the inbox (%p) under a new ID", next, next.ID(), ib)
	}
	sys.Root.Send(r.PID(), &routed{id: id, text: "late 1"})
	sys.Root.Send(r.PID(), &routed{id: id, text: "late 2"})
	for _, want := range []string{"late 1", "late 2"} {
		if m := receive(t, got); m != want {
			t.Fatalf("the detached request got %q; want %q", m, want)
		}
	}
	if len(next.ch) != 0 {
		t.Fatal("a reply to the detached request reached the inbox's next request")
	}
	r.Drop(id)
	sys.Root.Send(r.PID(), &routed{id: id, text: "dropped"})
	sys.Root.Send(r.PID(), &routed{id: next.ID(), text: "current"})
	if m, err := next.Wait(context.Background(), time.Second); err != nil || m.(*routed).text != "current" {
		t.Fatalf("the next request's Wait = %v, %v; want current", m, err)
	}
	if len(got) != 0 {
		t.Fatalf("a reply after Drop reached the detached request: %q", <-got)
	}
}

// A reply sent while its request is being detached arrives once: through
// the inbox if it found it, else straight to the callback; never lost
// between the two.
func TestRouterDetachRace(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	for round := 0; round < 50000; round++ {
		ib := r.Get()
		id := ib.ID()
		var arrived atomic.Int32
		sent := make(chan struct{})
		go func() {
			defer close(sent)
			r.SendUserMessage(nil, &routed{id: id, text: "reply"})
		}()
		r.Detach(ib, func(any) { arrived.Add(1) })
		<-sent
		if n := arrived.Load(); n != 1 {
			t.Fatalf("round %d: the reply arrived %d times", round, n)
		}
		r.Drop(id)
	}
}

func receive(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(time.Second):
		t.Fatal("no reply came")
		return ""
	}
}

// An inbox handed back answers under a new ID when reused: a late reply
// to its earlier request is dropped.
func TestRouterDropsLateReplies(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	a := r.Get()
	old := a.ID()
	r.Put(a, true)
	if a.ID() != 0 {
		t.Fatalf("an inbox handed back keeps ID %d", a.ID())
	}
	b := r.Get()
	if b != a || b.ID() == old {
		t.Fatalf("Get after Put: %p ID %d; want the same inbox (%p) under a new ID (not %d)", b, b.ID(), a, old)
	}
	sys.Root.Send(r.pid, &routed{id: old, text: "late"})
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "current"})
	got, err := b.Wait(context.Background(), time.Second)
	if err != nil || got.(*routed).text != "current" {
		t.Fatalf("Wait = %v, %v; want the current reply", got, err)
	}

	// An inbox with a reply left unread is not reused.
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "unread"})
	deadline := time.Now().Add(time.Second)
	for len(b.ch) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.Put(b, true)
	if c := r.Get(); c == b {
		t.Fatal("an inbox with an unread reply was reused")
	}
}

// request is a request sent through a router.
type request struct{ id uint64 }

func (r *request) RequestID() uint64 { return r.id }

// A request sent through the router to an addressee that is gone is
// answered under its ID with the actor system's dead letter response, on
// an inbox or a detached callback; other dead letters from the router, and
// those of other senders, reach no request. After Close the router hears
// of none.
func TestRouterAnswersDeadLetters(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	gone := actor.NewPID(sys.Address(), "no-such-actor")
	a, b := r.Get(), r.Get()
	sys.Root.RequestWithCustomSender(gone, "no ID", r.pid)
	sys.Root.RequestWithCustomSender(gone, &request{id: b.ID()}, actor.NewPID(sys.Address(), "someone-else"))
	sys.Root.RequestWithCustomSender(gone, &request{id: a.ID()}, r.pid)
	got, err := a.Wait(context.Background(), time.Second)
	if dl, ok := got.(*actor.DeadLetterResponse); err != nil || !ok || !dl.Target.Equal(gone) {
		t.Fatalf("Wait = %#v, %v; want *actor.DeadLetterResponse for %v", got, err, gone)
	}
	if got, err := b.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("another sender's dead letter reached the router's request: %v, %v", got, err)
	}

	detached := make(chan any, 1)
	id := r.Detach(b, func(m any) { detached <- m })
	sys.Root.RequestWithCustomSender(gone, &request{id: id}, r.pid)
	select {
	case m := <-detached:
		if _, ok := m.(*actor.DeadLetterResponse); !ok {
			t.Fatalf("detached request got %#v", m)
		}
	case <-time.After(time.Second):
		t.Fatal("the detached request got no answer")
	}
	r.Drop(id)

	c := r.Get()
	r.Close()
	sys.Root.RequestWithCustomSender(gone, &request{id: c.ID()}, r.pid)
	if got, err := c.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("a closed router answered a dead letter: %v, %v", got, err)
	}
}

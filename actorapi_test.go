package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/engineiotest"
	"github.com/eioactor/engineio/protocol"
)

// The session's actor API, as a user actor sees it: the user actor lives
// in the server's actor system (engineio.WithActorSystem), runs on
// protoactor's default dispatcher, ctx.Request()s a session's PID and
// reports every reply and event it gets on a channel, which the test reads
// with a timeout: a missing answer fails the test instead of hanging it.
// The server side runs under engineiotest (no sockets, fake clock), except
// where the real transports matter.

const apiWait = 5 * time.Second

// apiSystem returns an actor system with a discarding logger, shut down
// when the test ends (after the harness has closed the server).
func apiSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		actor.WithDeadLetterRequestLogging(false),
		// The throttle's goroutine outlives a dead letter by this long:
		// short, for the leak checks of the tests that follow.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	t.Cleanup(sys.Shutdown)
	return sys
}

// apiHarness is a harness whose server runs in sys.
func apiHarness(t *testing.T, sys *actor.ActorSystem, opts ...engineio.Option) *engineiotest.Harness {
	t.Helper()
	return engineiotest.New(t, append([]engineio.Option{engineio.WithActorSystem(sys)}, opts...)...)
}

// Messages the test sends its user actor.
type (
	// apiRequest: ctx.Request(to, msg).
	apiRequest struct {
		to  *actor.PID
		msg any
	}
	// apiSubscribeTo: ctx.Request(session, &actors.Subscribe{Subscriber: ctx.Self()}).
	apiSubscribeTo struct{ session *actor.PID }
	// apiBarrier comes back on the channel after everything the actor
	// got before it.
	apiBarrier struct{ n int }
	// apiBogus is a message no session or supervisor knows.
	apiBogus struct{}
)

// apiUser is the user actor. On a *actors.MessageReceived whose text is
// panicOn it panics; its supervisor decides what happens next.
type apiUser struct {
	out      chan any
	panicOn  string
	restarts *atomic.Int32
}

func (u *apiUser) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *apiRequest:
		ctx.Request(m.to, m.msg)
	case *apiSubscribeTo:
		ctx.Request(m.session, &actors.Subscribe{Subscriber: ctx.Self()})
	case *actor.Restarting:
		if u.restarts != nil {
			u.restarts.Add(1)
		}
	case *actor.Started, *actor.Stopping, *actor.Stopped:
	case *actors.MessageReceived:
		if u.panicOn != "" && string(m.Packet.Data) == u.panicOn {
			panic("subscriber failure on " + u.panicOn)
		}
		u.out <- m
	default:
		u.out <- m
	}
}

type apiActor struct {
	t   *testing.T
	sys *actor.ActorSystem
	pid *actor.PID
	out chan any
	n   int
}

func apiSpawn(t *testing.T, sys *actor.ActorSystem) *apiActor {
	t.Helper()
	a := &apiActor{t: t, sys: sys, out: make(chan any, 100)}
	a.pid = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &apiUser{out: a.out} }))
	return a
}

func (a *apiActor) request(to *actor.PID, msg any) {
	a.sys.Root.Send(a.pid, &apiRequest{to: to, msg: msg})
}

func (a *apiActor) next() any {
	a.t.Helper()
	select {
	case m := <-a.out:
		return m
	case <-time.After(apiWait):
		a.t.Fatalf("user actor: nothing within %v", apiWait)
		return nil
	}
}

// ask makes the actor request msg from to and returns the answer.
func (a *apiActor) ask(to *actor.PID, msg any) any {
	a.t.Helper()
	a.request(to, msg)
	return a.next()
}

// settle returns everything the actor got until now, in order: the
// session sends events inline (engineiotest), so they are in the actor's
// mailbox before the barrier.
func (a *apiActor) settle() []any {
	a.t.Helper()
	a.n++
	a.sys.Root.Send(a.pid, &apiBarrier{n: a.n})
	var got []any
	for {
		m := a.next()
		if b, ok := m.(*apiBarrier); ok && b.n == a.n {
			return got
		}
		got = append(got, m)
	}
}

func apiAs[T any](t *testing.T, m any) T {
	t.Helper()
	v, ok := m.(T)
	if !ok {
		var want T
		t.Fatalf("got %T %+v, want %T", m, m, want)
	}
	return v
}

func apiTexts(t *testing.T, c *engineiotest.Client, want ...string) {
	t.Helper()
	got := engineiotest.Texts(c.Receive())
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s received %q, want %q", c.SID(), got, want)
	}
}

func apiOpen(t *testing.T, c *engineiotest.Client) {
	t.Helper()
	if reason, closed := c.Closed(); closed {
		t.Fatalf("%s closed (%q), want open", c.SID(), reason)
	}
}

var apiTransports = []engineiotest.Transport{engineiotest.Polling, engineiotest.WebSocket}

func TestActorAPI_SendText(t *testing.T) {
	for _, tr := range apiTransports {
		t.Run(tr.String(), func(t *testing.T) {
			sys := apiSystem(t)
			h := apiHarness(t, sys)
			c := h.Connect(tr)
			a := apiSpawn(t, sys)
			apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendText("from an actor")))
			apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendBinary([]byte{0, 1, 2})))
			msgs := c.Receive()
			if len(msgs) != 2 || msgs[0].Text() != "from an actor" || msgs[0].Binary || !msgs[1].Binary || string(msgs[1].Data) != "\x00\x01\x02" {
				t.Fatalf("client received %+v", msgs)
			}
			apiOpen(t, c)
		})
	}
}

func TestActorAPI_GetInfo(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	c := h.Connect(engineiotest.Polling)
	a := apiSpawn(t, sys)
	info := apiAs[*actors.SessionInfo](t, a.ask(c.PID(), &actors.GetInfo{}))
	want := actors.SessionInfo{SID: c.SID(), Transport: "polling", Revision: protocol.V4, RemoteAddr: engineiotest.RemoteAddr}
	if *info != want {
		t.Fatalf("info %+v, want %+v", *info, want)
	}
	apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendText("12345")))
	info = apiAs[*actors.SessionInfo](t, a.ask(c.PID(), &actors.GetInfo{}))
	if info.QueuedPackets != 1 || info.QueuedBytes != 5 {
		t.Fatalf("queue in info %+v, want 1 packet of 5 bytes", *info)
	}
	apiTexts(t, c, "12345")
	c.Upgrade()
	info = apiAs[*actors.SessionInfo](t, a.ask(c.PID(), &actors.GetInfo{}))
	if info.Transport != "websocket" || info.QueuedPackets != 0 {
		t.Fatalf("info after upgrade %+v", *info)
	}
}

// A subscriber gets the session's events in order, the last being
// *actors.Disconnected with the reason.
func TestActorAPI_SubscribeEvents(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	var handled []string
	var mu sync.Mutex
	h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) {
		mu.Lock()
		handled = append(handled, msg.Text())
		mu.Unlock()
	})
	c := h.Connect(engineiotest.Polling)
	a := apiSpawn(t, sys)
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
	if sub := apiAs[*actors.Subscribed](t, a.next()); sub.SID != c.SID() {
		t.Fatalf("subscribed %+v", sub)
	}
	// Subscribing twice is harmless: one subscription.
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
	apiAs[*actors.Subscribed](t, a.next())

	c.Send("hello")
	c.SendBinary([]byte{7})
	c.Upgrade()
	if err := h.Server().Send(c.SID(), "to the client"); err != nil {
		t.Fatal(err)
	}
	apiTexts(t, c, "to the client")
	c.Close()

	got := a.settle()
	if len(got) != 5 {
		t.Fatalf("events %s, want 5", apiDescribe(got))
	}
	if m := apiAs[*actors.MessageReceived](t, got[0]); m.SID != c.SID() || m.Packet.Type != protocol.Message || string(m.Packet.Data) != "hello" || m.Packet.Binary {
		t.Fatalf("first event %+v", m)
	}
	if m := apiAs[*actors.MessageReceived](t, got[1]); !m.Packet.Binary || string(m.Packet.Data) != "\x07" {
		t.Fatalf("second event %+v", m)
	}
	if m := apiAs[*actors.Upgraded](t, got[2]); m.SID != c.SID() {
		t.Fatalf("upgraded %+v", m)
	}
	if m := apiAs[*actors.Drained](t, got[3]); m.SID != c.SID() {
		t.Fatalf("drained %+v", m)
	}
	if m := apiAs[*actors.Disconnected](t, got[4]); m.SID != c.SID() || m.Reason != engineio.ReasonClientClose {
		t.Fatalf("disconnected %+v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 2 {
		t.Fatalf("the handler saw %q beside the subscriber", handled)
	}
}

func TestActorAPI_Unsubscribe(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	c := h.Connect(engineiotest.WebSocket)
	a := apiSpawn(t, sys)
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
	apiAs[*actors.Subscribed](t, a.next())
	c.Send("seen")
	sys.Root.Send(c.PID(), &actors.Unsubscribe{Subscriber: a.pid})
	c.Send("not seen")
	c.Close()
	got := a.settle()
	if len(got) != 1 || string(apiAs[*actors.MessageReceived](t, got[0]).Packet.Data) != "seen" {
		t.Fatalf("events %s", apiDescribe(got))
	}
}

// Server.Subscribe sends *actors.Subscribe with no sender; subscribing the
// same actor twice is harmless and, like every answer to no one, quiet: no
// reply goes to the dead letters (where a logger would report it).
func TestActorAPI_ServerSubscribeTwiceIsQuiet(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	c := h.Connect(engineiotest.WebSocket)
	a := apiSpawn(t, sys)
	var stray atomic.Int32
	sub := sys.EventStream.Subscribe(func(evt any) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok {
			if _, ignored := dl.Message.(actor.IgnoreDeadLetterLogging); !ignored {
				stray.Add(1)
				t.Logf("dead letter: %T %+v to %v", dl.Message, dl.Message, dl.PID)
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	for range 2 {
		if err := h.Server().Subscribe(c.SID(), a.pid); err != nil {
			t.Fatal(err)
		}
	}
	c.Send("once")
	if got := apiReceived(a.settle()); len(got) != 1 || got[0] != "once" {
		t.Fatalf("subscriber got %q, want the message once", got)
	}
	if n := stray.Load(); n != 0 {
		t.Errorf("%d replies to no one went to the dead letters (logged): onSubscribe answers a duplicate Subscribe without checking ctx.Sender()", n)
	}
}

// A request after the session closed gets a clear answer: *SessionClosed
// from a session still closing, or protoactor's *DeadLetterResponse from
// one that has stopped; never silence.
func TestActorAPI_RequestAfterClose(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	a := apiSpawn(t, sys)
	clearAnswer := func(m any) {
		t.Helper()
		switch m := m.(type) {
		case *actors.SessionClosed, *actor.DeadLetterResponse:
		default:
			t.Fatalf("answer after close: %T %+v, want *actors.SessionClosed or *actor.DeadLetterResponse", m, m)
		}
	}

	// Closing: a graceful close over polling waits for a poll.
	closing := h.Connect(engineiotest.Polling)
	if err := h.Server().Disconnect(closing.SID()); err != nil {
		t.Fatal(err)
	}
	apiOpen(t, closing)
	sc := apiAs[*actors.SessionClosed](t, a.ask(closing.PID(), actors.SendText("too late")))
	if sc.SID != closing.SID() || sc.Reason != engineio.ReasonServerClose {
		t.Fatalf("session closed %+v", sc)
	}
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: closing.PID()})
	apiAs[*actors.Subscribed](t, a.next()) // still subscribable: it will report the close
	closing.Receive()
	if reason, closed := closing.Closed(); !closed || reason != engineio.ReasonServerClose {
		t.Fatalf("Closed() = %q, %v", reason, closed)
	}
	if got := a.settle(); len(got) != 1 || apiAs[*actors.Disconnected](t, got[0]).Reason != engineio.ReasonServerClose {
		t.Fatalf("events %s", apiDescribe(got))
	}

	// Closed and stopped.
	for _, tr := range apiTransports {
		c := h.Connect(tr)
		c.Close()
		clearAnswer(a.ask(c.PID(), actors.SendText("too late")))
		clearAnswer(a.ask(c.PID(), &actors.GetInfo{}))
		a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
		clearAnswer(a.next())
		clearAnswer(a.ask(c.PID(), &apiBogus{}))
	}
}

// A subscriber that reacts to *actors.Disconnected by asking the session
// something must get a clear answer too. Here the subscriber runs on the
// harness's synchronized dispatcher, so it reacts at once, inside the
// session's own stop: its requests reach the session's mailbox after the
// session published Disconnected and before protoactor unregistered it.
func TestActorAPI_RequestOnDisconnectedIsAnswered(t *testing.T) {
	for _, tr := range apiTransports {
		t.Run(tr.String(), func(t *testing.T) {
			sys := apiSystem(t)
			h := apiHarness(t, sys)
			c := h.Connect(tr)
			out := make(chan any, 10)
			session := c.PID()
			sub := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
				switch m := ctx.Message().(type) {
				case *actors.Disconnected:
					out <- m
					ctx.Request(session, actors.SendText("too late"))
				case *actors.Subscribed, *actors.SessionClosed, *actor.DeadLetterResponse, *actors.Sent:
					out <- m
				}
			}, actor.WithDispatcher(h.Dispatcher())))
			defer sys.Root.Stop(sub)
			sys.Root.RequestWithCustomSender(session, &actors.Subscribe{Subscriber: sub}, sub)
			a := &apiActor{t: t, sys: sys, out: out}
			apiAs[*actors.Subscribed](t, a.next())
			c.Close()
			apiAs[*actors.Disconnected](t, a.next())
			select {
			case m := <-out:
				switch m.(type) {
				case *actors.SessionClosed, *actor.DeadLetterResponse:
				default:
					t.Fatalf("request after Disconnected answered %T, want *actors.SessionClosed or *actor.DeadLetterResponse", m)
				}
			case <-time.After(apiWait):
				t.Fatalf("a request sent on *actors.Disconnected got no answer within %v: it reached the "+
					"session's mailbox during the stop, after Disconnected was published (in *actor.Stopping) "+
					"and before the PID was unregistered, and protoactor dropped it unanswered", apiWait)
			}
		})
	}
}

// An unknown request gets *actors.Unhandled, and the session goes on.
func TestActorAPI_UnknownRequest(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	c := h.Connect(engineiotest.WebSocket)
	a := apiSpawn(t, sys)
	u := apiAs[*actors.Unhandled](t, a.ask(c.PID(), &apiBogus{}))
	if u.Type != "*engineio_test.apiBogus" {
		t.Fatalf("unhandled %+v", u)
	}
	apiAs[*actors.Unhandled](t, a.ask(c.PID(), "a string"))
	// A plain send of an unknown message is dropped quietly.
	sys.Root.Send(c.PID(), &apiBogus{})
	apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendText("still here")))
	apiTexts(t, c, "still here")
	apiOpen(t, c)
}

func TestActorAPI_SupervisorUnknownRequest(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	a := apiSpawn(t, sys)
	u := apiAs[*actors.Unhandled](t, a.ask(h.Server().SupervisorPID(), &apiBogus{}))
	if u.Type != "*engineio_test.apiBogus" {
		t.Fatalf("unhandled %+v", u)
	}
	// The supervisor still opens sessions.
	c := h.Connect(engineiotest.Polling)
	c.Send("x")
	apiOpen(t, c)
}

func TestActorAPI_QueueFullAnswer(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys, engineio.WithOutboundQueue(2, 0, engineio.OverflowReject))
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()
	a := apiSpawn(t, sys)
	for _, s := range []string{"a", "b", "c"} {
		apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendText(s)))
	}
	if qf := apiAs[*actors.QueueFull](t, a.ask(c.PID(), actors.SendText("d"))); qf.SID != c.SID() {
		t.Fatalf("queue full %+v", qf)
	}
	c.Resume()
	apiTexts(t, c, "a", "b", "c")
	apiAs[*actors.Sent](t, a.ask(c.PID(), actors.SendText("e")))
	apiTexts(t, c, "e")
}

// apiDeadLetters records the dead letters sent to one PID.
type apiDeadLetters struct {
	mu   sync.Mutex
	msgs []any
}

func apiWatchDeadLetters(t *testing.T, sys *actor.ActorSystem, to *actor.PID) *apiDeadLetters {
	d := &apiDeadLetters{}
	sub := sys.EventStream.Subscribe(func(evt any) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok && dl.PID.Equal(to) {
			d.mu.Lock()
			d.msgs = append(d.msgs, dl.Message)
			d.mu.Unlock()
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return d
}

func (d *apiDeadLetters) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.msgs)
}

// A subscriber that stops is forgotten: the session keeps working, sends it
// nothing more (no dead letters) and keeps serving the other subscribers.
func TestActorAPI_DeadSubscriberForgotten(t *testing.T) {
	for _, tr := range apiTransports {
		t.Run(tr.String(), func(t *testing.T) {
			sys := apiSystem(t)
			h := apiHarness(t, sys)
			h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) { _ = s.Send("echo " + msg.Text()) })
			c := h.Connect(tr)
			dying, living := apiSpawn(t, sys), apiSpawn(t, sys)
			for _, a := range []*apiActor{dying, living} {
				a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
				apiAs[*actors.Subscribed](t, a.next())
			}
			c.Send("one")
			if got := apiReceived(dying.settle()); len(got) != 1 || got[0] != "one" {
				t.Fatalf("dying subscriber got %q", got)
			}
			dead := apiWatchDeadLetters(t, sys, dying.pid)
			if err := sys.Root.StopFuture(dying.pid).Wait(); err != nil {
				t.Fatal(err)
			}
			c.Send("two")
			apiTexts(t, c, "echo one", "echo two")
			if got := apiReceived(living.settle()); len(got) != 2 || got[1] != "two" {
				t.Fatalf("living subscriber got %q", got)
			}
			info := apiAs[*actors.SessionInfo](t, living.ask(c.PID(), &actors.GetInfo{}))
			if info.SID != c.SID() || info.Transport != tr.String() {
				t.Fatalf("info %+v", info)
			}
			if n := dead.count(); n != 0 {
				t.Fatalf("%d events sent to the stopped subscriber: it was not forgotten", n)
			}
			living.settle()
			c.Close()
			if got := living.settle(); len(got) != 1 || apiAs[*actors.Disconnected](t, got[0]).Reason != engineio.ReasonClientClose {
				t.Fatalf("living subscriber got %s at the close", apiDescribe(got))
			}
			if n := dead.count(); n != 0 {
				t.Fatalf("%d events sent to the stopped subscriber", n)
			}
		})
	}
}

// A subscriber that panics while handling an event is restarted by its own
// supervision (the default for a root actor): the session does not notice,
// and the restarted actor, at the same PID, keeps getting events.
func TestActorAPI_PanickingSubscriberRestarted(t *testing.T) {
	sys := apiSystem(t)
	h := apiHarness(t, sys)
	var handled atomic.Int32
	h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) { handled.Add(1) })
	c := h.Connect(engineiotest.WebSocket)
	var restarts atomic.Int32
	a := &apiActor{t: t, sys: sys, out: make(chan any, 100)}
	a.pid = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &apiUser{out: a.out, panicOn: "boom", restarts: &restarts}
	}))
	defer sys.Root.Stop(a.pid)
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
	apiAs[*actors.Subscribed](t, a.next())
	c.Send("boom")
	c.Send("after")
	m := apiAs[*actors.MessageReceived](t, a.next())
	if string(m.Packet.Data) != "after" {
		t.Fatalf("after the panic the subscriber got %q", m.Packet.Data)
	}
	if n := restarts.Load(); n != 1 {
		t.Fatalf("%d restarts, want 1", n)
	}
	apiOpen(t, c)
	if n := handled.Load(); n != 2 {
		t.Fatalf("handler ran %d times", n)
	}
	if err := h.Server().Send(c.SID(), "still working"); err != nil {
		t.Fatal(err)
	}
	apiTexts(t, c, "still working")
	apiAs[*actors.Drained](t, a.next())
	info := apiAs[*actors.SessionInfo](t, a.ask(c.PID(), &actors.GetInfo{}))
	if info.SID != c.SID() {
		t.Fatalf("info %+v", info)
	}
}

// A subscriber whose parent stops failing children: it is stopped, the
// session forgets it and goes on.
func TestActorAPI_PanickingSubscriberStopped(t *testing.T) {
	for _, tr := range apiTransports {
		t.Run(tr.String(), func(t *testing.T) {
			sys := apiSystem(t)
			h := apiHarness(t, sys)
			var handled atomic.Int32
			h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) { handled.Add(1) })
			c := h.Connect(tr)
			out := make(chan any, 100)
			stop := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
			parent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
				switch m := ctx.Message().(type) {
				case *actor.Started:
					child := ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return &apiUser{out: out, panicOn: "boom"} }))
					out <- child
				case *actor.Terminated:
					out <- m
				}
			}, actor.WithSupervisor(stop)))
			defer sys.Root.Stop(parent)
			a := &apiActor{t: t, sys: sys, out: out}
			a.pid = apiAs[*actor.PID](t, a.next())
			a.sys.Root.Send(a.pid, &apiSubscribeTo{session: c.PID()})
			apiAs[*actors.Subscribed](t, a.next())
			c.Send("boom")
			// The session is among the child's watchers, which hear of its
			// end before its parent does: from here on, it is forgotten.
			if term := apiAs[*actor.Terminated](t, a.next()); !term.Who.Equal(a.pid) {
				t.Fatalf("terminated %v", term.Who)
			}
			dead := apiWatchDeadLetters(t, sys, a.pid)
			c.Send("after")
			if err := h.Server().Send(c.SID(), "still working"); err != nil {
				t.Fatal(err)
			}
			apiTexts(t, c, "still working")
			apiOpen(t, c)
			if n := handled.Load(); n != 2 {
				t.Fatalf("handler ran %d times", n)
			}
			b := apiSpawn(t, sys)
			info := apiAs[*actors.SessionInfo](t, b.ask(c.PID(), &actors.GetInfo{}))
			if info.Transport != tr.String() {
				t.Fatalf("info %+v", info)
			}
			c.Close()
			if n := dead.count(); n != 0 {
				t.Fatalf("%d events sent to the stopped subscriber", n)
			}
		})
	}
}

// The overflow policies through the public API, with a WebSocket client
// that does not read.
func TestActorAPI_OverflowReject(t *testing.T) {
	h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowReject))
	srv := h.Server()
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()
	// "a" goes to the stuck writer; "b" and "c" fill the queue.
	for _, s := range []string{"a", "b", "c"} {
		if err := srv.Send(c.SID(), s); err != nil {
			t.Fatalf("send %s: %v", s, err)
		}
	}
	if err := srv.Send(c.SID(), "d"); !errors.Is(err, engineio.ErrQueueFull) {
		t.Fatalf("send beyond the queue: %v, want ErrQueueFull", err)
	}
	if err := srv.SendBinary(c.SID(), []byte{1}); !errors.Is(err, engineio.ErrQueueFull) {
		t.Fatalf("binary send beyond the queue: %v, want ErrQueueFull", err)
	}
	c.Resume()
	apiTexts(t, c, "a", "b", "c")
	if err := srv.Send(c.SID(), "e"); err != nil {
		t.Fatalf("send after the queue drained: %v", err)
	}
	apiTexts(t, c, "e")
	apiOpen(t, c)
}

// The byte bound works as the packet bound does.
func TestActorAPI_OverflowRejectBytes(t *testing.T) {
	h := engineiotest.New(t, engineio.WithOutboundQueue(0, 10, engineio.OverflowReject))
	srv := h.Server()
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()
	for _, s := range []string{"in flight", "12345", "67890"} {
		if err := srv.Send(c.SID(), s); err != nil {
			t.Fatalf("send %s: %v", s, err)
		}
	}
	if err := srv.Send(c.SID(), "x"); !errors.Is(err, engineio.ErrQueueFull) {
		t.Fatalf("send beyond 10 bytes: %v", err)
	}
	c.Resume()
	apiTexts(t, c, "in flight", "12345", "67890")
}

func TestActorAPI_OverflowDropOldest(t *testing.T) {
	h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowDropOldest))
	srv := h.Server()
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()
	for _, s := range []string{"a", "b", "c", "d", "e"} {
		if err := srv.Send(c.SID(), s); err != nil {
			t.Fatalf("send %s: %v", s, err)
		}
	}
	c.Resume()
	// "a" was with the writer; of the rest, the newest two are kept.
	apiTexts(t, c, "a", "d", "e")
	apiOpen(t, c)
}

func TestActorAPI_OverflowClose(t *testing.T) {
	h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowClose))
	srv := h.Server()
	reasons := map[string]engineio.Reason{}
	srv.OnDisconnect(func(s *engineio.Session, r engineio.Reason) { reasons[s.ID()] = r })
	c := h.Connect(engineiotest.WebSocket)
	other := h.Connect(engineiotest.WebSocket)
	c.Stall()
	for _, s := range []string{"a", "b", "c"} {
		if err := srv.Send(c.SID(), s); err != nil {
			t.Fatalf("send %s: %v", s, err)
		}
	}
	apiOpen(t, c)
	_ = srv.Send(c.SID(), "d") // one too many
	if reason, closed := c.Closed(); !closed || reason != engineio.ReasonBackpressure {
		t.Fatalf("Closed() = %q, %v; want backpressure", reason, closed)
	}
	if reasons[c.SID()] != engineio.ReasonBackpressure {
		t.Fatalf("OnDisconnect reasons %v", reasons)
	}
	if err := srv.Send(c.SID(), "e"); !errors.Is(err, engineio.ErrUnknownSession) {
		t.Fatalf("send to the closed session: %v", err)
	}
	// Other sessions are untouched.
	if err := srv.Send(other.SID(), "fine"); err != nil {
		t.Fatal(err)
	}
	apiTexts(t, other, "fine")
	apiOpen(t, other)
}

// OnDrain runs once the outbound queue has emptied after sends: every
// message has been handed to the transport.
func TestActorAPI_OnDrain(t *testing.T) {
	for _, tr := range apiTransports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			srv := h.Server()
			var drains []string
			srv.OnDrain(func(s *engineio.Session) { drains = append(drains, s.ID()) })
			c := h.Connect(tr)
			if len(drains) != 0 {
				t.Fatalf("drain at connect: %v", drains)
			}
			if tr == engineiotest.WebSocket {
				c.Stall()
			}
			for _, s := range []string{"a", "b", "c"} {
				if err := srv.Send(c.SID(), s); err != nil {
					t.Fatal(err)
				}
			}
			if len(drains) != 0 {
				t.Fatalf("drained before the client took the messages: %v", drains)
			}
			if tr == engineiotest.WebSocket {
				c.Resume()
			}
			apiTexts(t, c, "a", "b", "c")
			if len(drains) != 1 || drains[0] != c.SID() {
				t.Fatalf("drains %v, want one", drains)
			}
			// Nothing sent since: nothing to report.
			c.Receive()
			if len(drains) != 1 {
				t.Fatalf("drains %v", drains)
			}
		})
	}
}

// The actor API over the real transports: a gorilla WebSocket client and
// a user actor in the same actor system as the server.
func TestActorAPI_RealWebSocket(t *testing.T) {
	sys := apiSystem(t)
	srv, err := engineio.NewServer(engineio.WithActorSystem(sys))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiWait)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(apiWait))
	_, open, err := ws.ReadMessage()
	if err != nil || len(open) == 0 || open[0] != '0' {
		t.Fatalf("open frame %q, %v", open, err)
	}
	sid := apiSIDOf(t, string(open))
	pid, err := srv.PID(sid)
	if err != nil {
		t.Fatal(err)
	}
	a := apiSpawn(t, sys)
	defer func() { _ = sys.Root.StopFuture(a.pid).Wait() }()
	info := apiAs[*actors.SessionInfo](t, a.ask(pid, &actors.GetInfo{}))
	if info.SID != sid || info.Transport != "websocket" || info.Revision != protocol.V4 || !strings.HasPrefix(info.RemoteAddr, "127.0.0.1:") {
		t.Fatalf("info %+v", info)
	}
	a.sys.Root.Send(a.pid, &apiSubscribeTo{session: pid})
	apiAs[*actors.Subscribed](t, a.next())
	if err := ws.WriteMessage(websocket.TextMessage, []byte("4hello")); err != nil {
		t.Fatal(err)
	}
	if m := apiAs[*actors.MessageReceived](t, a.next()); string(m.Packet.Data) != "hello" {
		t.Fatalf("event %+v", m)
	}
	apiAs[*actors.Sent](t, a.ask(pid, actors.SendText("from an actor")))
	if _, b, err := ws.ReadMessage(); err != nil || string(b) != "4from an actor" {
		t.Fatalf("frame %q, %v", b, err)
	}
	// The real writer acknowledged the batch: the subscriber hears the
	// queue drained.
	apiAs[*actors.Drained](t, a.next())
	_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	if d := apiAs[*actors.Disconnected](t, a.next()); d.Reason != engineio.ReasonTransportClose {
		t.Fatalf("disconnected %+v", d)
	}
	if _, err := srv.PID(sid); !errors.Is(err, engineio.ErrUnknownSession) {
		t.Fatalf("PID of the closed session: %v", err)
	}
	// Once protoactor has unregistered the stopped session, a request is a
	// dead letter. (A request sent on Disconnected itself may come earlier
	// and go unanswered: see TestActorAPI_RequestOnDisconnectedIsAnswered.)
	for deadline := time.Now().Add(apiWait); ; runtime.Gosched() {
		if _, ok := sys.ProcessRegistry.Get(pid); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s still registered after Disconnected", sid)
		}
	}
	switch m := a.ask(pid, actors.SendText("too late")).(type) {
	case *actors.SessionClosed, *actor.DeadLetterResponse:
	default:
		t.Fatalf("request after close: %T", m)
	}
}

func apiSIDOf(t *testing.T, open string) string {
	t.Helper()
	i := strings.Index(open, `"sid":"`)
	if i < 0 {
		t.Fatalf("no sid in %q", open)
	}
	rest := open[i+7:]
	return rest[:strings.IndexByte(rest, '"')]
}

// apiReceived returns the texts of the *actors.MessageReceived events
// among msgs.
func apiReceived(msgs []any) []string {
	var out []string
	for _, m := range msgs {
		if mr, ok := m.(*actors.MessageReceived); ok {
			out = append(out, string(mr.Packet.Data))
		}
	}
	return out
}

func apiDescribe(msgs []any) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = fmt.Sprintf("%T%+v", m, m)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

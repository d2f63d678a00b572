package engineiotest_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/engineiotest"
	"github.com/eioactor/engineio/protocol"
)

var transports = []engineiotest.Transport{engineiotest.Polling, engineiotest.WebSocket}

// events records what the handlers of a server see.
type events struct {
	mu          sync.Mutex
	messages    map[string][]engineio.Message
	disconnects map[string]engineio.Reason
	drains      int
}

// echo installs handlers that record events and send every message back.
func echo(srv *engineio.Server) *events {
	ev := &events{messages: map[string][]engineio.Message{}, disconnects: map[string]engineio.Reason{}}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		ev.mu.Lock()
		ev.messages[s.ID()] = append(ev.messages[s.ID()], msg)
		ev.mu.Unlock()
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
		} else {
			_ = s.Send(msg.Text())
		}
	})
	srv.OnDisconnect(func(s *engineio.Session, reason engineio.Reason) {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		if _, ok := ev.disconnects[s.ID()]; ok {
			panic("second disconnect of " + s.ID())
		}
		ev.disconnects[s.ID()] = reason
	})
	srv.OnDrain(func(*engineio.Session) {
		ev.mu.Lock()
		ev.drains++
		ev.mu.Unlock()
	})
	return ev
}

func (ev *events) disconnect(sid string) (engineio.Reason, bool) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	r, ok := ev.disconnects[sid]
	return r, ok
}

func (ev *events) drainCount() int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return ev.drains
}

func expectTexts(t *testing.T, c *engineiotest.Client, want ...string) {
	t.Helper()
	got := engineiotest.Texts(c.Receive())
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s received %q, want %q", c.SID(), got, want)
	}
}

func expectOpen(t *testing.T, c *engineiotest.Client) {
	t.Helper()
	if reason, closed := c.Closed(); closed {
		t.Fatalf("%s closed (%q), want open", c.SID(), reason)
	}
}

func expectClosed(t *testing.T, c *engineiotest.Client, ev *events, want engineio.Reason) {
	t.Helper()
	reason, closed := c.Closed()
	if !closed || reason != want {
		t.Fatalf("%s: Closed() = %q, %v; want %q, true", c.SID(), reason, closed, want)
	}
	if ev != nil {
		if got, ok := ev.disconnect(c.SID()); !ok || got != want {
			t.Fatalf("%s: OnDisconnect got %q (%v), want %q", c.SID(), got, ok, want)
		}
	}
}

func types(pkts []protocol.Packet) []protocol.PacketType {
	out := make([]protocol.PacketType, len(pkts))
	for i, p := range pkts {
		out[i] = p.Type
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			ev := echo(h.Server())
			c := h.Connect(tr)
			if c.SID() != "sid1" || c.Transport() != tr {
				t.Fatalf("sid %q transport %v", c.SID(), c.Transport())
			}
			if got, err := h.Server().Transport(c.SID()); err != nil || got != tr.String() {
				t.Fatalf("server says transport %q, %v", got, err)
			}
			hs := c.Handshake()
			wantUpgrades := []string{"websocket"}
			if tr == engineiotest.WebSocket {
				wantUpgrades = []string{}
			}
			if hs.SID != "sid1" || hs.PingInterval != 25*time.Second || hs.PingTimeout != 20*time.Second ||
				hs.MaxPayload != 1_000_000 || !slices.Equal(hs.Upgrades, wantUpgrades) {
				t.Fatalf("handshake %+v", hs)
			}
			expectTexts(t, c) // nothing yet
			c.Send("hello")
			c.Send("world")
			expectTexts(t, c, "hello", "world")
			c.SendBinary([]byte{1, 2, 3})
			msgs := c.Receive()
			if len(msgs) != 1 || !msgs[0].Binary || !bytes.Equal(msgs[0].Data, []byte{1, 2, 3}) {
				t.Fatalf("binary echo %+v", msgs)
			}
			ev.mu.Lock()
			got := ev.messages["sid1"]
			ev.mu.Unlock()
			if len(got) != 3 || got[0].Text() != "hello" || got[1].Binary || !got[2].Binary || !bytes.Equal(got[2].Data, []byte{1, 2, 3}) {
				t.Fatalf("handler saw %+v", got)
			}
			if err := h.Server().Send(c.SID(), "from the server"); err != nil {
				t.Fatal(err)
			}
			expectTexts(t, c, "from the server")
			if pkts := c.Packets(); pkts[0].Type != protocol.Open || len(pkts) < 5 {
				t.Fatalf("transcript %v", types(pkts))
			}
			expectOpen(t, c)
		})
	}
}

// A poll that finds nothing stays parked, as a real long-poll does, and
// carries what the server sends later; the next Receive does not poll a
// second time (which the server would punish as an overlapping poll).
func TestParkedPoll(t *testing.T) {
	h := engineiotest.New(t)
	ev := echo(h.Server())
	c := h.Connect(engineiotest.Polling)
	expectTexts(t, c)
	expectTexts(t, c)
	if err := h.Server().Send(c.SID(), "late"); err != nil {
		t.Fatal(err)
	}
	expectTexts(t, c, "late")
	c.Send("a")
	if err := h.Server().Send(c.SID(), "b"); err != nil {
		t.Fatal(err)
	}
	expectTexts(t, c, "a", "b")
	expectOpen(t, c)
	if _, ok := ev.disconnect(c.SID()); ok {
		t.Fatal("disconnected")
	}
}

func TestSequentialSIDsAndSessions(t *testing.T) {
	h := engineiotest.New(t)
	a := h.Connect(engineiotest.Polling)
	b := h.Connect(engineiotest.WebSocket)
	if a.SID() != "sid1" || b.SID() != "sid2" {
		t.Fatalf("sids %q %q", a.SID(), b.SID())
	}
	got := h.Server().Sessions()
	slices.Sort(got)
	if !slices.Equal(got, []string{"sid1", "sid2"}) {
		t.Fatalf("sessions %v", got)
	}
	if pid, err := h.Server().PID("sid2"); err != nil || !pid.Equal(b.PID()) {
		t.Fatalf("PID %v, %v", pid, err)
	}
}

func TestUpgrade(t *testing.T) {
	h := engineiotest.New(t)
	echo(h.Server())
	c := h.Connect(engineiotest.Polling)
	c.Send("before")
	expectTexts(t, c, "before")
	expectTexts(t, c) // parks a poll: the upgrade releases it with a noop
	c.Upgrade()
	if c.Transport() != engineiotest.WebSocket {
		t.Fatalf("transport %v", c.Transport())
	}
	if tr, _ := h.Server().Transport(c.SID()); tr != "websocket" {
		t.Fatalf("server says %q", tr)
	}
	tail := types(c.Packets())
	if !slices.Contains(tail, protocol.Noop) || !slices.Contains(tail, protocol.Pong) {
		t.Fatalf("no noop or 3probe in %v", tail)
	}
	c.Send("after")
	c.SendBinary([]byte{9})
	msgs := c.Receive()
	if len(msgs) != 2 || msgs[0].Text() != "after" || !msgs[1].Binary || msgs[1].Data[0] != 9 {
		t.Fatalf("after upgrade %+v", msgs)
	}
	if err := c.TryUpgrade(); err == nil {
		t.Fatal("second upgrade accepted")
	}
	expectOpen(t, c)
}

// Messages the server sends while the client is not reading, before the
// upgrade, arrive after it, over the WebSocket, in order.
func TestUpgradeFlushesQueue(t *testing.T) {
	h := engineiotest.New(t)
	c := h.Connect(engineiotest.Polling)
	for _, s := range []string{"1", "2", "3"} {
		if err := h.Server().Send(c.SID(), s); err != nil {
			t.Fatal(err)
		}
	}
	c.Upgrade()
	expectTexts(t, c, "1", "2", "3")
}

func TestUpgradeRefused(t *testing.T) {
	h := engineiotest.New(t, engineio.WithAllowUpgrades(false))
	echo(h.Server())
	c := h.Connect(engineiotest.Polling)
	if hs := c.Handshake(); len(hs.Upgrades) != 0 {
		t.Fatalf("upgrades %v", hs.Upgrades)
	}
	if err := c.TryUpgrade(); err == nil {
		t.Fatal("upgrade accepted")
	}
	if c.Transport() != engineiotest.Polling {
		t.Fatal("transport changed")
	}
	c.Send("still polling")
	expectTexts(t, c, "still polling")
	expectOpen(t, c)
}

func TestPingTimeout(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t, engineio.WithPingInterval(time.Second), engineio.WithPingTimeout(500*time.Millisecond))
			ev := echo(h.Server())
			c := h.Connect(tr)
			h.Advance(time.Second - 1)
			c.Receive()
			if c.Pings() != 0 {
				t.Fatal("pinged early")
			}
			h.Advance(1)
			c.Receive()
			if c.Pings() != 1 {
				t.Fatalf("%d pings, want 1", c.Pings())
			}
			h.Advance(500*time.Millisecond - 1)
			expectOpen(t, c)
			h.Advance(1)
			expectClosed(t, c, ev, engineio.ReasonPingTimeout)
			if err := c.SendPacket(protocol.TextMessage("late")); !errors.Is(err, engineiotest.ErrClosed) {
				t.Fatalf("send after close: %v", err)
			}
			if n := len(h.Server().Sessions()); n != 0 {
				t.Fatalf("%d sessions left", n)
			}
		})
	}
}

func TestPongKeepsSessionAlive(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			ev := echo(h.Server())
			c := h.Connect(tr)
			for i := 1; i <= 5; i++ {
				h.Advance(25 * time.Second)
				c.Receive()
				if c.Pings() != i {
					t.Fatalf("round %d: %d pings", i, c.Pings())
				}
				h.Advance(19 * time.Second)
				c.Pong()
			}
			expectOpen(t, c)
			// One silent round is one too many.
			h.Advance(45 * time.Second)
			expectClosed(t, c, ev, engineio.ReasonPingTimeout)
		})
	}
}

// The heartbeat keeps running across an upgrade.
func TestPingAfterUpgrade(t *testing.T) {
	h := engineiotest.New(t)
	c := h.Connect(engineiotest.Polling)
	h.Advance(10 * time.Second)
	c.Upgrade()
	h.Advance(15 * time.Second)
	if c.Pings() != 1 {
		t.Fatalf("%d pings", c.Pings())
	}
	c.Pong()
	h.Advance(25*time.Second + 19*time.Second)
	expectOpen(t, c)
	h.Advance(time.Second)
	if reason, _ := c.Closed(); reason != engineio.ReasonPingTimeout {
		t.Fatalf("reason %q", reason)
	}
}

func TestRejection(t *testing.T) {
	h := engineiotest.New(t)
	h.Server().OnConnect(func(s *engineio.Session) error {
		if s.Header().Get("Authorization") != "Bearer good" || s.Query().Get("room") == "" {
			return errors.New("who are you?")
		}
		if s.RemoteAddr() != engineiotest.RemoteAddr || s.Query().Get("EIO") != "4" || s.Query().Get("transport") != s.Transport() {
			return errors.New("unexpected handshake request")
		}
		return nil
	})
	good := http.Header{"Authorization": {"Bearer good"}}
	room := url.Values{"room": {"lobby"}}
	for _, tr := range transports {
		c, err := h.TryConnect(tr, http.Header{"Authorization": {"Bearer bad"}}, room)
		var rejected *engineiotest.RejectedError
		if !errors.As(err, &rejected) || c != nil {
			t.Fatalf("%v: got %v, %v; want a rejection", tr, c, err)
		}
		if rejected.Status != http.StatusForbidden || rejected.Code != protocol.CodeForbidden || rejected.Message != "who are you?" {
			t.Fatalf("%v: rejection %+v", tr, rejected)
		}
		if _, err := h.TryConnect(tr, good, nil); err == nil {
			t.Fatalf("%v: no room accepted", tr)
		}
		c, err = h.TryConnect(tr, good, room)
		if err != nil {
			t.Fatalf("%v: %v", tr, err)
		}
		c.Send("in")
	}
	if n := len(h.Server().Sessions()); n != 2 {
		t.Fatalf("%d sessions, want the 2 accepted", n)
	}
}

func TestConnectAfterClose(t *testing.T) {
	h := engineiotest.New(t)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := h.TryConnect(engineiotest.Polling, nil, nil)
	var rejected *engineiotest.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("connect after close: %v", err)
	}
}

func TestClientClose(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			ev := echo(h.Server())
			c := h.Connect(tr)
			c.Receive() // a parked poll is released by the close
			c.Close()
			expectClosed(t, c, ev, engineio.ReasonClientClose)
			if _, err := h.Server().PID(c.SID()); !errors.Is(err, engineio.ErrUnknownSession) {
				t.Fatalf("PID after close: %v", err)
			}
		})
	}
}

// A graceful close by the server over polling waits for the client's next
// poll to carry the close packet.
func TestServerDisconnect(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			ev := echo(h.Server())
			c := h.Connect(tr)
			if err := h.Server().Send(c.SID(), "last words"); err != nil {
				t.Fatal(err)
			}
			if err := h.Server().Disconnect(c.SID()); err != nil {
				t.Fatal(err)
			}
			if tr == engineiotest.Polling {
				expectOpen(t, c)
			}
			expectTexts(t, c, "last words")
			expectClosed(t, c, ev, engineio.ReasonServerClose)
			pkts := c.Packets()
			if last := pkts[len(pkts)-1]; last.Type != protocol.Close {
				t.Fatalf("last packet %v, want close", last.Type)
			}
		})
	}
}

func TestCloseTimeoutWithoutPoll(t *testing.T) {
	h := engineiotest.New(t, engineio.WithCloseTimeout(5*time.Second))
	ev := echo(h.Server())
	c := h.Connect(engineiotest.Polling)
	if err := h.Server().Disconnect(c.SID()); err != nil {
		t.Fatal(err)
	}
	h.Advance(5*time.Second - 1)
	expectOpen(t, c)
	h.Advance(1)
	expectClosed(t, c, ev, engineio.ReasonServerClose)
}

func TestDrop(t *testing.T) {
	for _, tc := range []struct {
		tr   engineiotest.Transport
		want engineio.Reason
	}{
		{engineiotest.Polling, engineio.ReasonTransportError},
		{engineiotest.WebSocket, engineio.ReasonTransportClose},
	} {
		t.Run(tc.tr.String(), func(t *testing.T) {
			h := engineiotest.New(t)
			ev := echo(h.Server())
			c := h.Connect(tc.tr)
			c.Drop()
			expectClosed(t, c, ev, tc.want)
		})
	}
}

func TestHandlerPanicClosesOnlyItsSession(t *testing.T) {
	h := engineiotest.New(t)
	ev := echo(h.Server())
	h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Text() == "boom" {
			panic("boom")
		}
		_ = s.Send(msg.Text())
	})
	bad := h.Connect(engineiotest.WebSocket)
	good := h.Connect(engineiotest.Polling)
	bad.Send("boom")
	expectClosed(t, bad, ev, engineio.ReasonHandlerPanic)
	good.Send("fine")
	expectTexts(t, good, "fine")
	expectOpen(t, good)
}

func TestStallAndResume(t *testing.T) {
	h := engineiotest.New(t)
	ev := echo(h.Server())
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()
	for _, s := range []string{"a", "b", "c"} {
		if err := h.Server().Send(c.SID(), s); err != nil {
			t.Fatal(err)
		}
	}
	// The first batch reached the stuck writer; the rest waits.
	expectTexts(t, c, "a")
	if n := ev.drainCount(); n != 0 {
		t.Fatalf("%d drains while stalled", n)
	}
	c.Resume()
	expectTexts(t, c, "b", "c")
	if n := ev.drainCount(); n != 1 {
		t.Fatalf("%d drains after resume, want 1", n)
	}
	c.Send("echo")
	expectTexts(t, c, "echo")
}

func TestOverflowPolicies(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowReject))
		c := h.Connect(engineiotest.WebSocket)
		c.Stall()
		for _, s := range []string{"a", "b", "c"} {
			if err := h.Server().Send(c.SID(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		if err := h.Server().Send(c.SID(), "d"); !errors.Is(err, engineio.ErrQueueFull) {
			t.Fatalf("fourth send: %v, want ErrQueueFull", err)
		}
		c.Resume()
		expectTexts(t, c, "a", "b", "c")
		expectOpen(t, c)
	})
	t.Run("drop oldest", func(t *testing.T) {
		h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowDropOldest))
		c := h.Connect(engineiotest.WebSocket)
		c.Stall()
		for _, s := range []string{"a", "b", "c", "d", "e"} {
			if err := h.Server().Send(c.SID(), s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		c.Resume()
		expectTexts(t, c, "a", "d", "e")
		expectOpen(t, c)
	})
	t.Run("close", func(t *testing.T) {
		h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowClose))
		ev := echo(h.Server())
		c := h.Connect(engineiotest.WebSocket)
		c.Stall()
		for _, s := range []string{"a", "b", "c", "d"} {
			_ = h.Server().Send(c.SID(), s)
		}
		expectClosed(t, c, ev, engineio.ReasonBackpressure)
	})
}

func TestCloseDeliversShutdownMessage(t *testing.T) {
	h := engineiotest.New(t, engineio.WithShutdownMessage("going down"))
	ev := echo(h.Server())
	p := h.Connect(engineiotest.Polling)
	w := h.Connect(engineiotest.WebSocket)
	s := h.Connect(engineiotest.WebSocket)
	s.Stall()
	if err := h.Server().Send(s.SID(), "queued"); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	expectTexts(t, p, "going down")
	expectTexts(t, w, "going down")
	expectTexts(t, s, "queued", "going down")
	for _, c := range []*engineiotest.Client{p, w, s} {
		expectClosed(t, c, ev, engineio.ReasonServerShutdown)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Actors of the test on the harness's dispatcher run inline too: a request
// to a session is answered before Send returns.
func TestDispatcherForTestActors(t *testing.T) {
	h := engineiotest.New(t)
	c := h.Connect(engineiotest.Polling)
	var (
		mu  sync.Mutex
		got []any
	)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case string:
			ctx.Request(c.PID(), actors.SendText(m))
			ctx.Request(c.PID(), &actors.GetInfo{})
		case *actors.Sent, *actors.SessionInfo:
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
	}, actor.WithDispatcher(h.Dispatcher()))
	root := h.Server().ActorSystem().Root
	pid := root.Spawn(props)
	defer root.Stop(pid)
	root.Send(pid, "hi from an actor")
	mu.Lock()
	n := len(got)
	mu.Unlock()
	if n != 2 {
		t.Fatalf("got %v", got)
	}
	if info := got[1].(*actors.SessionInfo); info.SID != c.SID() || info.Transport != "polling" || info.QueuedPackets != 1 {
		t.Fatalf("info %+v", info)
	}
	expectTexts(t, c, "hi from an actor")
}

func TestClock(t *testing.T) {
	c := engineiotest.NewClock()
	var fired []string
	c.AfterFunc(3*time.Second, func() { fired = append(fired, "c3") })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "a1")
		// Armed by a callback, due within the same Advance.
		c.AfterFunc(time.Second, func() { fired = append(fired, "a1+1") })
	})
	stopped := c.AfterFunc(2*time.Second, func() { fired = append(fired, "stopped") })
	c.AfterFunc(2*time.Second, func() { fired = append(fired, "b2") })
	c.AfterFunc(0, func() { fired = append(fired, "now") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop reports wrongly")
	}
	if c.Pending() != 4 {
		t.Fatalf("pending %d", c.Pending())
	}
	c.Advance(0)
	c.Advance(2 * time.Second)
	want := []string{"now", "a1", "b2", "a1+1"}
	if !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if c.Now() != 2*time.Second || c.Pending() != 1 {
		t.Fatalf("now %v pending %d", c.Now(), c.Pending())
	}
	c.Advance(time.Hour)
	if fired[len(fired)-1] != "c3" || c.Pending() != 0 {
		t.Fatalf("fired %v", fired)
	}
}

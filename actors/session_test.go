package actors_test

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

func TestPollingHandshake(t *testing.T) {
	h := newHarness(t)
	sid, _, opened := h.open(actors.TransportPolling)
	want := `0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000}`
	if string(opened.Payload) != want {
		t.Fatalf("open payload %s, want %s", opened.Payload, want)
	}
	if len(h.app.connects) != 1 || h.app.connects[0] != sid {
		t.Fatalf("connects %v", h.app.connects)
	}
	info, _ := h.registry.Lookup(sid)
	if info.Transport() != actors.TransportPolling {
		t.Fatalf("transport %v", info.Transport())
	}
}

// The session is registered under its sid, with the PID the actor system
// gave it, before Connect runs: the handler may address it already.
func TestConnectFindsSessionRegistered(t *testing.T) {
	h := newHarness(t)
	var found *actors.Info
	var self *actor.PID
	h.app.onConnect = func(info *actors.Info) {
		found, _ = h.registry.Lookup(info.SID)
		self = info.PID
	}
	sid, pid, _ := h.open(actors.TransportPolling)
	if found == nil || found.SID != sid {
		t.Fatalf("Connect found %v in the registry, want session %s", found, sid)
	}
	if self == nil || self != pid || self.Id != h.sup.Id+"/"+sid {
		t.Fatalf("Connect saw PID %v, want the actor's own %v", self, pid)
	}
	if p, ok := h.sys.ProcessRegistry.Get(self); !ok || p == nil {
		t.Fatalf("PID %v is not the session's process", self)
	}
}

func TestConnectRejected(t *testing.T) {
	h := newHarness(t)
	h.app.reject = errRejected
	p := h.request(h.sup, &supervisorOpen)
	msgs := p.take()
	if len(msgs) != 1 {
		t.Fatalf("replies %v", msgs)
	}
	f := failure(t, msgs[0])
	if f.Status != http.StatusForbidden || f.Code != protocol.CodeForbidden || f.Message != "no entry" {
		t.Fatalf("failure %+v", f)
	}
	if h.registry.Len() != 0 {
		t.Fatalf("rejected session still registered")
	}
	if len(h.app.disconnects) != 0 {
		t.Fatalf("disconnect fired for a rejected session: %v", h.app.disconnects)
	}
}

func TestPollParksUntilSend(t *testing.T) {
	h := newHarness(t)
	_, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	if got := poll.take(); len(got) != 0 {
		t.Fatalf("poll answered at once with %v", got)
	}
	h.send(pid, "hi")
	if got := payload(t, poll.take()); got != "4hi" {
		t.Fatalf("payload %q", got)
	}
}

func TestQueuedPacketsLeaveInOnePoll(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	_, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	if r := h.post(pid, "4test1\x1e4test2\x1e4test3"); !isType[*actors.PostResult](r) {
		t.Fatalf("post reply %#v", r)
	}
	if got := payload(t, poll.take()); got != "4test1\x1e4test2\x1e4test3" {
		t.Fatalf("payload %q", got)
	}
}

func TestBinaryOverPolling(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	_, pid, _ := h.open(actors.TransportPolling)
	h.post(pid, "bAQIDBA==")
	if got := h.app.messages[0]; !got.Binary || string(got.Data) != "\x01\x02\x03\x04" {
		t.Fatalf("message %+v", got)
	}
	if got := payload(t, h.request(pid, &actors.Poll{}).take()); got != "bAQIDBA==" {
		t.Fatalf("payload %q", got)
	}
}

func TestOverlappingPollClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	first := h.request(pid, &actors.Poll{})
	second := h.request(pid, &actors.Poll{})
	if f := failure(t, second.take()[0]); f.Status != http.StatusBadRequest || f.Code != protocol.CodeBadRequest {
		t.Fatalf("second poll %+v", f)
	}
	if got := payload(t, first.take()); got != "1" {
		t.Fatalf("first poll got %q, want close packet", got)
	}
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

func TestOverlappingPostClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	first := h.request(pid, &actors.PostBegin{})
	if !isType[*actors.PostReady](first.take()[0]) {
		t.Fatal("first post not ready")
	}
	if f := failure(t, h.request(pid, &actors.PostBegin{}).take()[0]); f.Status != http.StatusBadRequest {
		t.Fatalf("second post %+v", f)
	}
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

func TestAbandonedPollClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: poll.pid})
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

func TestUnknownAbandonIsIgnored(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	h.request(pid, &actors.Poll{})
	// An abandon that names neither the parked poll nor the last answered
	// one is stale: the session goes on.
	h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: h.probe().pid})
	h.expectOpen(sid)
}

// Every reply to a poll carries the poll's ID, so that one reply target (a
// router) can serve many polls; an abandon must name the poll's ID too.
func TestPollRepliesCarryTheID(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	first := h.request(pid, &actors.Poll{ID: 7, Holdable: true})
	waiting := first.take()
	if len(waiting) != 1 || !isType[*actors.PollWaiting](waiting[0]) || waiting[0].(*actors.PollWaiting).Poll != 7 {
		t.Fatalf("a quiet session's holdable poll got %#v; want PollWaiting for poll 7", waiting)
	}
	h.send(pid, "hi")
	got := first.take()
	if r, ok := got[0].(*actors.PollResult); !ok || r.Poll != 7 || string(r.Payload) != "4hi" {
		t.Fatalf("answer %#v; want 4hi for poll 7", got[0])
	}
	// The same reply target, another poll: an abandon naming the answered
	// poll's target with the wrong ID is stale.
	second := h.request(pid, &actors.Poll{ID: 8})
	h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: first.pid, Poll: 9})
	h.expectOpen(sid)
	if f := failure(t, h.request(pid, &actors.Poll{ID: 10}).take()[0]); f.Poll != 10 || f.Code != protocol.CodeBadRequest {
		t.Fatalf("overlapping poll %+v; want bad request for poll 10", f)
	}
	if r, ok := second.take()[0].(*actors.PollResult); !ok || r.Poll != 8 || string(r.Payload) != "1" {
		t.Fatalf("parked poll got %#v; want the close packet for poll 8", r)
	}
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

// A poll answered at the moment its client went away: the packets it
// carried never reached the client, so the session closes rather than
// carry on as if they had.
func TestPollAnsweredAsClientLeftClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	h.send(pid, "lost")
	payload(t, poll.take())
	h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: poll.pid})
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

func TestInvalidPayloadClosesSession(t *testing.T) {
	for _, body := range []string{"abc", "4a\x1e\x1e4b", "b!!!", "9"} {
		h := newHarness(t)
		sid, pid, _ := h.open(actors.TransportPolling)
		if f := failure(t, h.post(pid, body)); f.Status != http.StatusBadRequest {
			t.Fatalf("%q: %+v", body, f)
		}
		h.expectDisconnect(sid, actors.ReasonParseError)
	}
}

func TestPostAbortedClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	p := h.request(pid, &actors.PostBegin{})
	h.sys.Root.RequestWithCustomSender(pid, &actors.PostAborted{Reason: actors.ReasonMessageTooLarge}, p.pid)
	h.expectDisconnect(sid, actors.ReasonMessageTooLarge)
}

func TestHeartbeatPolling(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	h.clock.advance(pingInterval)
	if got := payload(t, poll.take()); got != "2" {
		t.Fatalf("got %q, want ping", got)
	}
	h.post(pid, "3")
	// The pong re-arms the interval: no close at the old deadline.
	h.clock.advance(pingTimeout)
	h.expectOpen(sid)
	poll = h.request(pid, &actors.Poll{})
	h.clock.advance(pingInterval - pingTimeout)
	if got := payload(t, poll.take()); got != "2" {
		t.Fatalf("second ping: got %q", got)
	}
	h.clock.advance(pingTimeout - 1)
	h.expectOpen(sid)
	h.clock.advance(1)
	h.expectDisconnect(sid, actors.ReasonPingTimeout)
}

// With the real clock, a session's timers are entries of the process's
// timer heap, and the entry of a timer that fired or was stopped serves the
// next one: the ping's becomes the pong timeout's, and the pong timeout's
// the next ping's. Heartbeats go on over several rounds, and the pong
// timeout still closes the session.
func TestHeartbeatRealClock(t *testing.T) {
	h := newHarness(t)
	h.cfg.Clock = actors.RealClock{}
	h.cfg.PingInterval, h.cfg.PingTimeout = 20*time.Millisecond, 60*time.Millisecond
	sid, pid, _ := h.open(actors.TransportPolling)
	eventually := func(what string, f func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !f(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 5 s", what)
			}
		}
	}
	for round := range 5 {
		poll := h.request(pid, &actors.Poll{})
		var got []any
		eventually("ping in round "+strconv.Itoa(round), func() bool { got = append(got, poll.take()...); return len(got) > 0 })
		if p := payload(t, got); p != "2" {
			t.Fatalf("round %d: poll answered %q, want a ping", round, p)
		}
		h.post(pid, "3")
		h.expectOpen(sid)
	}
	// The timeout fires on the clock's goroutine: the supervisor forgets
	// the session once it has stopped, a moment after its disconnect.
	eventually("the session's end", func() bool {
		_, disconnected := h.app.disconnected(sid)
		_, registered := h.registry.Lookup(sid)
		return disconnected && !registered
	})
	h.expectDisconnect(sid, actors.ReasonPingTimeout)
}

func TestAppSendsDoNotResetHeartbeat(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	for i := 0; i < 10; i++ {
		h.send(pid, "x")
		h.clock.advance((pingInterval + pingTimeout) / 10)
	}
	h.expectDisconnect(sid, actors.ReasonPingTimeout)
}

func TestClientPingClosesSession(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	h.post(pid, "2")
	h.expectDisconnect(sid, actors.ReasonTransportError)
}

func TestClientCloseOverPolling(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	if r := h.post(pid, "1"); !isType[*actors.PostResult](r) {
		t.Fatalf("post reply %#v", r)
	}
	if got := payload(t, poll.take()); got != "6" {
		t.Fatalf("parked poll got %q, want noop", got)
	}
	h.expectDisconnect(sid, actors.ReasonClientClose)
	// The actor is gone: a later request is a dead letter, which the HTTP
	// layer answers with "Session ID unknown".
	if got := h.request(pid, &actors.Poll{}).take(); len(got) != 1 || !isType[*actor.DeadLetterResponse](got[0]) {
		t.Fatalf("poll after close: %v", got)
	}
}

func TestServerCloseDrainsThenCloses(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	h.send(pid, "a")
	h.sys.Root.Send(pid, &actors.Close{})
	h.expectOpen(sid) // waiting for a poll to carry the close packet
	if got := payload(t, h.request(pid, &actors.Poll{}).take()); got != "4a\x1e1" {
		t.Fatalf("payload %q", got)
	}
	h.expectDisconnect(sid, actors.ReasonServerClose)
}

func TestServerCloseTimesOutWithoutPoll(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	h.sys.Root.Send(pid, &actors.Close{Reason: actors.ReasonServerShutdown})
	h.clock.advance(closeTimeout)
	h.expectDisconnect(sid, actors.ReasonServerShutdown)
}

func TestUpgrade(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	sid, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid})
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Ping, Data: []byte("probe")}})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"3probe"}) {
		t.Fatalf("probe answer %v", got)
	}
	if got := payload(t, poll.take()); got != "6" {
		t.Fatalf("parked poll got %q, want noop", got)
	}
	// While upgrading, polls are released at once and messages wait.
	h.send(pid, "queued")
	if got := payload(t, h.request(pid, &actors.Poll{}).take()); got != "6" {
		t.Fatalf("poll during upgrade got %q", got)
	}
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Upgrade}})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4queued"}) {
		t.Fatalf("flushed %v", got)
	}
	info, _ := h.registry.Lookup(sid)
	if info.Transport() != actors.TransportWebSocket {
		t.Fatalf("transport %v after upgrade", info.Transport())
	}
	// Polling is over for this session.
	if f := failure(t, h.request(pid, &actors.Poll{}).take()[0]); f.Code != protocol.CodeBadRequest {
		t.Fatalf("poll after upgrade %+v", f)
	}
	if f := failure(t, h.request(pid, &actors.PostBegin{}).take()[0]); f.Code != protocol.CodeBadRequest {
		t.Fatalf("post after upgrade %+v", f)
	}
	// Messages now flow over the WebSocket.
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.TextMessage("echo")})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4echo"}) {
		t.Fatalf("echo %v", got)
	}
	// A second WebSocket is turned away; the first keeps working.
	ws2 := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws2.pid})
	if got := frames(t, ws2.take()); !reflect.DeepEqual(got, []string{"close"}) {
		t.Fatalf("second ws got %v", got)
	}
	h.send(pid, "still")
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4still"}) {
		t.Fatalf("first ws got %v", got)
	}
	h.expectOpen(sid)
}

func TestUpgradePipelined(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid})
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Ping, Data: []byte("probe")}})
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Upgrade}})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"3probe"}) {
		t.Fatalf("frames %v", got)
	}
	info, _ := h.registry.Lookup(sid)
	if info.Transport() != actors.TransportWebSocket {
		t.Fatal("not upgraded")
	}
}

func TestUpgradeTimeoutKeepsPolling(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid})
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Ping, Data: []byte("probe")}})
	ws.take()
	h.clock.advance(upgradeTimeout)
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"close"}) {
		t.Fatalf("probe ws got %v", got)
	}
	h.expectOpen(sid)
	h.send(pid, "x")
	if got := payload(t, h.request(pid, &actors.Poll{}).take()); got != "4x" {
		t.Fatalf("poll after failed upgrade %q", got)
	}
}

func TestBadProbePacketKeepsPolling(t *testing.T) {
	for _, pkt := range []protocol.Packet{protocol.TextMessage("hello"), {Type: protocol.Upgrade}, {Type: protocol.Ping, Data: []byte("nope")}} {
		h := newHarness(t)
		sid, pid, _ := h.open(actors.TransportPolling)
		ws := h.probe()
		h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid})
		h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: pkt})
		if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"close"}) {
			t.Fatalf("%v: probe ws got %v", pkt, got)
		}
		h.expectOpen(sid)
		info, _ := h.registry.Lookup(sid)
		if info.Transport() != actors.TransportPolling {
			t.Fatalf("%v: transport changed", pkt)
		}
	}
}

func TestWebSocketSession(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	sid, pid, opened := h.open(actors.TransportWebSocket)
	if opened.Payload != nil {
		t.Fatalf("websocket handshake carries payload %q", opened.Payload)
	}
	// The open packet comes with the handshake's answer, for the HTTP
	// layer to send as the first frame; the writer gets nothing more.
	want := `0{"sid":"` + sid + `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000}`
	if got := string(protocol.AppendPacket(nil, opened.Open)); got != want {
		t.Fatalf("open packet %s, want %s", got, want)
	}
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.TextMessage("hi")})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4hi"}) {
		t.Fatalf("frames after the open packet %v, want the echo alone", got)
	}
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.BinaryMessage([]byte{1, 2})})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"b:\x01\x02"}) {
		t.Fatalf("binary echo %v", got)
	}
	h.clock.advance(pingInterval)
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"2"}) {
		t.Fatalf("ping %v", got)
	}
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.Packet{Type: protocol.Pong}})
	h.clock.advance(pingTimeout)
	h.expectOpen(sid)
	h.send(pid, "bye")
	h.sys.Root.Send(pid, &actors.Close{})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4bye", "1", "close"}) {
		t.Fatalf("close sequence %v", got)
	}
	h.expectDisconnect(sid, actors.ReasonServerClose)
}

// The client of a session opened over WebSocket has its open packet as
// soon as the upgrade is answered, possibly before the session takes the
// connection. A session closed gracefully in between delivers what it had
// queued and the close packet over that connection once it comes.
func TestWebSocketClosingBeforeConnectionDelivers(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportWebSocket)
	h.send(pid, "last")
	h.sys.Root.Send(pid, &actors.Close{Reason: actors.ReasonServerShutdown})
	h.expectOpen(sid) // closing: waiting for a transport to deliver on
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"4last", "1", "close"}) {
		t.Fatalf("frames %v, want the queued message, the close packet, the close", got)
	}
	h.expectDisconnect(sid, actors.ReasonServerShutdown)
}

// A second WebSocket for the sid of a session opened over WebSocket is
// turned away, even when it comes before the session's own connection.
func TestWebSocketSecondBeforeOwnConnection(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	sid, pid, _ := h.open(actors.TransportWebSocket)
	other := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: other.pid})
	if got := frames(t, other.take()); !reflect.DeepEqual(got, []string{"close"}) {
		t.Fatalf("second WebSocket got %v, want close", got)
	}
	own := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: own.pid, Handshake: true})
	h.sys.Root.Send(pid, &actors.Frame{Conn: own.pid, Packet: protocol.TextMessage("hi")})
	if got := frames(t, own.take()); !reflect.DeepEqual(got, []string{"4hi"}) {
		t.Fatalf("own WebSocket got %v, want the echo", got)
	}
	h.expectOpen(sid)
}

func TestWebSocketClientCloseAndErrors(t *testing.T) {
	cases := []struct {
		name string
		msg  func(conn *probe) any
		want actors.Reason
	}{
		{"client close packet", func(c *probe) any {
			return &actors.Frame{Conn: c.pid, Packet: protocol.Packet{Type: protocol.Close}}
		}, actors.ReasonClientClose},
		{"invalid frame", func(c *probe) any { return &actors.Frame{Conn: c.pid, Err: protocol.ErrUnknownPacketType} }, actors.ReasonParseError},
		{"frame too large", func(c *probe) any {
			return &actors.WebSocketClosed{Conn: c.pid, Reason: actors.ReasonMessageTooLarge}
		}, actors.ReasonMessageTooLarge},
		{"peer went away", func(c *probe) any {
			return &actors.WebSocketClosed{Conn: c.pid, Reason: actors.ReasonTransportClose}
		}, actors.ReasonTransportClose},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			sid, pid, _ := h.open(actors.TransportWebSocket)
			ws := h.probe()
			h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
			ws.take()
			h.sys.Root.Send(pid, tc.msg(ws))
			h.expectDisconnect(sid, tc.want)
		})
	}
}

// A text frame that is not UTF-8 closes the session as a parse error, and
// its WebSocket with status 1007, once: the close that the session's end
// sends to its connections does not follow.
func TestWebSocketTextNotUTF8(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportWebSocket)
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	ws.take()
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Err: actors.ErrTextNotUTF8})
	h.expectDisconnect(sid, actors.ReasonParseError)
	var closes []actors.CloseConn
	for _, m := range ws.take() {
		if c, ok := m.(*actors.CloseConn); ok {
			closes = append(closes, *c)
		}
	}
	if want := []actors.CloseConn{{Abort: true, Code: 1007}}; !reflect.DeepEqual(closes, want) {
		t.Fatalf("the WebSocket was told %+v, want %+v", closes, want)
	}
}

func TestHandlerPanicStopsOnlyItsSession(t *testing.T) {
	h := newHarness(t)
	h.app.panicOn = "boom"
	bad, badPID, _ := h.open(actors.TransportPolling)
	good, goodPID, _ := h.open(actors.TransportPolling)
	poll := h.request(badPID, &actors.Poll{})
	h.post(badPID, "4boom")
	h.expectDisconnect(bad, actors.ReasonHandlerPanic)
	if got := payload(t, poll.take()); got != "1" {
		t.Fatalf("parked poll of the failed session got %q", got)
	}
	h.expectOpen(good)
	h.app.echo = true
	h.post(goodPID, "4fine")
	if got := payload(t, h.request(goodPID, &actors.Poll{}).take()); got != "4fine" {
		t.Fatalf("other session got %q", got)
	}
}

func TestSessionPanicIsStoppedNotRestarted(t *testing.T) {
	h := newHarness(t)
	bad, badPID, _ := h.open(actors.TransportPolling)
	good, _, _ := h.open(actors.TransportPolling)
	poll := h.request(badPID, &actors.Poll{})
	// The session's own code fails: arming the upgrade timer panics.
	h.clock.panics = true
	asking := h.request(badPID, &actors.WebSocketOpened{Conn: h.probe().pid})
	h.clock.panics = false
	h.expectDisconnect(bad, actors.ReasonInternalError)
	if got := payload(t, poll.take()); got != "1" {
		t.Fatalf("parked poll of the failed session got %q", got)
	}
	// The message that failed, sent as a request, is answered.
	if got := asking.take(); len(got) != 1 || !isType[*actors.SessionClosed](got[0]) {
		t.Fatalf("the request that failed got %v, want *actors.SessionClosed", got)
	}
	// Stopped, not restarted: the PID is gone.
	if got := h.request(badPID, &actors.Poll{}).take(); len(got) != 1 || !isType[*actor.DeadLetterResponse](got[0]) {
		t.Fatalf("poll to the failed session answered %v, want a dead letter", got)
	}
	h.expectOpen(good)
}

func TestSendAfterCloseIsDropped(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	h.post(pid, "1")
	h.expectDisconnect(sid, actors.ReasonClientClose)
	h.send(pid, "late") // a dead letter, not a panic
}

func TestShutdownClosesEverySession(t *testing.T) {
	h := newHarness(t)
	a, aPID, _ := h.open(actors.TransportPolling)
	b, bPID, _ := h.open(actors.TransportWebSocket)
	ws := h.probe()
	h.sys.Root.Send(bPID, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	ws.take()
	poll := h.request(aPID, &actors.Poll{})
	done := h.request(h.sup, &supervisorShutdown)
	if got := payload(t, poll.take()); got != "1" {
		t.Fatalf("polling client got %q", got)
	}
	if got := frames(t, ws.take()); !reflect.DeepEqual(got, []string{"1", "close"}) {
		t.Fatalf("websocket client got %v", got)
	}
	h.expectDisconnect(a, actors.ReasonServerShutdown)
	h.expectDisconnect(b, actors.ReasonServerShutdown)
	if got := done.take(); len(got) != 1 || !strings.HasSuffix(typeName(got[0]), "ShutdownComplete") {
		t.Fatalf("shutdown reply %v", got)
	}
	if f := failure(t, h.request(h.sup, &supervisorOpen).take()[0]); f.Status != http.StatusServiceUnavailable {
		t.Fatalf("handshake after shutdown %+v", f)
	}
}

// Packets leave at the latest after the messages that were waiting when
// they were queued, even while new messages keep the mailbox from ever
// emptying.
func TestFlushUnderSteadyMessages(t *testing.T) {
	h := newHarness(t)
	h.app.echo = true
	_, pid, _ := h.open(actors.TransportWebSocket)
	ws := h.probe()
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	ws.take() // the open packet
	// Each message makes the next one arrive while the session is busy:
	// the mailbox is not empty again until the chain ends.
	const chain = 50
	h.app.onMessage = func(info *actors.Info, pkt protocol.Packet) {
		if n, _ := strconv.Atoi(string(pkt.Data)); n > 1 {
			h.sys.Root.Send(info.PID, &actors.Frame{Conn: ws.pid, Packet: protocol.TextMessage(strconv.Itoa(n - 1))})
		}
	}
	h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.TextMessage(strconv.Itoa(chain))})
	msgs := ws.take()
	if got := frames(t, msgs); len(got) != chain {
		t.Fatalf("%d echoes, want %d", len(got), chain)
	}
	first, ok := msgs[0].(*actors.WriteFrames)
	if !ok || len(msgs) < 2 || len(first.Packets) >= chain {
		t.Fatalf("the echoes left in %d batch(es), the first with %d packets: a flush waited for the chain to end", len(msgs), len(first.Packets))
	}
}

// A holdable poll that a quiet session parks gets PollWaiting before its
// answer; once a message went out in an answered poll the session is busy
// and says nothing, until a poll is answered without a message again.
func TestPollWaitingWhileQuiet(t *testing.T) {
	h := newHarness(t)
	_, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{Holdable: true})
	if got := poll.take(); len(got) != 1 || !isType[*actors.PollWaiting](got[0]) {
		t.Fatalf("first poll of a new session got %v; want PollWaiting", got)
	}
	h.send(pid, "hi")
	if got := payload(t, poll.take()); got != "4hi" {
		t.Fatalf("payload %q", got)
	}
	// Busy: no notice.
	poll = h.request(pid, &actors.Poll{Holdable: true})
	if got := poll.take(); len(got) != 0 {
		t.Fatalf("poll of a busy session got %v at once; want nothing", got)
	}
	h.clock.advance(pingInterval)
	if got := payload(t, poll.take()); got != "2" {
		t.Fatalf("got %q, want ping", got)
	}
	// The last answer carried a ping only: quiet again.
	poll = h.request(pid, &actors.Poll{Holdable: true})
	if got := poll.take(); len(got) != 1 || !isType[*actors.PollWaiting](got[0]) {
		t.Fatalf("poll after a heartbeat got %v; want PollWaiting", got)
	}
	// A poll that is answered at once gets no notice.
	h.send(pid, "queued")
	if got := poll.take(); len(got) != 1 || !isType[*actors.PollResult](got[0]) {
		t.Fatalf("parked poll got %v; want its answer", got)
	}
	h.send(pid, "waiting")
	if got := h.request(pid, &actors.Poll{Holdable: true}).take(); len(got) != 1 || !isType[*actors.PollResult](got[0]) {
		t.Fatalf("poll with packets queued got %v; want its answer alone", got)
	}
	// Nor does a poll that cannot be held, quiet session or not.
	_, other, _ := h.open(actors.TransportPolling)
	if got := h.request(other, &actors.Poll{}).take(); len(got) != 0 {
		t.Fatalf("a poll that cannot be held got %v; want nothing", got)
	}
}

// A POST of heartbeats only says so in its answer (the HTTP layer then
// closes its connection); one with a message does not.
func TestPostResultHeartbeat(t *testing.T) {
	h := newHarness(t)
	_, pid, _ := h.open(actors.TransportPolling)
	poll := h.request(pid, &actors.Poll{})
	h.clock.advance(pingInterval)
	payload(t, poll.take())
	if r, ok := h.post(pid, "3").(*actors.PostResult); !ok || !r.Heartbeat {
		t.Fatalf("pong POST answered %#v; want a heartbeat PostResult", r)
	}
	if r, ok := h.post(pid, "4x\x1e3").(*actors.PostResult); !ok || r.Heartbeat {
		t.Fatalf("POST with a message answered %#v; want a PostResult that is not a heartbeat", r)
	}
}

// A writer that finishes its batch with WriteFrames.Finish answers nothing
// unless the session waits: the next flush finds the batch finished and
// hands over the next one at once. A session with packets for a writer
// still busy waits for its *Written.
func TestWriterFinishesWithoutAnswer(t *testing.T) {
	h := newHarness(t)
	_, ws, frame := h.openEchoWebSocket()
	frame("a")
	frame("b")
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4a", "4b"}) {
		t.Fatalf("frames %q, want the two echoes", got)
	}
	if ws.answers != 0 {
		t.Fatalf("the writer answered %d batches; nobody waited", ws.answers)
	}
	// A stalled writer: the next echo waits for it.
	ws.holdWrites = true
	frame("c")
	stalled := ws.last
	frame("d")
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4c"}) {
		t.Fatalf("frames %q while the writer is busy, want only the first echo", got)
	}
	ws.holdWrites = false
	ws.finish(stalled, nil)
	if ws.answers != 1 {
		t.Fatalf("the writer answered %d batches; the session waited for one", ws.answers)
	}
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4d"}) {
		t.Fatalf("frames %q after the writer finished, want the waiting echo", got)
	}
	// With a drain listener, every batch is answered.
	h.app.mu.Lock()
	h.app.noDrain = false
	h.app.mu.Unlock()
	frame("e")
	if got := frames(t, ws.take()); !slices.Equal(got, []string{"4e"}) || ws.answers != 2 {
		t.Fatalf("frames %q, %d answers; want the echo, answered", got, ws.answers)
	}
}

// Info.Send and Info.Close reach the session in the order of the calls:
// the packets sent before a close are delivered ahead of the close packet,
// those sent after it are dropped. Sends made outside a handler wake the
// session themselves.
func TestLocalSendsKeepOrderWithClose(t *testing.T) {
	h := newHarness(t)
	sid, _, _ := h.open(actors.TransportPolling)
	info, _ := h.registry.Lookup(sid)
	info.Send(h.sys.Root, protocol.TextMessage("a"))
	info.Send(h.sys.Root, protocol.TextMessage("b"))
	info.Close(h.sys.Root, &actors.Close{})
	info.Send(h.sys.Root, protocol.TextMessage("late"))
	if got := payload(t, h.request(info.PID, &actors.Poll{}).take()); got != "4a\x1e4b\x1e1" {
		t.Fatalf("poll %q; want both messages, then the close packet", got)
	}
	h.expectDisconnect(sid, actors.ReasonServerClose)
	// The stopped session's queue drops it, without a wake-up to a
	// stopped actor (the race detector and the harness's dispatcher run
	// this path; there is nothing left to observe).
	info.Send(h.sys.Root, protocol.TextMessage("after"))
}

// Requests queued behind a stop are answered: the actor drops them once
// stopped, and the stop guard answers them as they are dropped (a poll
// routed, as the closed session would answer it).
func TestRequestsQueuedBehindStopAnswered(t *testing.T) {
	h := newHarness(t)
	_, pid, _ := h.open(actors.TransportPolling)
	release := h.holdBusy(pid)
	poll := h.request(pid, &actors.Poll{ID: 9})
	post := h.request(pid, &actors.PostBegin{})
	h.sys.Root.Stop(pid)
	release()
	got := poll.take()
	if len(got) != 1 {
		t.Fatalf("the queued poll got %v; want one answer", got)
	}
	if f, ok := got[0].(*actors.Failure); !ok || f.Poll != 9 || f.Code != protocol.CodeUnknownSID {
		t.Errorf("the queued poll got %#v; want an unknown-sid failure for poll 9", got[0])
	}
	got = post.take()
	if len(got) != 1 {
		t.Fatalf("the queued PostBegin got %v; want one answer", got)
	}
	if _, ok := got[0].(*actors.SessionClosed); !ok {
		t.Errorf("the queued PostBegin got %#v; want *actors.SessionClosed", got[0])
	}
}

// A request queued behind a message whose handling panics is answered: the
// failure suspends the mailbox and the supervisor stops the session, whose
// mailbox then runs on, so that the stop guard answers what is queued.
func TestRequestQueuedBehindPanicAnswered(t *testing.T) {
	h := newHarness(t)
	sid, pid, _ := h.open(actors.TransportPolling)
	release := h.holdBusy(pid)
	// Queued: a message whose handling panics (arming the upgrade timer),
	// then a poll.
	h.clock.panics = true
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: h.probe().pid})
	poll := h.request(pid, &actors.Poll{ID: 5})
	release()
	h.clock.panics = false
	h.expectDisconnect(sid, actors.ReasonInternalError)
	got := poll.take()
	if len(got) != 1 {
		t.Fatalf("the poll queued behind the panic got %v; want one answer", got)
	}
	if f, ok := got[0].(*actors.Failure); !ok || f.Poll != 5 || f.Code != protocol.CodeUnknownSID {
		t.Errorf("the poll queued behind the panic got %#v; want an unknown-sid failure for poll 5", got[0])
	}
}

package engineiotest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

// Client is one fake Engine.IO client of a Harness. It stands where the
// HTTP layer and a real client would: on polling it sends the session
// *actors.PostBegin and *actors.Post for what the client sends and
// *actors.Poll to receive; on WebSocket it sends *actors.Frame and plays
// the connection's writer, which gets *actors.WriteFrames and acknowledges
// each batch with *actors.Written to the session the batch names, as the
// real writer does once the frames are written.
//
// Methods that talk to the server fail the test when the server does not
// answer as a live session should; call them from the test's goroutine.
type Client struct {
	h       *Harness
	root    *actor.RootContext
	ctlPID  *actor.PID // replies to the handshake, the subscription and POSTs
	pollPID *actor.PID // replies to long-polls
	wsPID   *actor.PID // the WebSocket connection's writer
	// eventsPID is subscribed to the session's events.
	eventsPID *actor.PID
	sid       string
	pid       *actor.PID
	notify    chan struct{} // a message arrived

	mu         sync.Mutex
	transport  Transport
	handshake  *protocol.Handshake
	packets    []protocol.Packet // every packet received, in order
	received   int               // packets[:received] were seen by Receive
	replies    []any             // replies to ctlPID, oldest first
	polling    bool              // a long-poll is outstanding (parked)
	probed     bool              // the WebSocket got "3probe"
	connClosed bool              // the WebSocket writer was told to close
	stalled    bool
	pendingAck *actor.PID // the session waiting for Written while stalled
	upgraded   bool
	closed     bool
	reason     engineio.Reason
	released   bool
}

var processSeq atomic.Uint64

// endpoint is one of a client's reply targets: an actor.Process that hands
// what it gets to the client.
type endpoint struct {
	c    *Client
	role role
}

type role uint8

const (
	roleCtl role = iota
	rolePoll
	roleWS
	roleEvents
)

func (e *endpoint) SendUserMessage(_ *actor.PID, m any) {
	_, msg, sender := actor.UnwrapEnvelope(m)
	e.c.deliver(e.role, msg, sender)
}
func (e *endpoint) SendSystemMessage(*actor.PID, any) {}
func (e *endpoint) Stop(*actor.PID)                   {}

func newClient(h *Harness, transport Transport) *Client {
	sys := h.srv.ActorSystem()
	c := &Client{h: h, root: sys.Root, transport: transport, notify: make(chan struct{}, 1)}
	n := processSeq.Add(1)
	add := func(r role, name string) *actor.PID {
		pid, _ := sys.ProcessRegistry.Add(&endpoint{c: c, role: r}, fmt.Sprintf("engineiotest-%d-%s", n, name))
		return pid
	}
	c.ctlPID = add(roleCtl, "ctl")
	c.pollPID = add(rolePoll, "poll")
	c.wsPID = add(roleWS, "ws")
	c.eventsPID = add(roleEvents, "events")
	return c
}

// release unregisters the client's reply targets.
func (c *Client) release() {
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return
	}
	c.released = true
	c.mu.Unlock()
	reg := c.h.srv.ActorSystem().ProcessRegistry
	for _, pid := range []*actor.PID{c.ctlPID, c.pollPID, c.wsPID, c.eventsPID} {
		reg.Remove(pid)
	}
}

// deliver records a message sent to one of the client's endpoints. It runs
// inside the sending actor (the session): it must not send while holding
// c.mu.
func (c *Client) deliver(r role, msg any, sender *actor.PID) {
	var ack *actor.PID
	c.mu.Lock()
	switch r {
	case roleCtl:
		c.replies = append(c.replies, msg)
	case rolePoll:
		c.polling = false
		// Anything else (*actors.Failure, *actor.DeadLetterResponse)
		// ended the poll without packets.
		if m, ok := msg.(*actors.PollResult); ok {
			c.appendPayloadLocked(m.Payload)
		}
	case roleWS:
		switch m := msg.(type) {
		case *actors.WriteFrames:
			for _, p := range m.Packets {
				if p.Type == protocol.Pong && string(p.Data) == "probe" {
					c.probed = true
				}
				c.appendPacketLocked(p)
			}
			// The writer answers the session named in the batch, else
			// the envelope's sender; a batch with neither (the upgrade's
			// "3probe") gets no answer.
			to := m.Session
			if to == nil {
				to = sender
			}
			if to != nil {
				if c.stalled {
					c.pendingAck = to
				} else {
					ack = to
				}
			}
		case *actors.CloseConn:
			c.connClosed = true
		}
	case roleEvents:
		switch m := msg.(type) {
		case *actors.Disconnected:
			c.closed, c.reason = true, m.Reason
		case *actors.Upgraded:
			c.upgraded = true
		}
	}
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	if ack != nil {
		c.root.Send(ack, &actors.Written{Conn: c.wsPID})
	}
}

func (c *Client) appendPacketLocked(p protocol.Packet) {
	p.Data = bytes.Clone(p.Data)
	if p.Type == protocol.Open && c.handshake == nil {
		c.handshake = parseHandshake(p.Data)
	}
	c.packets = append(c.packets, p)
}

func (c *Client) appendPayloadLocked(payload []byte) {
	// The server's payloads are well formed; a broken one would show as
	// missing packets.
	_ = protocol.DecodePayload(payload, func(p protocol.Packet) error {
		c.appendPacketLocked(p)
		return nil
	})
}

func (c *Client) deliverPacket(p protocol.Packet) {
	c.mu.Lock()
	c.appendPacketLocked(p)
	c.mu.Unlock()
}

func (c *Client) deliverPayload(payload []byte) {
	c.mu.Lock()
	c.appendPayloadLocked(payload)
	c.mu.Unlock()
}

func parseHandshake(data []byte) *protocol.Handshake {
	var open struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	if err := json.Unmarshal(data, &open); err != nil {
		return &protocol.Handshake{}
	}
	return &protocol.Handshake{
		SID:          open.SID,
		Upgrades:     open.Upgrades,
		PingInterval: time.Duration(open.PingInterval) * time.Millisecond,
		PingTimeout:  time.Duration(open.PingTimeout) * time.Millisecond,
		MaxPayload:   open.MaxPayload,
	}
}

func (c *Client) markClosed(reason engineio.Reason) {
	c.mu.Lock()
	if !c.closed {
		c.closed, c.reason = true, reason
	}
	c.mu.Unlock()
}

// waitFor returns once cond, evaluated under c.mu, holds. With everything
// on the synchronized dispatcher it holds at once; the wait covers sessions
// driven by other goroutines too, up to ReplyTimeout.
func (c *Client) waitFor(what string, cond func() bool) {
	c.h.t.Helper()
	var deadline <-chan time.Time
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		if deadline == nil {
			timer := time.NewTimer(ReplyTimeout)
			defer timer.Stop()
			deadline = timer.C
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.h.t.Fatalf("engineiotest: %s: no %s within %v", c.name(), what, ReplyTimeout)
			return
		}
	}
}

func (c *Client) name() string {
	if c.sid == "" {
		return "client"
	}
	return "client " + c.sid
}

// request sends msg to target with ctlPID as the reply target and returns
// the reply.
func (c *Client) request(target *actor.PID, msg any, what string) any {
	c.h.t.Helper()
	c.mu.Lock()
	c.replies = nil
	c.mu.Unlock()
	c.root.RequestWithCustomSender(target, msg, c.ctlPID)
	c.waitFor("reply to the "+what, func() bool { return len(c.replies) > 0 })
	c.mu.Lock()
	defer c.mu.Unlock()
	reply := c.replies[0]
	c.replies = c.replies[1:]
	return reply
}

// SID returns the session id.
func (c *Client) SID() string { return c.sid }

// PID returns the session's actor.
func (c *Client) PID() *actor.PID { return c.pid }

// Transport returns the transport the client uses now: Polling, or
// WebSocket after an Upgrade.
func (c *Client) Transport() Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Handshake returns the content of the open packet the server sent.
func (c *Client) Handshake() protocol.Handshake {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handshake == nil {
		return protocol.Handshake{}
	}
	return *c.handshake
}

// Send sends a text message to the server, which hands it to OnMessage
// before Send returns. A refusal fails the test.
func (c *Client) Send(text string) {
	c.h.t.Helper()
	c.mustSend(protocol.TextMessage(text), "send")
}

// SendBinary sends a binary message to the server (base64 in a polling
// payload, a binary frame on WebSocket).
func (c *Client) SendBinary(data []byte) {
	c.h.t.Helper()
	c.mustSend(protocol.BinaryMessage(bytes.Clone(data)), "send binary")
}

// Pong answers the server's ping. The server pings every ping interval
// (see Harness.Advance) and closes a session whose pong does not come
// within the ping timeout; a pong re-arms the ping interval.
func (c *Client) Pong() {
	c.h.t.Helper()
	c.mustSend(protocol.Packet{Type: protocol.Pong}, "pong")
}

// Close sends the close packet: the session closes with
// engineio.ReasonClientClose.
func (c *Client) Close() {
	c.h.t.Helper()
	c.mustSend(protocol.Packet{Type: protocol.Close}, "close")
}

func (c *Client) mustSend(p protocol.Packet, what string) {
	c.h.t.Helper()
	if err := c.SendPacket(p); err != nil {
		c.h.t.Fatalf("engineiotest: %s: %s: %v", c.name(), what, err)
	}
}

// SendPacket sends any packet to the server, on polling as a POST (two
// messages: *actors.PostBegin, then *actors.Post with the payload), on
// WebSocket as a *actors.Frame. It returns ErrClosed once the session has
// closed, and a *RejectedError when the server refuses the POST. Text must
// not contain the record separator 0x1e on polling.
func (c *Client) SendPacket(p protocol.Packet) error {
	c.h.t.Helper()
	c.mu.Lock()
	closed, transport := c.closed, c.transport
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if transport == WebSocket {
		c.root.Send(c.pid, &actors.Frame{Conn: c.wsPID, Packet: p})
		return nil
	}
	switch m := c.request(c.pid, &actors.PostBegin{}, "POST").(type) {
	case *actors.PostReady:
	case *actors.Failure:
		return &RejectedError{Status: m.Status, Code: m.Code, Message: m.Message}
	default:
		return ErrClosed
	}
	payload := protocol.AppendPayload(nil, []protocol.Packet{p})
	switch m := c.request(c.pid, &actors.Post{Payload: payload}, "POST body").(type) {
	case *actors.PostResult:
		return nil
	case *actors.Failure:
		return &RejectedError{Status: m.Status, Code: m.Code, Message: m.Message}
	default:
		return ErrClosed
	}
}

// Receive returns the messages the server sent this client since the last
// call, in order. On polling it polls first (*actors.Poll), unless a poll
// is already parked at the session: the server answers at once with what
// is queued, or parks the poll and answers it when it has something, which
// the next Receive returns. On WebSocket it returns what the fake
// connection's writer got.
//
// Pings, noops, the open and close packets and the upgrade's "3probe" are
// not messages: Packets has them.
func (c *Client) Receive() []engineio.Message {
	c.h.t.Helper()
	c.poll()
	c.mu.Lock()
	defer c.mu.Unlock()
	var msgs []engineio.Message
	for _, p := range c.packets[c.received:] {
		if p.Type == protocol.Message {
			msgs = append(msgs, engineio.Message{Data: bytes.Clone(p.Data), Binary: p.Binary})
		}
	}
	c.received = len(c.packets)
	return msgs
}

// poll sends a long-poll if the client is on polling, open, and has none
// parked; it reports whether the poll was answered at once.
func (c *Client) poll() bool {
	c.mu.Lock()
	if c.transport != Polling || c.closed || c.polling || c.released {
		c.mu.Unlock()
		return false
	}
	c.polling = true
	c.mu.Unlock()
	c.root.RequestWithCustomSender(c.pid, &actors.Poll{}, c.pollPID)
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.polling
}

// parkPoll polls until a poll stays parked, as a live polling client
// always has one waiting. It gives up after a few rounds: a session that
// keeps answering at once (one that is upgrading) is not waiting.
func (c *Client) parkPoll() {
	for range 10 {
		if !c.poll() {
			return
		}
	}
}

// Packets returns every packet the client has received so far, in order:
// the open packet, messages, pings, noops, the upgrade's "3probe", the
// close packet. It does not poll; Receive does.
func (c *Client) Packets() []protocol.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]protocol.Packet, len(c.packets))
	for i, p := range c.packets {
		p.Data = bytes.Clone(p.Data)
		out[i] = p
	}
	return out
}

// Pings returns how many pings the client has received (on polling, once
// a Receive fetched them).
func (c *Client) Pings() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.packets {
		if p.Type == protocol.Ping {
			n++
		}
	}
	return n
}

// Upgrade moves a polling client to WebSocket through the messages of a
// real upgrade: *actors.WebSocketOpened with the fake connection, the
// "2probe" frame (the server answers "3probe" and releases a parked poll
// with a noop) and the "5" frame. Messages queued meanwhile arrive over the
// WebSocket. A refused upgrade fails the test; see TryUpgrade.
func (c *Client) Upgrade() {
	c.h.t.Helper()
	if err := c.TryUpgrade(); err != nil {
		c.h.t.Fatalf("engineiotest: %s: upgrade: %v", c.name(), err)
	}
}

// TryUpgrade is Upgrade returning an error when the server turns the
// WebSocket away (upgrades not allowed, the session closing) instead of
// failing the test; the client then stays on polling.
func (c *Client) TryUpgrade() error {
	c.h.t.Helper()
	c.mu.Lock()
	transport, closed := c.transport, c.closed
	c.probed, c.connClosed = false, false
	c.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case transport != Polling:
		return fmt.Errorf("engineiotest: already on %s", transport)
	}
	c.root.Send(c.pid, &actors.WebSocketOpened{Conn: c.wsPID})
	c.root.Send(c.pid, &actors.Frame{Conn: c.wsPID, Packet: protocol.Packet{Type: protocol.Ping, Data: []byte("probe")}})
	c.waitFor(`answer to "2probe"`, func() bool { return c.probed || c.connClosed || c.closed })
	c.mu.Lock()
	refused := !c.probed
	c.mu.Unlock()
	if refused {
		return fmt.Errorf("engineiotest: the server refused the WebSocket")
	}
	c.root.Send(c.pid, &actors.Frame{Conn: c.wsPID, Packet: protocol.Packet{Type: protocol.Upgrade}})
	c.waitFor("upgrade", func() bool { return c.upgraded || c.connClosed || c.closed })
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.upgraded {
		return fmt.Errorf("engineiotest: the upgrade did not complete")
	}
	c.transport = WebSocket
	return nil
}

// Stall makes the fake WebSocket connection stop acknowledging the batches
// it gets, as a client that does not read leaves the server's writer stuck:
// what the server sends meanwhile waits in the session's outbound queue,
// where engineio.WithOutboundQueue's limits apply. The batch in hand is
// still recorded (Receive returns it). On polling, Stall takes effect from
// an Upgrade on; a polling client that does not read simply does not call
// Receive.
func (c *Client) Stall() {
	c.mu.Lock()
	c.stalled = true
	c.mu.Unlock()
}

// Resume undoes Stall: the batch in hand is acknowledged, and the queue
// flows to the client again (inline: Receive returns it right away), after
// which OnDrain runs.
func (c *Client) Resume() {
	c.mu.Lock()
	c.stalled = false
	ack := c.pendingAck
	c.pendingAck = nil
	c.mu.Unlock()
	if ack != nil {
		c.root.Send(ack, &actors.Written{Conn: c.wsPID})
	}
}

// Drop makes the connection go away without a close packet. On WebSocket
// the connection closes (the session closes with
// engineio.ReasonTransportClose); on polling the client abandons its
// long-poll, parking one first if needed (engineio.ReasonTransportError).
func (c *Client) Drop() {
	c.h.t.Helper()
	c.mu.Lock()
	transport, closed := c.transport, c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	if transport == WebSocket {
		c.root.Send(c.pid, &actors.WebSocketClosed{Conn: c.wsPID, Reason: actors.ReasonTransportClose})
	} else {
		c.parkPoll()
		c.root.Send(c.pid, &actors.PollAbandoned{ReplyTo: c.pollPID})
	}
	c.waitFor("close", func() bool { return c.closed })
}

// Closed reports whether the server has closed the session, and the reason
// it gave (what OnDisconnect gets), from the *actors.Disconnected event the
// client is subscribed to.
//
// A graceful close (Server.Disconnect, Session.Close) over polling waits for
// the client's next poll to carry the close packet: call Receive first.
func (c *Client) Closed() (engineio.Reason, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason, c.closed
}

// Texts returns the data of each message as a string, for comparisons.
func Texts(msgs []engineio.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text()
	}
	return out
}

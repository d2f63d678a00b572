package engineiotest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
	"github.com/eioactor/engineio/supervisor"
)

// Transport is the transport a Client connects over.
type Transport = actors.Transport

// Transports for Harness.Connect.
const (
	// Polling is HTTP long-polling: the client sends with POSTs and
	// receives with long-poll GETs.
	Polling = actors.TransportPolling
	// WebSocket is a WebSocket opened directly, with no polling first.
	WebSocket = actors.TransportWebSocket
)

// RemoteAddr is the network address every harness client connects from, as
// engineio.Session.RemoteAddr and actors.SessionInfo report it.
const RemoteAddr = "192.0.2.1:49152"

// ReplyTimeout bounds how long the harness waits for a reply that, with
// everything on the synchronized dispatcher, has already come when the
// request returns. It only matters when other goroutines drive the session
// too (an actor of the test on protoactor's default dispatcher): the reply
// may then come a little later. Running out of it fails the test.
const ReplyTimeout = 10 * time.Second

// ErrClosed is returned by Client.SendPacket once the server has closed the
// client's session.
var ErrClosed = errors.New("engineiotest: session closed")

// RejectedError is a request the server refused: a handshake rejected by
// the OnConnect handler (403, code 4, the handler's error text) or by a
// server that is shutting down (503), or a POST to a session that is gone.
// Status, Code and Message are the HTTP status and the Engine.IO error body
// a real client would get.
type RejectedError struct {
	Status  int
	Code    protocol.ErrorCode
	Message string
}

// Error returns the status, code and message.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("engineiotest: rejected with %d (code %d): %s", e.Status, e.Code, e.Message)
}

// Harness runs an engineio.Server with no network: each Client talks to its
// session actor with the messages the HTTP layer would send, all actors run
// on protoactor's synchronized dispatcher (a message is handled inline, on
// the sender's goroutine, before the send returns) and time is a fake Clock.
// So a test sees the effect of every call as soon as the call returns, and
// needs no sleeps.
//
// The harness speaks Engine.IO revision 4 and bypasses the HTTP layer:
// options that act on requests (WithPath, WithTransports, WithCORS,
// WithAllowRequest, WithCookie, headers, compression, WithMaxPayload's
// check of request bodies) are not exercised; test those over HTTP. Session
// options (ping interval and timeout, upgrade and close timeouts, the
// outbound queue, WithAllowUpgrades, WithInitialPacket,
// WithShutdownMessage) and the handlers all apply.
//
// Use a Harness and its Clients from the test's goroutine: their methods
// fail the test with t.Fatalf.
type Harness struct {
	t          testing.TB
	srv        *engineio.Server
	clock      *Clock
	dispatcher actor.Dispatcher
	sidSeq     atomic.Int64

	mu      sync.Mutex
	clients []*Client

	closeOnce sync.Once
	closeErr  error
}

// New returns a harness around a new server configured by opts, and closes
// it when the test ends (t.Cleanup; see Close).
//
// The server gets, before opts, so that opts may override them: its own
// actor system with a discarding logger, the synchronized dispatcher
// (engineio.WithDispatcher), the harness's fake clock (engineio.WithClock)
// and session ids "sid1", "sid2", ... in the order of the handshakes
// (engineio.WithSIDGenerator). A test that replaces the clock or the
// dispatcher gives up what they provide; one that passes
// engineio.WithActorSystem runs the server in that system, which the test
// then shuts down itself.
func New(t testing.TB, opts ...engineio.Option) *Harness {
	t.Helper()
	h := &Harness{t: t, clock: NewClock(), dispatcher: actor.NewSynchronizedDispatcher(300)}
	all := []engineio.Option{
		engineio.WithDispatcher(h.dispatcher),
		engineio.WithClock(h.clock),
		engineio.WithSIDGenerator(func() (string, error) {
			return fmt.Sprintf("sid%d", h.sidSeq.Add(1)), nil
		}),
	}
	srv, err := engineio.NewServer(append(all, opts...)...)
	if err != nil {
		t.Fatalf("engineiotest: NewServer: %v", err)
	}
	h.srv = srv
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Logf("engineiotest: closing the server: %v", err)
		}
	})
	return h
}

// Server returns the server under test. Set its handlers (OnConnect,
// OnMessage, OnDisconnect, OnDrain) before connecting clients.
func (h *Harness) Server() *engineio.Server { return h.srv }

// Clock returns the harness's fake clock.
func (h *Harness) Clock() *Clock { return h.clock }

// Dispatcher returns the synchronized dispatcher the server's actors run
// on. An actor of the test spawned with actor.WithDispatcher(h.Dispatcher())
// also handles its messages inline, which keeps a test that involves it
// deterministic.
func (h *Harness) Dispatcher() actor.Dispatcher { return h.dispatcher }

// Advance moves the fake clock forward by d and runs, inline, everything
// that falls due: pings (the server pings every ping interval), ping
// timeouts (a client that did not Pong within the ping timeout is closed
// with engineio.ReasonPingTimeout), upgrade and close timeouts.
func (h *Harness) Advance(d time.Duration) { h.clock.Advance(d) }

// Connect opens a session over transport, as a client's handshake would,
// and returns its client. A rejected handshake fails the test; see
// TryConnect.
func (h *Harness) Connect(transport Transport) *Client {
	h.t.Helper()
	c, err := h.TryConnect(transport, nil, nil)
	if err != nil {
		h.t.Fatalf("engineiotest: connect over %s: %v", transport, err)
	}
	return c
}

// TryConnect opens a session over transport with the given handshake
// request headers and query (either may be nil; EIO=4 and transport are
// added to the query when it lacks them), as OnConnect sees them through
// Session.Header and Session.Query. A refused handshake returns a
// *RejectedError and no client.
//
// The handshake goes to the server's supervisor (SupervisorPID) as
// *supervisor.Open, as the HTTP layer sends it. The client then subscribes
// to its session (*actors.Subscribe) to learn when and why it closes; on
// WebSocket it takes the open packet from the handshake's answer, as the
// HTTP layer sends it with the upgrade, and attaches its fake connection.
func (h *Harness) TryConnect(transport Transport, header http.Header, query url.Values) (*Client, error) {
	h.t.Helper()
	if transport != Polling && transport != WebSocket {
		h.t.Fatalf("engineiotest: unknown transport %v", transport)
	}
	if header == nil {
		header = http.Header{}
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = append([]string(nil), v...)
	}
	if !q.Has("EIO") {
		q.Set("EIO", "4")
	}
	if !q.Has("transport") {
		q.Set("transport", transport.String())
	}
	c := newClient(h, transport)
	reply := c.request(h.srv.SupervisorPID(), &supervisor.Open{
		Revision:   protocol.V4,
		Transport:  transport,
		Header:     header,
		RawQuery:   q.Encode(),
		RemoteAddr: RemoteAddr,
	}, "handshake")
	var opened *actors.Opened
	switch m := reply.(type) {
	case *actors.Opened:
		opened = m
	case *actors.Failure:
		c.release()
		return nil, &RejectedError{Status: m.Status, Code: m.Code, Message: m.Message}
	case *actor.DeadLetterResponse:
		c.release()
		return nil, &RejectedError{Status: http.StatusServiceUnavailable, Code: protocol.CodeBadRequest, Message: "server closed"}
	default:
		c.release()
		h.t.Fatalf("engineiotest: handshake answered with %T", reply)
	}
	c.sid = opened.SID
	pid, err := h.srv.PID(opened.SID)
	if err != nil {
		h.t.Fatalf("engineiotest: session %s opened but not found: %v", opened.SID, err)
	}
	c.pid = pid
	h.mu.Lock()
	h.clients = append(h.clients, c)
	h.mu.Unlock()
	if transport == Polling {
		c.deliverPayload(opened.Payload)
	} else {
		// The HTTP layer sends it as the WebSocket's first frame.
		c.deliverPacket(opened.Open)
	}
	switch m := c.request(pid, &actors.Subscribe{Subscriber: c.eventsPID}, "subscribe").(type) {
	case *actors.Subscribed:
	case *actors.SessionClosed:
		c.markClosed(m.Reason)
	default:
		c.markClosed("")
	}
	if transport == WebSocket {
		h.srv.ActorSystem().Root.Send(pid, &actors.WebSocketOpened{Conn: c.wsPID, Handshake: true})
		c.waitFor("the open packet", func() bool { return c.handshake != nil || c.closed })
	}
	return c, nil
}

// Close shuts the server down as engineio.Server.Close does, and reports
// its error. It runs once; t.Cleanup calls it too. Sessions still open
// close with engineio.ReasonServerShutdown (their OnDisconnect handlers
// run) and their clients get what was queued, the shutdown message if any
// (engineio.WithShutdownMessage), and the close packet: Receive returns
// them afterwards. To let the shutdown complete at once, as live clients
// would, Close first parks a long-poll for every polling client and resumes
// every stalled WebSocket client. Close the server with h.Close rather than
// with Server().Close, which would wait for polls nobody makes, on a clock
// nobody advances, until its context ends.
func (h *Harness) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		clients := append([]*Client(nil), h.clients...)
		h.mu.Unlock()
		for _, c := range clients {
			c.Resume()
			c.parkPoll()
		}
		ctx, cancel := context.WithTimeout(context.Background(), ReplyTimeout)
		defer cancel()
		h.closeErr = h.srv.Close(ctx)
		for _, c := range clients {
			c.release()
		}
	})
	return h.closeErr
}

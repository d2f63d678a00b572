package actors_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
	"github.com/eioactor/engineio/supervisor"
)

// The harness runs sessions on protoactor's synchronized dispatcher with a
// fake clock: every message is handled inline, on the test's goroutine, so
// a test drives a session message by message with no sleeps.

// probe is a reply target that records what it receives.
type probe struct {
	mu         sync.Mutex
	pid        *actor.PID
	msgs       []any
	root       *actor.RootContext
	holdWrites bool // do not acknowledge WriteFrames: a stalled client
	// finishes: acknowledge a batch as the real writer does, with
	// WriteFrames.Finish, and answer *Written only if that asks for it.
	finishes bool
	answers  int                 // the *Written sent by a probe that finishes
	last     *actors.WriteFrames // the last batch received, as sent
}

func (p *probe) SendUserMessage(_ *actor.PID, m any) {
	_, msg, sender := actor.UnwrapEnvelope(m)
	if wf, ok := msg.(*actors.WriteFrames); ok {
		// The session reuses the batch once it is acknowledged.
		msg = &actors.WriteFrames{Packets: slices.Clone(wf.Packets)}
	}
	p.mu.Lock()
	p.msgs = append(p.msgs, msg)
	p.mu.Unlock()
	// A probe standing in for a WebSocket writer acknowledges each batch,
	// as the real writer does once the frames are written.
	wf, ok := actor.UnwrapEnvelopeMessage(m).(*actors.WriteFrames)
	if ok {
		p.mu.Lock()
		p.last = wf
		p.mu.Unlock()
	}
	if ok && p.root != nil && !p.holdWrites {
		p.finish(wf, sender)
	}
}

// finish acknowledges the batch wf.
func (p *probe) finish(wf *actors.WriteFrames, sender *actor.PID) {
	to := wf.Session
	if to == nil {
		to = sender
	}
	if p.finishes && (to == nil || !wf.Finish()) {
		return
	}
	if to != nil {
		if p.finishes {
			p.mu.Lock()
			p.answers++
			p.mu.Unlock()
		}
		p.root.Send(to, &actors.Written{Conn: p.pid})
	}
}
func (p *probe) SendSystemMessage(*actor.PID, any) {}
func (p *probe) Stop(*actor.PID)                   {}

// take returns and forgets what the probe received.
func (p *probe) take() []any {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.msgs
	p.msgs = nil
	return m
}

// fakeClock fires due callbacks when the test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*fakeTimer
	panics bool // AfterFunc panics: a way to fail the session's own code
}

type fakeTimer struct {
	at      time.Duration
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) actors.Timer {
	if c.panics {
		panic("clock failure")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now + d, f: f}
	c.timers = append(c.timers, t)
	return t
}

// advance moves time forward, firing every due timer in order.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.now + d
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at < c.timers[j].at })
		var next *fakeTimer
		for len(c.timers) > 0 && next == nil {
			t := c.timers[0]
			c.timers = c.timers[1:]
			if !t.stopped && t.at <= end {
				next = t
			} else if !t.stopped {
				c.timers = append([]*fakeTimer{t}, c.timers...)
				break
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.now = next.at
		next.stopped = true
		c.mu.Unlock()
		next.f()
	}
}

// recorder is the application: it records events and, when echo is set,
// sends every message back.
type recorder struct {
	mu          sync.Mutex
	root        *actor.RootContext
	reject      error
	echo        bool
	noDrain     bool // WantDrain reports false
	panicOn     string
	onMessage   func(info *actors.Info, pkt protocol.Packet) // called after the echo, if set
	onConnect   func(info *actors.Info)                      // called first by Connect, if set
	connects    []string
	messages    []protocol.Packet
	disconnects map[string]actors.Reason
	drains      int
}

func (r *recorder) Connect(info *actors.Info) (any, error) {
	if r.onConnect != nil {
		r.onConnect(info)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reject != nil {
		return nil, r.reject
	}
	r.connects = append(r.connects, info.SID)
	return info, nil
}

func (r *recorder) Message(state any, pkt protocol.Packet) {
	r.mu.Lock()
	r.messages = append(r.messages, pkt)
	echo, panicOn, onMessage := r.echo, r.panicOn, r.onMessage
	r.mu.Unlock()
	if panicOn != "" && string(pkt.Data) == panicOn {
		panic("handler failure")
	}
	if echo {
		state.(*actors.Info).Send(r.root, pkt)
	}
	if onMessage != nil {
		onMessage(state.(*actors.Info), pkt)
	}
}

func (r *recorder) Disconnect(state any, reason actors.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.disconnects[state.(*actors.Info).SID] = reason
}

func (r *recorder) Drain(state any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drains++
}

func (r *recorder) WantDrain() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.noDrain
}

func (r *recorder) disconnected(sid string) (actors.Reason, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reason, ok := r.disconnects[sid]
	return reason, ok
}

type harness struct {
	t        *testing.T
	sys      *actor.ActorSystem
	clock    *fakeClock
	app      *recorder
	cfg      *actors.Config
	registry *supervisor.Registry
	sup      *actor.PID
	seq      int
}

const (
	pingInterval   = 25 * time.Second
	pingTimeout    = 20 * time.Second
	upgradeTimeout = 10 * time.Second
	closeTimeout   = 30 * time.Second
)

func newHarness(t *testing.T) *harness {
	t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		// A dead letter starts a goroutine that lasts one interval: short,
		// so that the package's leak check finds it gone.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	h := &harness{t: t, sys: sys, clock: &fakeClock{}, registry: &supervisor.Registry{}}
	h.app = &recorder{root: sys.Root, disconnects: map[string]actors.Reason{}}
	h.cfg = &actors.Config{
		PingInterval:   pingInterval,
		PingTimeout:    pingTimeout,
		UpgradeTimeout: upgradeTimeout,
		CloseTimeout:   closeTimeout,
		MaxPayload:     1000,
		Upgrades:       []string{"websocket"},
		Clock:          h.clock,
		Events:         h.app,
		Logger:         discard,
		Dispatcher:     actor.NewSynchronizedDispatcher(300),
	}
	newSID := func() (string, error) { h.seq++; return fmt.Sprintf("sid%d", h.seq), nil }
	h.sup = sys.Root.Spawn(supervisor.NewProps(supervisor.Config{Session: h.cfg, NewSID: newSID, Logger: discard}, h.registry))
	t.Cleanup(func() { _ = sys.Root.StopFuture(h.sup).Wait() })
	return h
}

var probeSeq atomic.Int64

func (h *harness) probe() *probe {
	p := &probe{root: h.sys.Root}
	p.pid, _ = h.sys.ProcessRegistry.Add(p, fmt.Sprintf("probe%d", probeSeq.Add(1)))
	return p
}

// open runs a handshake and returns the session's id, its PID and the
// handshake answer.
func (h *harness) open(transport actors.Transport) (string, *actor.PID, *actors.Opened) {
	h.t.Helper()
	p := h.probe()
	h.sys.Root.RequestWithCustomSender(h.sup, &supervisor.Open{Transport: transport}, p.pid)
	msgs := p.take()
	if len(msgs) != 1 {
		h.t.Fatalf("handshake: got %d replies %v, want 1", len(msgs), msgs)
	}
	opened, ok := msgs[0].(*actors.Opened)
	if !ok {
		h.t.Fatalf("handshake: got %#v, want *actors.Opened", msgs[0])
	}
	info, ok := h.registry.Lookup(opened.SID)
	if !ok {
		h.t.Fatalf("session %s not registered", opened.SID)
	}
	return opened.SID, info.PID, opened
}

// request sends msg to pid with a fresh probe as the reply target and
// returns the probe.
func (h *harness) request(pid *actor.PID, msg any) *probe {
	p := h.probe()
	h.sys.Root.RequestWithCustomSender(pid, msg, p.pid)
	return p
}

// post runs the two steps of a POST and returns the final reply.
func (h *harness) post(pid *actor.PID, body string) any {
	h.t.Helper()
	p := h.request(pid, &actors.PostBegin{})
	got := p.take()
	if len(got) != 1 {
		h.t.Fatalf("PostBegin: got %v", got)
	}
	if _, ok := got[0].(*actors.PostReady); !ok {
		return got[0]
	}
	h.sys.Root.RequestWithCustomSender(pid, &actors.Post{Payload: []byte(body)}, p.pid)
	got = p.take()
	if len(got) != 1 {
		h.t.Fatalf("Post: got %v", got)
	}
	return got[0]
}

// holdBusy keeps the polling session pid inside a message, its client's
// "4hi" posted on another goroutine, until release: what is sent to it
// meanwhile queues. release lets the message end and returns once that
// goroutine has run the mailbox dry (the harness's dispatcher runs it
// there).
func (h *harness) holdBusy(pid *actor.PID) (release func()) {
	h.t.Helper()
	entered, free := make(chan struct{}), make(chan struct{})
	h.app.mu.Lock()
	h.app.onMessage = func(*actors.Info, protocol.Packet) {
		close(entered)
		<-free
	}
	h.app.mu.Unlock()
	posting := h.request(pid, &actors.PostBegin{})
	if got := posting.take(); len(got) != 1 || !isType[*actors.PostReady](got[0]) {
		h.t.Fatalf("PostBegin: %v", got)
	}
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		h.sys.Root.RequestWithCustomSender(pid, &actors.Post{Payload: []byte("4hi")}, posting.pid)
	}()
	<-entered
	return func() {
		close(free)
		<-handled
	}
}

// openEchoWebSocket opens a WebSocket session whose application echoes
// every message and wants no Drain, with a probe for its writer that
// acknowledges batches as the real one does (probe.finishes); frame sends
// the session a text message from its client.
func (h *harness) openEchoWebSocket() (pid *actor.PID, ws *probe, frame func(text string)) {
	h.app.echo, h.app.noDrain = true, true
	_, pid, _ = h.open(actors.TransportWebSocket)
	ws = h.probe()
	ws.finishes = true
	h.sys.Root.Send(pid, &actors.WebSocketOpened{Conn: ws.pid, Handshake: true})
	frame = func(text string) {
		h.sys.Root.Send(pid, &actors.Frame{Conn: ws.pid, Packet: protocol.TextMessage(text)})
	}
	return pid, ws, frame
}

func (h *harness) send(pid *actor.PID, text string) {
	h.sys.Root.Send(pid, &actors.Send{Packet: protocol.TextMessage(text)})
}

func (h *harness) expectDisconnect(sid string, want actors.Reason) {
	h.t.Helper()
	got, ok := h.app.disconnected(sid)
	if !ok {
		h.t.Fatalf("session %s: no disconnect, want %q", sid, want)
	}
	if got != want {
		h.t.Fatalf("session %s: disconnect reason %q, want %q", sid, got, want)
	}
	if _, ok := h.registry.Lookup(sid); ok {
		h.t.Fatalf("session %s still registered after disconnect", sid)
	}
}

func (h *harness) expectOpen(sid string) {
	h.t.Helper()
	if reason, ok := h.app.disconnected(sid); ok {
		h.t.Fatalf("session %s closed with %q, want it open", sid, reason)
	}
	if _, ok := h.registry.Lookup(sid); !ok {
		h.t.Fatalf("session %s not registered", sid)
	}
}

// payload returns the body of a single *actors.PollResult.
func payload(t *testing.T, msgs []any) string {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("got %d replies %v, want one poll result", len(msgs), msgs)
	}
	r, ok := msgs[0].(*actors.PollResult)
	if !ok {
		t.Fatalf("got %#v, want *actors.PollResult", msgs[0])
	}
	return string(r.Payload)
}

func failure(t *testing.T, msg any) *actors.Failure {
	t.Helper()
	f, ok := msg.(*actors.Failure)
	if !ok {
		t.Fatalf("got %#v, want *actors.Failure", msg)
	}
	return f
}

// frames flattens what a WebSocket writer probe received into text frames
// ("4hi", "3probe", "b:<bytes>") and "close" for CloseConn.
func frames(t *testing.T, msgs []any) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		switch m := m.(type) {
		case *actors.WriteFrames:
			for _, p := range m.Packets {
				if p.Binary {
					out = append(out, "b:"+string(p.Data))
				} else {
					out = append(out, string(protocol.AppendPacket(nil, p)))
				}
			}
		case *actors.CloseConn:
			out = append(out, "close")
		default:
			t.Fatalf("writer got %#v", m)
		}
	}
	return out
}

var errRejected = errors.New("no entry")

var (
	supervisorOpen     = supervisor.Open{Transport: actors.TransportPolling}
	supervisorShutdown = supervisor.Shutdown{}
)

func isType[T any](v any) bool { _, ok := v.(T); return ok }

func typeName(v any) string { return fmt.Sprintf("%T", v) }

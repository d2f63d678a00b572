package actors

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/internal/pack"
	"github.com/eioactor/engineio/metrics"
	"github.com/eioactor/engineio/protocol"
)

// Transport is the kind of connection a session currently uses.
type Transport uint32

// Transports.
const (
	TransportPolling Transport = iota + 1
	TransportWebSocket
)

// String returns the transport's query-parameter name.
func (t Transport) String() string {
	switch t {
	case TransportPolling:
		return "polling"
	case TransportWebSocket:
		return "websocket"
	}
	return "unknown"
}

// Events receives a session's application events. The session actor makes
// the calls for one session one at a time, in order; a slow call delays that
// session only. A panic in Message or Connect is caught: the session closes
// with ReasonHandlerPanic (Connect: the handshake fails).
type Events interface {
	// Connect runs when the session opens, before the handshake is
	// answered. An error rejects the handshake with 403 and its text. The
	// returned state is handed to the session's later events.
	Connect(info *Info) (state any, err error)
	// Message delivers one message from the client. The packet's Data is
	// owned by the callee.
	Message(state any, pkt protocol.Packet)
	// Disconnect runs once, when the session has closed.
	Disconnect(state any, reason Reason)
	// Drain runs when the outbound queue has emptied, if WantDrain says
	// anyone listens.
	Drain(state any)
	// WantDrain reports whether Drain has a listener.
	WantDrain() bool
}

// Info is what is known of a session from outside its actor: it is created
// before the session is spawned and safe to read from any goroutine once
// published (Start.Publish).
type Info struct {
	SID string
	// PID is the session actor's own, set as it is spawned, before its
	// Info is published.
	PID      *actor.PID
	Revision protocol.Revision
	// RawQuery and RemoteAddr are those of the handshake request; so are
	// the headers (see Header), without those of its connection.
	RawQuery   string
	RemoteAddr string

	header []string // the handshake's headers as key, value, key, value...

	transport     atomic.Uint32
	closed        atomic.Bool // the session has closed; with local.mu, done is then closed too
	queuedPackets atomic.Int64
	queuedBytes   atomic.Int64
	// done is made by the first call of Done, under local.mu: the server
	// itself never calls it, and a channel costs an idle session 96
	// bytes.
	done  chan struct{}
	local localQueue // the application's Send and Close (see Info.Send)
}

// Queued returns the packets and bytes waiting in the session's outbound
// queue, as the session last published them.
func (i *Info) Queued() (packets, bytes int) {
	return int(i.queuedPackets.Load()), int(i.queuedBytes.Load())
}

// connectionHeaders describe the connection of the handshake, not the
// client (hop-by-hop and WebSocket handshake headers): a session does not
// keep them.
var connectionHeaders = map[string]bool{"Connection": true, "Upgrade": true, "Sec-Websocket-Key": true, "Sec-Websocket-Version": true, "Sec-Websocket-Extensions": true}

// NewInfo describes a session about to be spawned over transport (the
// spawn sets its PID). It copies what it keeps of header, the handshake's.
func NewInfo(sid string, rev protocol.Revision, transport Transport, header http.Header, rawQuery string, remoteAddr string) *Info {
	// The query is copied: rawQuery most often shares the memory of the
	// whole request line, which the session has no use for.
	info := &Info{SID: sid, Revision: rev, RawQuery: strings.Clone(rawQuery), RemoteAddr: remoteAddr}
	n := 0
	for k, vs := range header {
		if !connectionHeaders[k] {
			n += 2 * len(vs)
		}
	}
	if n > 0 {
		info.header = make([]string, 0, n)
		for k, vs := range header {
			if connectionHeaders[k] {
				continue
			}
			for _, v := range vs {
				info.header = append(info.header, k, v)
			}
		}
		// One copy of them all: a header read by the server's own request
		// reader shares the memory of the whole request head.
		pack.Strings(info.header)
	}
	info.transport.Store(uint32(transport))
	return info
}

// Header returns the headers of the handshake request, a new map at each
// call. A session keeps them as one list of strings, which costs an idle
// session a fraction of a map.
func (i *Info) Header() http.Header {
	h := make(http.Header, len(i.header)/2)
	for j := 0; j+1 < len(i.header); j += 2 {
		h[i.header[j]] = append(h[i.header[j]], i.header[j+1])
	}
	return h
}

// Query parses RawQuery; a session keeps its handshake's query encoded,
// which costs an idle session a fraction of the parsed form.
func (i *Info) Query() url.Values {
	q, _ := url.ParseQuery(i.RawQuery)
	return q
}

// Done is closed when the session has closed, once it has answered what it
// owes. Nothing needs it to wait for a reply: every request to a session
// is answered (see the session's stop guard). It is for code that wants to
// learn of the end of a session it does not subscribe to.
func (i *Info) Done() <-chan struct{} {
	q := &i.local
	q.mu.Lock()
	defer q.mu.Unlock()
	if i.done == nil {
		if i.closed.Load() {
			return closedDone
		}
		i.done = make(chan struct{})
	}
	return i.done
}

// closedDone is what Done returns when it is first called on a closed
// session.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Closed reports whether the session has closed.
func (i *Info) Closed() bool { return i.closed.Load() }

// markClosed closes the session's Info: Closed reports true, and Done is
// closed.
func (i *Info) markClosed() {
	q := &i.local
	q.mu.Lock()
	defer q.mu.Unlock()
	if i.closed.Load() {
		return
	}
	i.closed.Store(true)
	if i.done != nil {
		close(i.done)
	}
}

// Transport returns the session's current transport.
func (i *Info) Transport() Transport { return Transport(i.transport.Load()) }

// Config is shared by all sessions of one server. It must not change after
// the first session is spawned.
type Config struct {
	PingInterval   time.Duration
	PingTimeout    time.Duration
	UpgradeTimeout time.Duration
	// CloseTimeout bounds how long a graceful close over polling waits for
	// a GET to carry the close packet.
	CloseTimeout time.Duration
	MaxPayload   int64
	// Upgrades is advertised in the handshake of polling sessions.
	Upgrades []string
	// InitialPacket, when not nil, is sent as a message right after the
	// open packet.
	InitialPacket *protocol.Packet
	// MaxQueuedPackets and MaxQueuedBytes bound the outbound queue of a
	// session (packets waiting for a poll, or for the WebSocket writer to
	// finish its current batch); zero means no bound. Overflow says what
	// happens to a send beyond them.
	MaxQueuedPackets int
	MaxQueuedBytes   int
	Overflow         OverflowPolicy
	Clock            Clock
	Events           Events
	Logger           *slog.Logger
	// Metrics gets the session's measurements; nil means none.
	Metrics metrics.Recorder
	// Dispatcher runs session actors; nil means protoactor's default. Tests
	// use actor.NewSynchronizedDispatcher for deterministic runs.
	Dispatcher actor.Dispatcher
}

// Start is what one new session needs to know.
type Start struct {
	Info      *Info
	Transport Transport
	// ReplyTo gets the handshake answer: *Opened or *Failure.
	ReplyTo *actor.PID
	// Runner, when not nil, is the goroutine of the handshake request,
	// which runs the new session until it has answered.
	Runner *mailbox.Runner
	// Publish, when not nil, is called with Info once its PID is set and
	// before the session starts: from then on the session may be
	// addressed, by its Connect handler among others.
	Publish func(*Info)
}

// Spawner spawns session actors. All its sessions share one props, which
// the actor runtime keeps for each actor's life: a props per session would
// cost every idle session its size and whatever its producer holds.
type Spawner struct {
	props *actor.Props

	mu      sync.Mutex // held through one spawn
	pending Start
	links   *sessionLinks
}

// sessionLinks is what the actor and the mailbox producer of one spawn
// share: the session reaches its mailbox through it.
type sessionLinks struct {
	guard *stopGuard
	mbox  *mailbox.Mailbox
}

// NewSpawner returns a spawner of sessions configured by cfg.
func NewSpawner(cfg *Config) *Spawner {
	sp := &Spawner{}
	opts := []actor.PropsOption{actor.WithMailbox(func() actor.Mailbox {
		sp.links.mbox = mailbox.New(sp.links.guard)
		if cfg.Dispatcher == nil {
			sp.links.mbox.SetRunner(sp.pending.Runner)
		}
		return sp.links.mbox
	})}
	if cfg.Dispatcher != nil {
		opts = append(opts, actor.WithDispatcher(cfg.Dispatcher))
	}
	// The spawn makes the session's PID: Info takes that one rather than
	// one of its own, which would cost every session a second PID and
	// name.
	opts = append(opts, actor.WithOnInit(func(ctx actor.Context) {
		st := sp.pending
		st.Info.PID = ctx.Self()
		if st.Publish != nil {
			st.Publish(st.Info)
		}
	}))
	sp.props = actor.PropsFromProducer(func() actor.Actor {
		st := sp.pending
		return &session{cfg: cfg, info: st.Info, transport: st.Transport, handshakeReply: st.ReplyTo, links: sp.links}
	}, opts...)
	return sp
}

// Spawn spawns the session described by start as a child of ctx, named
// name. The parent must use Stop as the supervision directive: a restarted
// session would have lost its transport and queue.
func (sp *Spawner) Spawn(ctx actor.SpawnerContext, name string, start Start) (*actor.PID, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.pending = start
	sp.links = &sessionLinks{guard: &stopGuard{info: start.Info}}
	defer func() { sp.pending, sp.links = Start{}, nil }()
	return ctx.SpawnNamed(sp.props, name)
}

// useRunner lets the session's mailbox run on the reader goroutine of its
// WebSocket (nil: on the dispatcher only). A configured Dispatcher keeps
// every run.
func (s *session) useRunner(r *mailbox.Runner) {
	if s.cfg.Dispatcher == nil {
		s.links.mbox.SetRunner(r)
	}
}

// stopGuard answers the requests that a session cannot: protoactor drops
// the messages an actor gets once it has stopped. A request posted once the
// session is stopping is answered as it is posted, on the sender's
// goroutine; one that the mailbox hands to the stopped actor (queued
// behind the stop, or posted as it came) is answered as it is dropped. A
// request posted just as the session starts to stop may be answered twice
// (here and by the session, or here twice); never not at all. With the
// actor system's dead letters for a session that is gone, this is why
// whoever waits for a session's answer needs nothing else to wait on.
type stopGuard struct {
	info     *Info
	root     atomic.Pointer[actor.RootContext]
	stopping atomic.Bool // the session is closing (closeNow) or stopping
	stopped  atomic.Bool // the actor is stopping or stopped: it handles no more messages
}

func (g *stopGuard) MailboxStarted() {}
func (g *stopGuard) MessagePosted(m any) {
	if g.stopping.Load() {
		g.answer(m)
	}
}

// MessageReceived runs after the mailbox has handed m to the actor.
func (g *stopGuard) MessageReceived(m any) {
	if g.stopped.Load() {
		g.answer(m)
	}
}
func (g *stopGuard) MailboxEmpty() {}

// answer tells the sender of m, if it is a request, that the session is
// closed: a poll as the session does once closed, so that its answer is
// routed (reply.Routed), any other request with *SessionClosed.
func (g *stopGuard) answer(m any) {
	env, ok := m.(*actor.MessageEnvelope)
	if !ok || env.Sender == nil {
		return
	}
	if root := g.root.Load(); root != nil {
		answerClosed(root, env.Sender, g.info.SID, env.Message)
	}
}

// answerClosed tells sender, which asked msg of the session sid, that the
// session has closed.
func answerClosed(root *actor.RootContext, sender *actor.PID, sid string, msg any) {
	if poll, ok := msg.(*Poll); ok {
		root.Send(sender, pollFailure(unknownSID(), poll))
		return
	}
	root.Send(sender, &SessionClosed{SID: sid})
}

func (s *session) stopping(ctx actor.Context) {
	if g := s.links.guard; g != nil {
		g.root.Store(ctx.ActorSystem().Root)
		g.stopping.Store(true)
	}
}

// stopped tells the guard that the actor handles no more messages: it
// runs in *actor.Stopping, after which protoactor stops the actor within
// the same system message. The mailbox is resumed: a session stopped after
// a panic has it suspended, and what is queued must reach the guard.
func (s *session) stopped() {
	if g := s.links.guard; g != nil {
		g.stopped.Store(true)
	}
	if s.links.mbox != nil {
		s.links.mbox.PostSystemMessage(resumeMailbox)
	}
}

// resumeMailbox is the system message that lifts a mailbox's suspension.
var resumeMailbox = &actor.ResumeMailbox{}

type phase uint8

const (
	phaseOpening phase = iota // Connect not run yet
	phaseOpen
	phaseClosing // close packet queued, waiting to deliver it
	phaseClosed
)

type session struct {
	cfg            *Config
	info           *Info
	links          *sessionLinks // the mailbox and its stop guard
	handshakeReply *actor.PID
	state          any // from Events.Connect

	transport   Transport
	phase       phase
	upgrading   bool       // the probe was answered; waiting for "5"
	parkedB64   bool       // the parked poll asked for binary as base64 (v3)
	busy        bool       // the last poll answered with packets carried a message
	conn        *actor.PID // the active WebSocket's writer
	probe       *actor.PID // a WebSocket being probed for an upgrade
	probeRunner *mailbox.Runner
	parked      *actor.PID // the reply target of a parked long-poll
	parkedID    uint64     // the parked poll's ID (Poll.ID)
	lastPoll    *actor.PID // the reply target of the last poll answered with packets
	lastPollID  uint64     // and its ID

	postPackets, postHeartbeats int        // of the POST being dispatched
	posting                     *actor.PID // the reply target of the POST in progress

	outbox      []protocol.Packet
	outboxBytes int
	flushIn     int               // flush at the latest after this many more messages (flushOwed)
	batch       *WriteFrames      // reused: one batch is in flight at a time
	spare       []protocol.Packet // the slice of the last batch, for the next outbox
	localSpare  []localOp         // the local queue's other slice (see takeLocal)

	queueChanged bool // since the queue's size was last published (publishQueue)
	flushOwed    bool // packets were queued: flush when the mailbox empties
	writing      bool // a WriteFrames batch is with the writer
	drainOwed    bool // packets were queued since the last Drain
	lookingLocal bool // take the local queue at the end of this message
	connected    bool // Connect succeeded: Disconnect is owed
	awaitingPong bool

	subscribers []*actor.PID

	timerGen [4]uint32 // of the armed timers: a timerFired of an older one is stale
	timers   [4]Timer
	// freeTimer is an entry of the timer heap that is done with, for the
	// next arm of this message: the ping's entry becomes the pong
	// timeout's, and the pong timeout's the next ping's. Receive drops
	// it, so that an idle session keeps only its armed entry.
	freeTimer *timerEntry

	reason  Reason // why the session closes; set once
	failure any    // a panic value from the actor itself
}

func (s *session) Receive(ctx actor.Context) {
	defer s.catchPanic(ctx)
	if s.flushOwed {
		s.flushIn--
	}
	s.receive(ctx)
	if s.lookingLocal {
		s.takeLocal(ctx)
	}
	if s.flushOwed && s.phase != phaseClosed && (s.flushIn <= 0 || s.links.mbox.UserMessageCount() == 0) {
		// What the messages in the mailbox queue leaves together, as one
		// poll response or one batch for the writer: once the mailbox is
		// empty, and at the latest after the messages that were waiting
		// when the first packet was queued, however many keep coming.
		s.flushOwed = false
		s.flush(ctx)
	}
	if s.queueChanged && s.phase != phaseClosed {
		s.publishQueue()
	}
	s.freeTimer = nil
	if s.phase == phaseClosed {
		// Only now: the replies to this message have been sent, and
		// whoever sees Done finds them sent.
		s.markDone()
	}
}

func (s *session) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.open(ctx)
	case *Poll:
		s.onPoll(ctx, m)
	case *PollAbandoned:
		// The poll may have been answered just as its client went away:
		// then what it carried is lost, and the session must not go on as
		// if it had been delivered.
		if (s.parked != nil && s.parkedID == m.Poll && s.parked.Equal(m.ReplyTo)) || (s.lastPoll != nil && s.lastPollID == m.Poll && s.lastPoll.Equal(m.ReplyTo)) {
			s.parked = nil
			s.closeNow(ctx, ReasonTransportError)
		}
	case *PostBegin:
		s.onPostBegin(ctx)
	case *Post:
		s.onPost(ctx, m)
	case *PostAborted:
		if s.posting != nil && s.posting.Equal(ctx.Sender()) {
			s.posting = nil
			s.closeNow(ctx, m.Reason)
		}
	case *WebSocketOpened:
		s.onWebSocketOpened(ctx, m)
	case *Frame:
		s.onFrame(ctx, m)
	case *WebSocketClosed:
		s.onWebSocketClosed(ctx, m)
	case *Send:
		s.onSend(ctx, m.Packet, ctx.Sender() != nil)
	case *Written:
		from := m.Conn
		if from == nil {
			from = ctx.Sender()
		}
		if s.conn != nil && s.conn.Equal(from) && s.writing {
			s.batchWritten()
			s.flush(ctx)
		}
	case *Close:
		s.onClose(ctx, m)
	case *takeLocal:
		s.takeLocal(ctx)
	case *timerFired:
		s.onTimer(ctx, m)
	case *GetInfo:
		ctx.Respond(&SessionInfo{
			SID: s.info.SID, Transport: s.transport.String(), Revision: s.info.Revision,
			RemoteAddr: s.info.RemoteAddr, QueuedPackets: len(s.outbox), QueuedBytes: s.outboxBytes,
		})
	case *Subscribe:
		s.onSubscribe(ctx, m)
	case *Unsubscribe:
		s.removeSubscriber(ctx, m.Subscriber, true)
	case *actor.Terminated:
		s.removeSubscriber(ctx, m.Who, false)
	case *actor.Stopping:
		s.cleanUp(ctx)
	case *actor.Stopped, *actor.Restarting:
	default:
		// Documented: unknown messages are logged and, for a request,
		// answered with *Unhandled.
		typ := fmt.Sprintf("%T", m)
		s.cfg.Logger.Debug("engineio: session got an unknown message", "sid", s.info.SID, "type", typ)
		if ctx.Sender() != nil {
			ctx.Respond(&Unhandled{Type: typ})
		}
	}
}

// onClose closes the session gracefully as m asks.
func (s *session) onClose(ctx actor.Context, m *Close) {
	reason := m.Reason
	if reason == "" {
		reason = ReasonServerClose
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = s.cfg.CloseTimeout
	}
	if m.Final != nil && s.phase <= phaseOpen {
		s.outbox = append(s.outbox, *m.Final)
		s.outboxBytes += len(m.Final.Data)
	}
	s.closeGracefully(ctx, reason, timeout)
}

// onSend queues p; with reply, the sender of the current message gets the
// answer of a Send request.
func (s *session) onSend(ctx actor.Context, p protocol.Packet, reply bool) {
	if s.phase > phaseOpen {
		if reply {
			ctx.Respond(&SessionClosed{SID: s.info.SID, Reason: s.reason})
		}
		return
	}
	size := len(p.Data)
	if s.overLimit(1, size) {
		switch s.cfg.Overflow {
		case OverflowReject:
			if reply {
				ctx.Respond(&QueueFull{SID: s.info.SID})
			}
			s.cfg.Logger.Debug("engineio: send rejected, queue full", "sid", s.info.SID)
			return
		case OverflowDropOldest:
			for len(s.outbox) > 0 && s.overLimit(1, size) {
				s.outboxBytes -= len(s.outbox[0].Data)
				s.outbox[0] = protocol.Packet{}
				s.outbox = s.outbox[1:]
			}
			if s.overLimit(1, size) { // larger than the whole queue
				if reply {
					ctx.Respond(&QueueFull{SID: s.info.SID})
				}
				s.queueChanged = true
				return
			}
		default:
			if reply {
				ctx.Respond(&SessionClosed{SID: s.info.SID, Reason: ReasonBackpressure})
			}
			s.closeNow(ctx, ReasonBackpressure)
			return
		}
	}
	s.enqueue(p)
	if reply {
		ctx.Respond(&Sent{})
	}
}

// overLimit reports whether n more packets of size bytes would exceed the
// queue limits.
func (s *session) overLimit(n, size int) bool {
	return (s.cfg.MaxQueuedPackets > 0 && len(s.outbox)+n > s.cfg.MaxQueuedPackets) ||
		(s.cfg.MaxQueuedBytes > 0 && s.outboxBytes+size > s.cfg.MaxQueuedBytes)
}

// publishQueue publishes the queue's size, for Info.Queued and the
// metrics, once a message is handled: a packet that comes and goes within
// one message (an echo's answer, written at once) changes nothing there.
// Only the session writes the figures.
func (s *session) publishQueue() {
	s.queueChanged = false
	packets, bytes := int64(len(s.outbox)), int64(s.outboxBytes)
	oldPackets, oldBytes := s.info.queuedPackets.Load(), s.info.queuedBytes.Load()
	if packets == oldPackets && bytes == oldBytes {
		return
	}
	s.info.queuedPackets.Store(packets)
	s.info.queuedBytes.Store(bytes)
	s.metrics().QueueChanged(int(packets-oldPackets), int(bytes-oldBytes))
}

func (s *session) metrics() metrics.Recorder {
	if s.cfg.Metrics == nil {
		return metrics.Nop{}
	}
	return s.cfg.Metrics
}

func (s *session) onSubscribe(ctx actor.Context, m *Subscribe) {
	if m.Subscriber == nil {
		if ctx.Sender() != nil {
			ctx.Respond(&Unhandled{Type: "*actors.Subscribe without a subscriber"})
		}
		return
	}
	if s.phase == phaseClosed {
		if ctx.Sender() != nil {
			ctx.Respond(&SessionClosed{SID: s.info.SID, Reason: s.reason})
		}
		return
	}
	for _, p := range s.subscribers {
		if p.Equal(m.Subscriber) {
			if ctx.Sender() != nil {
				ctx.Respond(&Subscribed{SID: s.info.SID})
			}
			return
		}
	}
	s.subscribers = append(s.subscribers, m.Subscriber)
	ctx.Watch(m.Subscriber)
	if s.writing && !s.batch.await() {
		// The batch in flight was not to be answered; the subscriber
		// learns when it drains all the same.
		s.batchWritten()
		s.maybeDrained(ctx)
	}
	if ctx.Sender() != nil {
		ctx.Respond(&Subscribed{SID: s.info.SID})
	}
}

func (s *session) removeSubscriber(ctx actor.Context, pid *actor.PID, unwatch bool) {
	for i, p := range s.subscribers {
		if p.Equal(pid) {
			s.subscribers = append(s.subscribers[:i], s.subscribers[i+1:]...)
			if unwatch {
				ctx.Unwatch(pid)
			}
			return
		}
	}
}

// publish sends an event to every subscriber.
func (s *session) publish(ctx actor.Context, event any) {
	for _, p := range s.subscribers {
		ctx.Send(p, event)
	}
}

// catchPanic logs a panic of the actor's own code with its stack and lets
// it go on to the supervisor, whose Stop directive then runs cleanUp.
func (s *session) catchPanic(ctx actor.Context) {
	if r := recover(); r != nil {
		s.failure = r
		s.cfg.Logger.Error("engineio: session panic", "sid", s.info.SID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		// The supervisor stops the session: a request it was handling
		// gets its answer now (perhaps a second one).
		if sender := ctx.Sender(); sender != nil {
			answerClosed(ctx.ActorSystem().Root, sender, s.info.SID, ctx.Message())
		}
		panic(r)
	}
}

// call runs an application handler and turns a panic into a closed session.
func (s *session) call(ctx actor.Context, f func()) (panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			s.cfg.Logger.Error("engineio: handler panic", "sid", s.info.SID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			s.closeNow(ctx, ReasonHandlerPanic)
		}
	}()
	s.lookLocal()
	f()
	return false
}

func (s *session) open(ctx actor.Context) {
	// The handshake request lent its goroutine for this run only.
	s.useRunner(nil)
	var err error
	if s.call(ctx, func() { s.state, err = s.cfg.Events.Connect(s.info) }) {
		ctx.Send(s.handshakeReply, &Failure{Status: http.StatusInternalServerError, Code: protocol.CodeBadRequest, Message: string(ReasonHandlerPanic)})
		s.handshakeReply = nil
		return
	}
	if err != nil {
		ctx.Send(s.handshakeReply, &Failure{Status: http.StatusForbidden, Code: protocol.CodeForbidden, Message: err.Error()})
		s.handshakeReply = nil
		s.closeNow(ctx, ReasonServerClose)
		return
	}
	s.phase = phaseOpen
	s.connected = true
	s.metrics().SessionOpened(s.transport.String())
	hs := protocol.Handshake{
		SID:          s.info.SID,
		Upgrades:     []string{},
		PingInterval: s.cfg.PingInterval,
		PingTimeout:  s.cfg.PingTimeout,
		MaxPayload:   s.cfg.MaxPayload,
	}
	if s.transport == TransportPolling {
		hs.Upgrades = s.cfg.Upgrades
	}
	var open []byte
	if s.info.Revision == protocol.V3 {
		open = protocol.AppendOpenV3(nil, hs)
	} else {
		open = protocol.AppendOpen(nil, hs)
	}
	openPkt := protocol.Packet{Type: protocol.Open, Data: open[1:]}
	if s.transport == TransportPolling {
		payload, _ := s.encodePayload([]protocol.Packet{openPkt}, true)
		ctx.Send(s.handshakeReply, &Opened{SID: s.info.SID, Payload: payload})
	} else {
		// The open packet is the first frame of the WebSocket, sent by
		// the HTTP layer with the upgrade's response.
		s.metrics().PacketsOut(s.transport.String(), 1, len(openPkt.Data))
		ctx.Send(s.handshakeReply, &Opened{SID: s.info.SID, Open: openPkt})
	}
	s.handshakeReply = nil
	if p := s.cfg.InitialPacket; p != nil {
		s.enqueue(*p)
	}
	if s.info.Revision == protocol.V3 {
		// v3: the client pings; silence for interval+timeout closes.
		s.arm(ctx, timerPong, s.cfg.PingInterval+s.cfg.PingTimeout)
	} else {
		s.arm(ctx, timerPing, s.cfg.PingInterval)
	}
}

// encodePayload encodes packets as a polling response body for this
// session's revision. A v3 client that did not ask for base64 gets binary
// packets in the binary payload form; binary reports that form.
func (s *session) encodePayload(pkts []protocol.Packet, base64 bool) (payload []byte, binary bool) {
	if s.info.Revision != protocol.V3 {
		return protocol.AppendPayload(nil, pkts), false
	}
	if !base64 {
		for _, p := range pkts {
			if p.Binary {
				return protocol.AppendBinaryPayloadV3(nil, pkts), true
			}
		}
	}
	return protocol.AppendPayloadV3(nil, pkts), false
}

// pollResult encodes one packet for the poll being answered, whose ID is id.
func (s *session) pollResult(t protocol.PacketType, base64 bool, id uint64) *PollResult {
	payload, binary := s.encodePayload([]protocol.Packet{{Type: t}}, base64)
	return &PollResult{Payload: payload, Binary: binary, Poll: id}
}

func (s *session) onPoll(ctx actor.Context, m *Poll) {
	switch {
	case s.phase == phaseClosed:
		ctx.Respond(pollFailure(unknownSID(), m))
	case s.transport != TransportPolling:
		ctx.Respond(pollFailure(badRequest(), m))
	case s.parked != nil:
		ctx.Respond(pollFailure(badRequest(), m))
		s.closeNow(ctx, ReasonTransportError)
	case s.upgrading:
		// The client is about to move to the WebSocket: release it.
		ctx.Respond(s.pollResult(protocol.Noop, m.Base64, m.ID))
	default:
		s.parked, s.parkedID, s.parkedB64 = ctx.Sender(), m.ID, m.Base64
		s.flush(ctx)
		if s.parked != nil && m.Holdable && !s.busy {
			ctx.Send(s.parked, &PollWaiting{Poll: m.ID})
		}
	}
}

// pollFailure makes f the answer to the poll m.
func pollFailure(f *Failure, m *Poll) *Failure {
	f.Poll = m.ID
	return f
}

func (s *session) onPostBegin(ctx actor.Context) {
	switch {
	case s.phase == phaseClosed:
		ctx.Respond(unknownSID())
	case s.transport != TransportPolling:
		ctx.Respond(badRequest())
	case s.posting != nil:
		ctx.Respond(badRequest())
		s.closeNow(ctx, ReasonTransportError)
	default:
		s.posting = ctx.Sender()
		ctx.Respond(&PostReady{})
	}
}

func (s *session) onPost(ctx actor.Context, m *Post) {
	if s.phase == phaseClosed {
		ctx.Respond(unknownSID())
		return
	}
	if s.posting == nil || !s.posting.Equal(ctx.Sender()) {
		ctx.Respond(badRequest())
		return
	}
	s.posting = nil
	if m.Binary && s.info.Revision != protocol.V3 {
		// A v4 payload is text; binary bodies belong to protocol 3.
		ctx.Respond(badRequest())
		s.closeNow(ctx, ReasonTransportError)
		return
	}
	s.postPackets, s.postHeartbeats = 0, 0
	dispatch := func(p protocol.Packet) error {
		s.countPosted(p.Type)
		if s.phase != phaseClosed {
			s.onPacket(ctx, p)
		}
		return nil
	}
	var err error
	switch {
	case s.info.Revision != protocol.V3:
		err = protocol.DecodePayload(m.Payload, dispatch)
	case m.Binary:
		err = protocol.DecodeBinaryPayloadV3(m.Payload, dispatch)
	default:
		err = protocol.DecodePayloadV3(m.Payload, dispatch)
	}
	if err != nil {
		ctx.Respond(badRequest())
		s.closeNow(ctx, ReasonParseError)
		return
	}
	ctx.Respond(&PostResult{Heartbeat: s.postPackets > 0 && s.postHeartbeats == s.postPackets})
}

// countPosted counts a packet of the POST being dispatched, and whether it
// is a heartbeat (a pong; a ping in protocol 3, where the client pings).
func (s *session) countPosted(t protocol.PacketType) {
	s.postPackets++
	if t == protocol.Pong || (t == protocol.Ping && s.info.Revision == protocol.V3) {
		s.postHeartbeats++
	}
}

// onPacket handles a packet that came over the active transport.
func (s *session) onPacket(ctx actor.Context, p protocol.Packet) {
	s.metrics().PacketsIn(s.transport.String(), 1, len(p.Data))
	switch p.Type {
	case protocol.Message:
		if len(s.subscribers) > 0 {
			s.publish(ctx, &MessageReceived{SID: s.info.SID, Packet: p})
		}
		s.call(ctx, func() { s.cfg.Events.Message(s.state, p) })
	case protocol.Ping:
		if s.info.Revision != protocol.V3 {
			// In v4 only the server pings (outside an upgrade probe);
			// the reference server treats this as a transport error too.
			s.closeNow(ctx, ReasonTransportError)
			return
		}
		s.enqueue(protocol.Packet{Type: protocol.Pong, Data: p.Data})
		s.arm(ctx, timerPong, s.cfg.PingInterval+s.cfg.PingTimeout)
	case protocol.Pong:
		if s.info.Revision == protocol.V3 {
			// v3 clients ping, they never pong.
			s.closeNow(ctx, ReasonTransportError)
			return
		}
		if s.awaitingPong {
			s.awaitingPong = false
			s.disarm(timerPong)
			s.arm(ctx, timerPing, s.cfg.PingInterval)
		}
	case protocol.Close:
		s.closeNow(ctx, ReasonClientClose)
	default:
		// A client never sends open, upgrade or noop on an established
		// transport.
		s.closeNow(ctx, ReasonParseError)
	}
}

func (s *session) onWebSocketOpened(ctx actor.Context, m *WebSocketOpened) {
	conn := m.Conn
	switch {
	case s.phase == phaseClosed:
		ctx.Send(conn, &CloseConn{})
	case m.Handshake && s.transport == TransportWebSocket && s.conn == nil:
		// The session's own WebSocket, whose client has its open packet
		// already (see Opened). A session closing meanwhile delivers
		// its queue and the close packet over it, then closes.
		s.conn = conn
		s.useRunner(m.Runner)
		s.flush(ctx)
	case s.phase == phaseClosing:
		ctx.Send(conn, &CloseConn{})
	case s.transport == TransportWebSocket, s.probe != nil, len(s.cfg.Upgrades) == 0:
		// One WebSocket per session: a second one is turned away and the
		// first keeps working.
		ctx.Send(conn, &CloseConn{})
	default:
		s.probe, s.probeRunner = conn, m.Runner
		s.arm(ctx, timerUpgrade, s.cfg.UpgradeTimeout)
	}
}

func (s *session) onFrame(ctx actor.Context, m *Frame) {
	switch {
	case s.phase == phaseClosed:
	case s.conn != nil && m.Conn.Equal(s.conn):
		if m.Err != nil {
			if errors.Is(m.Err, ErrTextNotUTF8) {
				// Failed with its own status, before the close below.
				ctx.Send(s.conn, &CloseConn{Abort: true, Code: closeInvalidData})
				s.conn = nil
			}
			s.closeNow(ctx, ReasonParseError)
			return
		}
		s.onPacket(ctx, m.Packet)
	case s.probe != nil && m.Conn.Equal(s.probe):
		s.onProbeFrame(ctx, m)
	default:
		ctx.Send(m.Conn, &CloseConn{})
	}
}

var probeData = []byte("probe")

func (s *session) onProbeFrame(ctx actor.Context, m *Frame) {
	p := m.Packet
	switch {
	case m.Err == nil && !s.upgrading && p.Type == protocol.Ping && bytes.Equal(p.Data, probeData):
		ctx.Send(s.probe, &WriteFrames{Packets: []protocol.Packet{{Type: protocol.Pong, Data: probeData}}})
		s.upgrading = true
		s.releaseParkedPoll(ctx)
	case m.Err == nil && s.upgrading && p.Type == protocol.Upgrade:
		s.disarm(timerUpgrade)
		s.releaseParkedPoll(ctx)
		s.transport, s.conn, s.probe, s.upgrading = TransportWebSocket, s.probe, nil, false
		s.useRunner(s.probeRunner)
		s.probeRunner = nil
		s.info.transport.Store(uint32(TransportWebSocket))
		s.metrics().SessionUpgraded()
		s.publish(ctx, &Upgraded{SID: s.info.SID})
		s.flush(ctx)
	default:
		s.abortUpgrade(ctx)
	}
}

func (s *session) onWebSocketClosed(ctx actor.Context, m *WebSocketClosed) {
	switch {
	case s.conn != nil && m.Conn.Equal(s.conn):
		s.conn = nil
		s.closeNow(ctx, m.Reason)
	case s.probe != nil && m.Conn.Equal(s.probe):
		s.probe, s.probeRunner, s.upgrading = nil, nil, false
		s.disarm(timerUpgrade)
		s.metrics().UpgradeFailed()
	}
}

func (s *session) abortUpgrade(ctx actor.Context) {
	if s.probe != nil {
		ctx.Send(s.probe, &CloseConn{})
		s.metrics().UpgradeFailed()
	}
	s.probe, s.probeRunner, s.upgrading = nil, nil, false
	s.disarm(timerUpgrade)
}

func (s *session) releaseParkedPoll(ctx actor.Context) {
	if s.parked != nil {
		ctx.Send(s.parked, s.pollResult(protocol.Noop, s.parkedB64, s.parkedID))
		s.parked = nil
	}
}

func (s *session) onTimer(ctx actor.Context, m *timerFired) {
	if m.gen != s.timerGen[m.kind] || s.phase == phaseClosed {
		return // stale
	}
	// Its entry has fired and its message is here: nothing else uses it.
	s.freeTimer, _ = s.timers[m.kind].(*timerEntry)
	s.timers[m.kind] = nil
	switch m.kind {
	case timerPing:
		s.enqueue(protocol.Packet{Type: protocol.Ping})
		s.awaitingPong = true
		s.arm(ctx, timerPong, s.cfg.PingTimeout)
	case timerPong:
		s.closeNow(ctx, ReasonPingTimeout)
	case timerUpgrade:
		s.abortUpgrade(ctx)
	case timerClose:
		s.closeNow(ctx, s.reason)
	}
}

// enqueue queues a packet; Receive flushes it (see there).
func (s *session) enqueue(p protocol.Packet) {
	s.outbox = append(s.outbox, p)
	s.outboxBytes += len(p.Data)
	s.drainOwed = true
	s.queueChanged = true
	if !s.flushOwed {
		s.flushOwed, s.flushIn = true, s.links.mbox.UserMessageCount()
	}
}

// flush hands the queued packets to the transport if it can take them.
//
// A WebSocket writer gets one batch at a time and answers *Written; packets
// sent meanwhile wait here, where the queue limits apply, and leave
// together as the next batch.
func (s *session) flush(ctx actor.Context) {
	if len(s.outbox) == 0 {
		s.maybeDrained(ctx)
		return
	}
	switch {
	case s.transport == TransportWebSocket && s.conn != nil:
		if s.writing {
			if s.batch.await() {
				return
			}
			s.batchWritten()
		}
		s.metrics().PacketsOut(s.transport.String(), len(s.outbox), s.outboxBytes)
		if s.batch == nil {
			s.batch = &WriteFrames{Session: ctx.Self()}
		}
		s.batch.Packets = s.outbox
		// Whoever waits for the queue to drain learns it once the writer
		// answers; otherwise the next flush finds the batch finished.
		st := batchSent
		if s.drainWatched() {
			st = batchAwaited
		}
		s.batch.state.Store(st)
		ctx.Send(s.conn, s.batch)
		s.writing = true
		s.outbox, s.spare = s.spare, nil
	case s.transport == TransportPolling && s.parked != nil && !s.upgrading:
		s.metrics().PacketsOut(s.transport.String(), len(s.outbox), s.outboxBytes)
		payload, binary := s.encodePayload(s.outbox, s.parkedB64)
		ctx.Send(s.parked, &PollResult{Payload: payload, Binary: binary, Poll: s.parkedID})
		s.lastPoll, s.lastPollID, s.parked = s.parked, s.parkedID, nil
		s.busy = carriesMessage(s.outbox)
		if s.busy {
			clear(s.outbox)
			s.outbox = s.outbox[:0]
		} else {
			// Only a heartbeat: a quiet session keeps no array until its
			// next one.
			s.outbox = nil
		}
	default:
		return
	}
	s.outboxBytes = 0
	s.queueChanged = true
	if s.phase == phaseClosing {
		s.finishClosing(ctx)
		return
	}
	s.maybeDrained(ctx)
}

// batchWritten takes back the batch the writer is done with: its slice
// becomes the spare for the next one.
func (s *session) batchWritten() {
	s.writing = false
	if s.batch != nil {
		clear(s.batch.Packets)
		s.spare = s.batch.Packets[:0]
	}
}

// drainWatched reports whether anyone learns when the queue drains.
func (s *session) drainWatched() bool {
	return len(s.subscribers) > 0 || s.cfg.Events.WantDrain()
}

// carriesMessage reports whether packets hold a message, not only
// heartbeats and the like.
func carriesMessage(packets []protocol.Packet) bool {
	for _, p := range packets {
		if p.Type == protocol.Message {
			return true
		}
	}
	return false
}

// maybeDrained reports an empty queue once after packets were queued.
func (s *session) maybeDrained(ctx actor.Context) {
	if !s.drainOwed || s.writing || len(s.outbox) > 0 || s.phase != phaseOpen {
		return
	}
	s.drainOwed = false
	if len(s.subscribers) > 0 {
		s.publish(ctx, &Drained{SID: s.info.SID})
	}
	if s.cfg.Events.WantDrain() {
		s.call(ctx, func() { s.cfg.Events.Drain(s.state) })
	}
}

// closeGracefully queues a close packet behind what is queued, and closes
// once it is delivered (or after timeout).
func (s *session) closeGracefully(ctx actor.Context, reason Reason, timeout time.Duration) {
	if s.phase >= phaseClosing {
		return
	}
	if s.phase == phaseOpening {
		s.closeNow(ctx, reason)
		return
	}
	s.phase = phaseClosing
	s.reason = reason
	s.abortUpgrade(ctx)
	s.disarm(timerPing)
	s.disarm(timerPong)
	s.outbox = append(s.outbox, protocol.Packet{Type: protocol.Close})
	s.arm(ctx, timerClose, timeout)
	s.flush(ctx)
}

// finishClosing runs once the close packet has left.
func (s *session) finishClosing(ctx actor.Context) {
	if len(s.outbox) > 0 {
		return
	}
	if s.conn != nil {
		ctx.Send(s.conn, &CloseConn{})
		s.conn = nil
	}
	s.closeNow(ctx, s.reason)
}

// closeNow ends the session at once. Once the current message is handled,
// Done is closed; a poison pill stops the actor behind the messages already
// queued: those are answered from the closed state, and those sent later
// by the stop guard. cleanUp then releases what the session holds.
func (s *session) closeNow(ctx actor.Context, reason Reason) {
	if s.phase == phaseClosed {
		return
	}
	if s.reason == "" || s.phase != phaseClosing {
		s.reason = reason
	}
	s.phase = phaseClosed
	s.release(ctx, s.reason)
	s.stopping(ctx)
	ctx.Poison(ctx.Self())
}

func (s *session) markDone() { s.info.markClosed() }

// cleanUp runs in *actor.Stopping, whatever stopped the session: a close,
// a panic (the supervisor's Stop directive) or a server shutdown.
// release answers every request the session still owes and lets go of its
// timers and transports. It runs before Done is closed.
func (s *session) release(ctx actor.Context, reason Reason) {
	for k := range s.timers {
		s.disarm(timerKind(k))
	}
	if s.handshakeReply != nil {
		ctx.Send(s.handshakeReply, &Failure{Status: http.StatusServiceUnavailable, Code: protocol.CodeBadRequest, Message: string(reason)})
		s.handshakeReply = nil
	}
	if s.parked != nil {
		// A client close is acknowledged with a noop; any other close tells
		// the client with a close packet.
		last := protocol.Close
		if reason == ReasonClientClose {
			last = protocol.Noop
		}
		ctx.Send(s.parked, s.pollResult(last, s.parkedB64, s.parkedID))
		s.parked = nil
	}
	if s.posting != nil {
		ctx.Send(s.posting, unknownSID())
		s.posting = nil
	}
	for _, c := range []*actor.PID{s.conn, s.probe} {
		if c != nil {
			// Not a graceful close: don't wait behind a blocked write.
			ctx.Send(c, &CloseConn{Abort: true})
		}
	}
	s.conn, s.probe, s.probeRunner = nil, nil, nil
}

func (s *session) cleanUp(ctx actor.Context) {
	reason := s.reason
	switch {
	case s.failure != nil:
		reason = ReasonInternalError
	case reason == "":
		reason = ReasonServerShutdown
	}
	s.phase = phaseClosed
	s.stopping(ctx)
	s.stopped()
	s.closeLocal()
	s.release(ctx, reason)
	s.markDone()
	s.publish(ctx, &Disconnected{SID: s.info.SID, Reason: reason})
	s.subscribers = nil
	if s.connected {
		s.metrics().SessionClosed(s.transport.String(), string(reason))
		s.metrics().QueueChanged(-int(s.info.queuedPackets.Load()), -int(s.info.queuedBytes.Load()))
		s.connected = false
		s.call(ctx, func() { s.cfg.Events.Disconnect(s.state, reason) })
	}
	s.cfg.Logger.Debug("engineio: session closed", "sid", s.info.SID, "reason", string(reason))
}

func (s *session) arm(ctx actor.Context, kind timerKind, d time.Duration) {
	s.disarm(kind)
	s.timerGen[kind]++
	msg := &timerFired{kind: kind, gen: s.timerGen[kind]}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	if _, real := s.cfg.Clock.(RealClock); real {
		e := s.freeTimer
		s.freeTimer = nil
		s.timers[kind] = sendAfter(e, d, root, self, msg)
		return
	}
	s.timers[kind] = s.cfg.Clock.AfterFunc(d, func() { root.Send(self, msg) })
}

func (s *session) disarm(kind timerKind) {
	if t := s.timers[kind]; t != nil {
		if t.Stop() {
			// Removed before it fired: the heap no longer calls it.
			s.freeTimer, _ = t.(*timerEntry)
		}
		s.timers[kind] = nil
	}
	s.timerGen[kind]++
}

func unknownSID() *Failure {
	return &Failure{Status: http.StatusBadRequest, Code: protocol.CodeUnknownSID, Message: protocol.CodeUnknownSID.Message()}
}

func badRequest() *Failure {
	return &Failure{Status: http.StatusBadRequest, Code: protocol.CodeBadRequest, Message: protocol.CodeBadRequest.Message()}
}

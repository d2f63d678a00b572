// Package supervisor holds the parent actor of all sessions of one server:
// it spawns sessions at the handshake, keeps the sid registry, applies the
// failure policy (a failed session is stopped, never restarted) and runs the
// shutdown. It is never on the per-message path: requests reach a session
// through the registry, directly.
package supervisor

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/protocol"
)

// Config configures a supervisor.
type Config struct {
	// Session is the configuration shared by every session.
	Session *actors.Config
	// NewSID makes a session id; nil means NewSID.
	NewSID func() (string, error)
	// Logger gets the supervisor's log lines.
	Logger *slog.Logger
}

// NewSID returns a random session id: 15 bytes (120 bits) from crypto/rand,
// base64url-encoded to 20 characters. The bytes are read from crypto/rand
// for many ids at a time: a read's deep call chain on the handshake's
// goroutine grew its stack, a copy of the whole stack, at most handshakes.
func NewSID() (string, error) {
	var b [sidBytes]byte
	if err := sidPool.read(b[:]); err != nil {
		return "", fmt.Errorf("engineio: session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

const sidBytes = 15

// sidPool hands out bytes of crypto/rand, read 64 session ids at a time.
// A byte is handed out once, then cleared.
var sidPool randomPool

type randomPool struct {
	mu   sync.Mutex
	buf  [64 * sidBytes]byte
	next int // the first byte not handed out; 0 before the first read
}

func (p *randomPool) read(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next == 0 || p.next+len(b) > len(p.buf) {
		if _, err := rand.Read(p.buf[:]); err != nil {
			return err
		}
		p.next = 0
	}
	p.next += copy(b, p.buf[p.next:])
	clear(p.buf[p.next-len(b) : p.next])
	return nil
}

// Registry maps session ids to sessions. The supervisor writes it; anyone
// may read it from any goroutine without passing through an actor. Its
// zero value is empty and ready.
//
// It is a map per shard under a read-write lock rather than a sync.Map: an
// entry costs its map slot (some 40 bytes) where a sync.Map's costs about
// 100 plus the boxed key, for every session for its whole life.
type Registry struct {
	shards [registryShards]registryShard
	count  atomic.Int64
}

const registryShards = 64

type registryShard struct {
	mu       sync.RWMutex
	sessions map[string]*actors.Info
	_        [32]byte // to 64 bytes: shards do not share a cache line
}

var registrySeed = maphash.MakeSeed()

func (r *Registry) shard(sid string) *registryShard {
	return &r.shards[maphash.String(registrySeed, sid)%registryShards]
}

// Lookup returns the session with the given id.
func (r *Registry) Lookup(sid string) (*actors.Info, bool) {
	sh := r.shard(sid)
	sh.mu.RLock()
	info, ok := sh.sessions[sid]
	sh.mu.RUnlock()
	return info, ok
}

// Len returns the number of sessions.
func (r *Registry) Len() int { return int(r.count.Load()) }

// Range calls fn for each session until fn returns false. It sees each
// session present for the whole call once; a session added or removed
// meanwhile may be seen or not. fn may use the registry.
func (r *Registry) Range(fn func(*actors.Info) bool) {
	var infos []*actors.Info
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		infos = infos[:0]
		for _, info := range sh.sessions {
			infos = append(infos, info)
		}
		sh.mu.RUnlock()
		for _, info := range infos {
			if !fn(info) {
				return
			}
		}
	}
}

func (r *Registry) add(info *actors.Info) {
	sh := r.shard(info.SID)
	sh.mu.Lock()
	if sh.sessions == nil {
		sh.sessions = make(map[string]*actors.Info)
	}
	if _, ok := sh.sessions[info.SID]; !ok {
		r.count.Add(1)
	}
	sh.sessions[info.SID] = info
	sh.mu.Unlock()
}

func (r *Registry) remove(sid string) {
	sh := r.shard(sid)
	sh.mu.Lock()
	if _, ok := sh.sessions[sid]; ok {
		delete(sh.sessions, sid)
		r.count.Add(-1)
	}
	sh.mu.Unlock()
}

// Open asks for a new session. The reply target (the envelope's sender) gets
// the session's handshake answer, *actors.Opened or *actors.Failure.
type Open struct {
	Revision   protocol.Revision
	Transport  actors.Transport
	Header     http.Header // the handshake's; read, not kept (actors.NewInfo copies it)
	RawQuery   string      // the handshake's query, encoded
	RemoteAddr string
	// The waiting request's goroutine, lent to the supervisor and the new
	// session for the handshake.
	mailbox.Lending
}

// CloseAll closes every session gracefully with Reason (see actors.Close).
type CloseAll struct {
	Reason  actors.Reason
	Timeout time.Duration
}

// Shutdown refuses new sessions, closes every session gracefully with
// actors.ReasonServerShutdown and answers *ShutdownComplete to the sender once
// the last one has stopped. Grace bounds how long a polling session waits
// for its client's next poll to carry the close packet (zero: the sessions'
// CloseTimeout); a live polling client has a poll parked or on its way.
// Final, when not nil, is queued to every session before its close packet.
type Shutdown struct {
	Grace time.Duration
	Final *protocol.Packet
}

// ShutdownComplete answers Shutdown.
type ShutdownComplete struct{}

// IgnoreDeadLetterLogging marks a late reply as expected.
func (*ShutdownComplete) IgnoreDeadLetterLogging() {}

// NewProps returns the props of a supervisor that registers its sessions in
// reg. Its children are stopped, never restarted, when they fail.
func NewProps(cfg Config, reg *Registry) *actor.Props {
	if cfg.NewSID == nil {
		cfg.NewSID = NewSID
	}
	stop := actor.NewOneForOneStrategy(0, 0, func(reason any) actor.Directive {
		return actor.StopDirective
	})
	opts := []actor.PropsOption{actor.WithSupervisor(stop), actor.WithMailbox(func() actor.Mailbox { return mailbox.New() })}
	if cfg.Session.Dispatcher != nil {
		opts = append(opts, actor.WithDispatcher(cfg.Session.Dispatcher))
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisor{cfg: cfg, registry: reg, publish: reg.add, spawner: actors.NewSpawner(cfg.Session)}
	}, opts...)
}

type supervisor struct {
	cfg      Config
	registry *Registry
	publish  func(*actors.Info) // registry.add, bound once
	spawner  *actors.Spawner
	children int // sessions spawned and not terminated
	closing  bool
	waiters  []*actor.PID
}

// clearVacatedChild clears the slot that the last child removed from the
// supervisor's set of children left behind. protoactor's PIDSet shrinks by
// cutting its slice, so that the slot past the end keeps the PID that was
// last; a PID caches its process, and through it a stopped session would
// stay reachable, with all it and the application's handlers held, until
// a new child took the slot. ctx.Children returns the set's own slice;
// were it a copy, this would clear nothing of consequence.
func clearVacatedChild(ctx actor.Context) {
	kids := ctx.Children()
	if n := len(kids); n < cap(kids) {
		kids[:n+1][n] = nil
	}
}

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Open:
		s.open(ctx, m)
	case *actor.Terminated:
		clearVacatedChild(ctx)
		if sid, ok := childSID(ctx, m.Who); ok {
			s.children--
			s.registry.remove(sid)
		}
		s.maybeDone(ctx)
	case *CloseAll:
		s.closeAll(ctx, &actors.Close{Reason: m.Reason, Timeout: m.Timeout})
	case *Shutdown:
		s.closing = true
		if ctx.Sender() != nil {
			s.waiters = append(s.waiters, ctx.Sender())
		}
		s.closeAll(ctx, &actors.Close{Reason: actors.ReasonServerShutdown, Timeout: m.Grace, Final: m.Final})
		s.maybeDone(ctx)
	case *actor.Started, *actor.Stopped, *actor.Restarting:
	case *actor.Stopping:
		// Stopping the supervisor stops the sessions with it; their
		// registry entries go now, since no Terminated will be handled.
		for _, child := range ctx.Children() {
			if sid, ok := childSID(ctx, child); ok {
				s.registry.remove(sid)
			}
		}
		s.children = 0
	default:
		// Documented: unknown messages are logged and, for a request,
		// answered with *actors.Unhandled.
		typ := fmt.Sprintf("%T", m)
		s.cfg.Logger.Debug("engineio: supervisor got an unknown message", "type", typ)
		if ctx.Sender() != nil {
			ctx.Respond(&actors.Unhandled{Type: typ})
		}
	}
}

func (s *supervisor) open(ctx actor.Context, m *Open) {
	if s.closing {
		ctx.Respond(&actors.Failure{Status: http.StatusServiceUnavailable, Code: protocol.CodeBadRequest, Message: "server is shutting down"})
		return
	}
	sid, err := s.cfg.NewSID()
	if err == nil {
		if _, taken := s.registry.Lookup(sid); taken {
			err = fmt.Errorf("engineio: session id %q is in use", sid)
		}
	}
	if err != nil {
		s.cfg.Logger.Error("engineio: handshake failed", "err", err)
		ctx.Respond(&actors.Failure{Status: http.StatusBadRequest, Code: protocol.CodeBadRequest, Message: protocol.CodeBadRequest.Message()})
		return
	}
	rev := m.Revision
	if rev == 0 {
		rev = protocol.V4
	}
	info := actors.NewInfo(sid, rev, m.Transport, m.Header, m.RawQuery, m.RemoteAddr)
	// Registered (Publish) before the session starts: the Connect handler
	// may already address it by sid.
	start := actors.Start{Info: info, Transport: m.Transport, ReplyTo: ctx.Sender(), Runner: m.Runner, Publish: s.publish}
	if _, err := s.spawner.Spawn(ctx, sid, start); err != nil {
		// Not published, as a rule (the actor system refused the name);
		// another session's entry under the same sid stays.
		if cur, ok := s.registry.Lookup(sid); ok && cur == info {
			s.registry.remove(sid)
		}
		s.cfg.Logger.Error("engineio: spawn session", "sid", sid, "err", err)
		ctx.Respond(&actors.Failure{Status: http.StatusInternalServerError, Code: protocol.CodeBadRequest, Message: protocol.CodeBadRequest.Message()})
		return
	}
	s.children++
}

// childSID returns the sid of a session spawned by this supervisor: its
// name, after the supervisor's id and a slash.
func childSID(ctx actor.Context, child *actor.PID) (string, bool) {
	self := ctx.Self()
	if child.Address != self.Address {
		return "", false
	}
	rest, ok := strings.CutPrefix(child.Id, self.Id)
	if !ok {
		return "", false
	}
	return strings.CutPrefix(rest, "/")
}

func (s *supervisor) closeAll(ctx actor.Context, msg *actors.Close) {
	for _, child := range ctx.Children() {
		ctx.Send(child, msg)
	}
}

func (s *supervisor) maybeDone(ctx actor.Context) {
	if !s.closing || s.children > 0 {
		return
	}
	for _, w := range s.waiters {
		ctx.Send(w, &ShutdownComplete{})
	}
	s.waiters = nil
}

// Package reply provides reply targets for code outside actors that asks an
// actor something and waits: a process registered under its own PID that
// hands what it receives to a channel. Unlike a protoactor future it can be
// awaited together with a context, and its PID works as a reply target from
// any node.
package reply

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/mailbox"
)

// ErrTimeout is returned by Wait when no reply came in time.
var ErrTimeout = errors.New("engineio: no reply in time")

// Inbox is one reply target: registered under a PID of its own (New), or
// reached through a Router under an ID (Router.Get).
type Inbox struct {
	registry *actor.ProcessRegistryValue
	pid      *actor.PID
	router   *Router // nil: registered under pid
	ch       chan any
	run      mailbox.Runner
	timer    *time.Timer // Wait's, kept for the next Wait of a pooled inbox

	mu sync.Mutex // orders a reply coming in with the inbox moving on
	id uint64     // the request's ID, with a router; 0 when between requests
}

var seq atomic.Uint64

// New registers an inbox in sys. Release it when done.
func New(sys *actor.ActorSystem) *Inbox {
	ib := &Inbox{registry: sys.ProcessRegistry, ch: make(chan any, 2)}
	ib.pid, _ = sys.ProcessRegistry.Add(ib, "eio-reply-"+strconv.FormatUint(seq.Add(1), 36))
	return ib
}

// Runner is the goroutine of the inbox's owner, for the requests it sends
// to lend (mailbox.Lending).
func (ib *Inbox) Runner() *mailbox.Runner { return &ib.run }

// Ask sends msg to pid with the inbox as the sender, then runs on the
// calling goroutine the mailboxes handed to the inbox's runner: the
// addressee's, if msg lends it and finds it idle. The caller goes on to
// Wait, which finds the answer already there when the addressee could
// give it at once.
func (ib *Inbox) Ask(root *actor.RootContext, pid *actor.PID, msg any) {
	ib.run.Do(func() { root.RequestWithCustomSender(pid, msg, ib.pid) })
}

// PID is the inbox's address, to be used as a request's sender: the
// router's, for an inbox reached through one.
func (ib *Inbox) PID() *actor.PID { return ib.pid }

// ID is the ID that replies must carry (Routed) to reach an inbox taken
// from a Router; 0 for a registered one.
func (ib *Inbox) ID() uint64 {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return ib.id
}

// Release unregisters the inbox; later replies become dead letters (or,
// through a router, are dropped).
func (ib *Inbox) Release() {
	if ib.router != nil {
		ib.router.remove(ib)
		return
	}
	ib.registry.Remove(ib.pid)
}

// Wait returns the next reply, or the context's error, or ErrTimeout after
// timeout (no limit when timeout <= 0).
func (ib *Inbox) Wait(ctx context.Context, timeout time.Duration) (any, error) {
	// Ask often ran the addressee, which answered at once: the reply is
	// here, and no timer is armed for it.
	select {
	case m := <-ib.ch:
		return m, nil
	default:
	}
	var expired <-chan time.Time
	if timeout > 0 {
		if ib.timer == nil {
			ib.timer = time.NewTimer(timeout)
		} else {
			ib.timer.Reset(timeout)
		}
		defer ib.timer.Stop()
		expired = ib.timer.C
	}
	select {
	case m := <-ib.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-expired:
		return nil, ErrTimeout
	}
}

// SendUserMessage implements actor.Process. A request gets its answer,
// perhaps after one notice (actors.PollWaiting); a message that finds two
// unread is a late duplicate and is dropped.
func (ib *Inbox) SendUserMessage(_ *actor.PID, message any) {
	ib.deliver(actor.UnwrapEnvelopeMessage(message), 0)
}

// deliver hands m, a reply to the request with the given ID (0 for a
// registered inbox), to the waiter.
func (ib *Inbox) deliver(m any, id uint64) {
	ib.mu.Lock()
	if ib.id != id {
		ib.mu.Unlock()
		return // a late reply to an earlier request of a routed inbox
	}
	select {
	case ib.ch <- m:
	default:
	}
	ib.mu.Unlock()
	// The owner has its answer: it stops running the addressee.
	ib.run.Release()
}

// SendSystemMessage implements actor.Process.
func (ib *Inbox) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (ib *Inbox) Stop(*actor.PID) {}

// idle reports whether ib may serve another request: its request was
// settled (reusable), and no reply is left unread.
func (ib *Inbox) idle(reusable bool) bool {
	ib.mu.Lock()
	defer ib.mu.Unlock()
	return reusable && len(ib.ch) == 0
}

// Pool keeps registered inboxes for reuse: a request that got its answer
// and can get no other hands its inbox back, and the next request skips
// the registration, its allocations and its timer. Inboxes beyond Max are
// released.
type Pool struct {
	sys  *actor.ActorSystem
	idle idleInboxes
}

// NewPool returns a pool of at most max idle inboxes registered in sys.
func NewPool(sys *actor.ActorSystem, max int) *Pool {
	return &Pool{sys: sys, idle: idleInboxes{max: max}}
}

// Get returns an idle inbox, or a new one.
func (p *Pool) Get() *Inbox {
	if ib := p.idle.take(); ib != nil {
		return ib
	}
	return New(p.sys)
}

// Put hands ib back. Only an inbox whose request was answered, and whose
// addressee can no longer answer it again, may be reused: reusable false
// (a timeout, a cancelled request, an addressee that stopped and may have
// answered twice) releases it, so that a late reply can never reach the
// next request.
func (p *Pool) Put(ib *Inbox, reusable bool) {
	if !p.idle.keep(ib, reusable) {
		ib.Release()
	}
}

// Close releases the idle inboxes; those put back later are released too.
func (p *Pool) Close() {
	for _, ib := range p.idle.close() {
		ib.Release()
	}
}

// idleInboxes is the free list of a Pool: at most max inboxes whose
// requests are over.
type idleInboxes struct {
	mu     sync.Mutex
	free   []*Inbox
	max    int
	closed bool
}

// take returns an idle inbox, or nil.
func (l *idleInboxes) take() *Inbox {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.free)
	if n == 0 {
		return nil
	}
	ib := l.free[n-1]
	l.free[n-1] = nil
	l.free = l.free[:n-1]
	return ib
}

// keep keeps ib if reusable, with no reply left unread, and there is
// room; it reports whether it did.
func (l *idleInboxes) keep(ib *Inbox, reusable bool) bool {
	if !ib.idle(reusable) {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.free) >= l.max {
		return false
	}
	l.free = append(l.free, ib)
	return true
}

// close keeps no more inboxes and returns those it kept.
func (l *idleInboxes) close() []*Inbox {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	free := l.free
	l.free = nil
	return free
}

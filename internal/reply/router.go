package reply

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Routed is a reply that names the request it answers: the ID the request
// carried (Inbox.ID).
type Routed interface{ ReplyID() uint64 }

// routerShards spreads a router's table over this many locks.
const routerShards = 16

// Router is one registered reply target for many requests. Each request
// carries the ID of its inbox, every reply to it echoes that ID (Routed),
// and the router hands the reply to the inbox. An inbox taken from a router
// costs a table entry instead of a process of its own in the actor system's
// registry (its PID, the registry's entry and name): what a long-poll of an
// idle session keeps for up to a ping interval. Replies that are not Routed,
// or whose inbox has moved on, are dropped. Its methods are safe for
// concurrent use.
type Router struct {
	sys    *actor.ActorSystem
	pid    *actor.PID
	next   atomic.Uint64
	shards [routerShards]struct {
		mu sync.Mutex
		m  map[uint64]*Inbox
	}
	idle idleInboxes
}

var routerSeq atomic.Uint64

// NewRouter registers a router in sys that keeps at most max idle inboxes
// for reuse.
func NewRouter(sys *actor.ActorSystem, max int) *Router {
	r := &Router{sys: sys, idle: idleInboxes{max: max}}
	for i := range r.shards {
		r.shards[i].m = map[uint64]*Inbox{}
	}
	r.pid, _ = sys.ProcessRegistry.Add(r, "eio-replies-"+strconv.FormatUint(routerSeq.Add(1), 36))
	return r
}

// Get returns an inbox reached through the router under a new ID. Hand it
// back with Put.
func (r *Router) Get() *Inbox {
	ib := r.idle.take()
	if ib == nil {
		ib = &Inbox{pid: r.pid, router: r, ch: make(chan any, 2)}
	}
	id := r.next.Add(1)
	ib.mu.Lock()
	ib.id = id
	ib.mu.Unlock()
	sh := &r.shards[id%routerShards]
	sh.mu.Lock()
	sh.m[id] = ib
	sh.mu.Unlock()
	return ib
}

// Put hands ib back: its ID answers no more, so that a late reply never
// reaches the inbox's next request. reusable false, or a reply left
// unread, lets the inbox go.
func (r *Router) Put(ib *Inbox, reusable bool) {
	r.remove(ib)
	r.idle.keep(ib, reusable)
}

// remove takes ib's ID out of the table.
func (r *Router) remove(ib *Inbox) {
	ib.mu.Lock()
	id := ib.id
	ib.id = 0
	ib.mu.Unlock()
	if id == 0 {
		return
	}
	sh := &r.shards[id%routerShards]
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
}

// Close unregisters the router; replies that come later are dead letters.
func (r *Router) Close() {
	r.idle.close()
	r.sys.ProcessRegistry.Remove(r.pid)
}

// SendUserMessage implements actor.Process.
func (r *Router) SendUserMessage(_ *actor.PID, message any) {
	m := actor.UnwrapEnvelopeMessage(message)
	rt, ok := m.(Routed)
	if !ok {
		return
	}
	id := rt.ReplyID()
	sh := &r.shards[id%routerShards]
	sh.mu.Lock()
	ib := sh.m[id]
	sh.mu.Unlock()
	if ib != nil {
		ib.deliver(m, id)
	}
}

// SendSystemMessage implements actor.Process.
func (r *Router) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (r *Router) Stop(*actor.PID) {}

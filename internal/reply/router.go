package reply

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
)

// Routed is a reply that names the request it answers: the ID the request
// carried (Inbox.ID).
type Routed interface{ ReplyID() uint64 }

// Request is a request sent through a router: it carries the ID of its
// inbox (Inbox.ID). One that the actor system cannot deliver (its
// addressee is gone) is answered with *actor.DeadLetterResponse under
// that ID, as a registered inbox would be answered by the actor system.
type Request interface{ RequestID() uint64 }

// routerShards spreads a router's table over this many locks.
const routerShards = 16

// Router is one registered reply target for many requests. Each request
// carries the ID of its inbox, every reply to it echoes that ID (Routed),
// and the router hands the reply to the inbox. An inbox taken from a router
// costs a table entry instead of a process of its own in the actor system's
// registry (its PID, the registry's entry and name): what a long-poll of an
// idle session keeps for up to a ping interval. Replies that are not Routed,
// or whose inbox has moved on, are dropped. A request that waits long
// without its goroutine moves off its inbox to a callback (Detach). Its
// methods are safe for concurrent use.
type Router struct {
	sys    *actor.ActorSystem
	pid    *actor.PID
	sub    *eventstream.Subscription // of the dead letters sent from pid
	next   atomic.Uint64
	shards [routerShards]routerShard
	idle   idleInboxes
}

type routerShard struct {
	mu sync.Mutex
	m  map[uint64]route
}

// route is where the replies under one ID go: an inbox, or the callback
// of a detached request.
type route struct {
	ib *Inbox
	to func(any)
}

var routerSeq atomic.Uint64

// NewRouter registers a router in sys that keeps at most max idle inboxes
// for reuse.
func NewRouter(sys *actor.ActorSystem, max int) *Router {
	r := &Router{sys: sys, idle: idleInboxes{max: max}}
	for i := range r.shards {
		r.shards[i].m = map[uint64]route{}
	}
	r.pid, _ = sys.ProcessRegistry.Add(r, "eio-replies-"+strconv.FormatUint(routerSeq.Add(1), 36))
	r.sub = sys.EventStream.Subscribe(r.deadLetter)
	return r
}

// deadLetter answers a Request sent through the router that the actor
// system could not deliver. The actor system answers its sender too, with
// a reply that names no request, which the router drops.
func (r *Router) deadLetter(evt any) {
	dl, ok := evt.(*actor.DeadLetterEvent)
	if !ok || dl.Sender == nil || !dl.Sender.Equal(r.pid) {
		return
	}
	if rq, ok := dl.Message.(Request); ok {
		r.route(rq.RequestID(), &actor.DeadLetterResponse{Target: dl.PID})
	}
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
	sh := r.shard(id)
	sh.mu.Lock()
	sh.m[id] = route{ib: ib}
	sh.mu.Unlock()
	return ib
}

// PID is the router's address, the sender of every request made through
// it.
func (r *Router) PID() *actor.PID { return r.pid }

func (r *Router) shard(id uint64) *routerShard { return &r.shards[id%routerShards] }

// Detach moves the request of ib, an inbox from Get not yet put back, off
// the inbox: every reply under its ID goes to to from now on, on the
// sender's goroutine, until Drop; a reply the inbox already holds goes to
// to at once, on the calling goroutine. The inbox goes back for reuse.
// Detach returns the request's ID.
//
// A long-poll held without its goroutine waits for up to a ping interval:
// it then keeps a table entry, and no inbox with its channel.
func (r *Router) Detach(ib *Inbox, to func(any)) uint64 {
	ib.mu.Lock()
	id := ib.id
	ib.mu.Unlock()
	sh := r.shard(id)
	sh.mu.Lock()
	sh.m[id] = route{to: to}
	sh.mu.Unlock()
	// A sender that found the inbox delivered to it under the shard's
	// lock: what it sent is in the channel, and nothing more comes.
	ib.mu.Lock()
	ib.id = 0
	ib.mu.Unlock()
	for len(ib.ch) > 0 {
		to(<-ib.ch)
	}
	r.idle.keep(ib, true)
	return id
}

// Drop ends a request that Detach moved: replies under id are dropped
// from now on.
func (r *Router) Drop(id uint64) {
	sh := r.shard(id)
	sh.mu.Lock()
	delete(sh.m, id)
	sh.mu.Unlock()
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
	r.Drop(id)
}

// Close unregisters the router; replies that come later are dead letters.
func (r *Router) Close() {
	r.sys.EventStream.Unsubscribe(r.sub)
	r.idle.close()
	r.sys.ProcessRegistry.Remove(r.pid)
}

// SendUserMessage implements actor.Process.
func (r *Router) SendUserMessage(_ *actor.PID, message any) {
	m := actor.UnwrapEnvelopeMessage(message)
	if rt, ok := m.(Routed); ok {
		r.route(rt.ReplyID(), m)
	}
}

// route hands m to the inbox or the callback of the request id, if it
// still waits.
func (r *Router) route(id uint64, m any) {
	sh := r.shard(id)
	sh.mu.Lock()
	dst, ok := sh.m[id]
	if ok && dst.ib != nil {
		// Under the shard's lock, so that Detach finds it in the inbox.
		dst.ib.deliver(m, id)
		sh.mu.Unlock()
		return
	}
	sh.mu.Unlock()
	if ok {
		dst.to(m)
	}
}

// SendSystemMessage implements actor.Process.
func (r *Router) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (r *Router) Stop(*actor.PID) {}

// Package mailbox is the actor mailbox of sessions and WebSocket writers.
//
// It behaves as protoactor's default mailbox (system messages first,
// suspension, middlewares, a dispatcher's throughput) with two differences
// that matter on the hot path:
//
//   - posting a message allocates nothing: the queues are rings that grow
//     when needed and are released when they empty after a burst, and the
//     function handed to the dispatcher is bound once per mailbox;
//   - a mailbox may be given a Runner: the goroutine of the connection that
//     feeds the actor. When that goroutine is waiting in Runner.Send, the
//     mailbox runs there instead of on a new goroutine, so a WebSocket
//     message is read, handled, and its answer written without a goroutine
//     hand-off. A message may also lend its sender's goroutine (Lending):
//     an HTTP request that waits for the session's answer runs the session
//     itself.
//
// Batches (actor.MessageBatch) are delivered as one message, not unpacked.
package mailbox

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/stack"
)

const (
	idle int32 = iota
	running
)

// Mailbox is an actor.Mailbox; see the package documentation.
type Mailbox struct {
	mu   sync.Mutex
	user ring
	sys  ring

	userCount atomic.Int32
	sysCount  atomic.Int32
	status    atomic.Int32
	suspended atomic.Bool

	invoker      actor.MessageInvoker
	dispatcher   actor.Dispatcher
	throughput   int                     // the dispatcher's, read once
	middleware   actor.MailboxMiddleware // nil, the one given, or a chain of them
	processFresh func()                  // processOnFreshGoroutine, bound once: what the dispatcher runs
	runner       atomic.Pointer[Runner]
	on           *Runner // the runner of the current run, if any; set while running
	first        any     // a message that found the mailbox idle and empty; see PostUserMessage
}

var _ actor.Mailbox = (*Mailbox)(nil)

// New returns a mailbox with the given middlewares.
func New(middlewares ...actor.MailboxMiddleware) *Mailbox {
	m := &Mailbox{}
	switch len(middlewares) {
	case 0:
	case 1:
		m.middleware = middlewares[0]
	default:
		m.middleware = chain(middlewares)
	}
	m.processFresh = m.processOnFreshGoroutine
	return m
}

// Producer returns the mailbox producer of props for one actor: it yields m.
func (m *Mailbox) Producer() actor.MailboxProducer {
	return func() actor.Mailbox { return m }
}

// SetRunner makes the mailbox run on r's goroutine whenever that goroutine
// is in r.Send; nil goes back to the dispatcher alone.
func (m *Mailbox) SetRunner(r *Runner) { m.runner.Store(r) }

// PostUserMessage implements actor.Mailbox.
//
// A message that finds the mailbox idle with nothing queued, as most do
// (an actor handles each message before the next comes), skips the queue:
// the poster that sets the mailbox running hands it to the run as first,
// which takes it before anything queued since. A message posted meanwhile
// by another goroutine may be handled after it although queued before; no
// order is promised between senders, and one sender's messages keep
// theirs.
func (m *Mailbox) PostUserMessage(message any) {
	if m.userCount.Load() == 0 && m.sysCount.Load() == 0 && m.status.CompareAndSwap(idle, running) {
		if m.middleware != nil {
			m.middleware.MessagePosted(message)
		}
		m.first = message
	} else {
		m.enqueue(&m.user, &m.userCount, message)
		if !m.status.CompareAndSwap(idle, running) {
			return
		}
	}
	if r := lentRunner(message); r != nil && m.offer(r) {
		return
	}
	m.dispatch()
}

// offer hands the mailbox, set running, to r's goroutine if it takes it.
func (m *Mailbox) offer(r *Runner) bool {
	if r.Released() {
		return false
	}
	m.on = r // before the offer: the run may start at once
	if r.offer(m) {
		return true
	}
	m.on = nil
	return false
}

// PostSystemMessage implements actor.Mailbox.
func (m *Mailbox) PostSystemMessage(message any) {
	m.enqueue(&m.sys, &m.sysCount, message)
	m.schedule()
}

// enqueue tells the middlewares and queues message on q, counted by n.
func (m *Mailbox) enqueue(q *ring, n *atomic.Int32, message any) {
	if m.middleware != nil {
		m.middleware.MessagePosted(message)
	}
	m.mu.Lock()
	q.push(message)
	n.Add(1)
	m.mu.Unlock()
}

// RegisterHandlers implements actor.Mailbox.
func (m *Mailbox) RegisterHandlers(invoker actor.MessageInvoker, dispatcher actor.Dispatcher) {
	m.invoker = invoker
	m.dispatcher = dispatcher
	m.throughput = dispatcher.Throughput()
}

// Start implements actor.Mailbox.
func (m *Mailbox) Start() {
	if m.middleware != nil {
		m.middleware.MailboxStarted()
	}
}

// RunningOn returns the runner whose goroutine runs the mailbox now, or
// nil; only the actor being run may ask.
func (m *Mailbox) RunningOn() *Runner { return m.on }

// UserMessageCount implements actor.Mailbox.
func (m *Mailbox) UserMessageCount() int { return int(m.userCount.Load()) }

func (m *Mailbox) schedule() {
	if m.status.CompareAndSwap(idle, running) {
		m.dispatch()
	}
}

// dispatch runs the mailbox, which the caller has set running: on its
// runner's goroutine if that is waiting, else on the dispatcher.
func (m *Mailbox) dispatch() {
	if r := m.runner.Load(); r != nil && m.offer(r) {
		return
	}
	m.dispatcher.Schedule(m.processFresh)
}

// processOnFreshGoroutine is processMessages as the dispatcher runs it,
// usually on a goroutine of its own: with its stack grown first, while it
// is shallow (see package stack).
func (m *Mailbox) processOnFreshGoroutine() {
	stack.Grow()
	m.processMessages()
}

func (m *Mailbox) processMessages() {
	for {
		end := m.run()
		if end == handedOver {
			// Still running, on the dispatcher.
			return
		}
		m.status.Store(idle)
		// Messages posted after the loop ended but before idle was
		// stored found the mailbox running and did not schedule it.
		if m.sysCount.Load() > 0 || (!m.suspended.Load() && m.userCount.Load() > 0) {
			if m.status.CompareAndSwap(idle, running) {
				if end == released {
					// Not on the goroutine that has its answer: the
					// messages left or posted since go to the dispatcher.
					m.dispatcher.Schedule(m.processFresh)
					return
				}
				continue
			}
		}
		break
	}
	if m.userCount.Load() == 0 && !m.suspended.Load() {
		if m.middleware != nil {
			m.middleware.MailboxEmpty()
		}
	}
}

// How a run ended.
type runEnd int

const (
	emptied    runEnd = iota // no message left, or suspended
	handedOver               // the rest went to the dispatcher
	released                 // the runner it ran on was released
)

// run processes messages until there are none, or the mailbox is
// suspended, or the runner it runs on was released: the rest, if any,
// then goes to the dispatcher.
func (m *Mailbox) run() runEnd {
	var msg any
	defer func() {
		if r := recover(); r != nil {
			m.on = nil
			m.queueFirst() // a system message failed before it was handled
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	i, t := 0, m.throughput
	for {
		if r := m.on; r != nil && r.Released() {
			// processMessages sends what is left, if anything, to the
			// dispatcher; most often the answer was the last message,
			// and no goroutine is started for nothing.
			m.on = nil
			m.queueFirst()
			return released
		}
		if i > t {
			if m.on != nil {
				// A lent goroutine has its own work to get back to.
				m.on = nil
				m.dispatcher.Schedule(m.processFresh)
				return handedOver
			}
			i = 0
			runtime.Gosched()
		}
		i++
		if m.sysCount.Load() > 0 {
			m.mu.Lock()
			msg = m.sys.pop(0)
			if msg != nil {
				m.sysCount.Add(-1)
			}
			m.mu.Unlock()
			if msg != nil {
				switch msg.(type) {
				case *actor.SuspendMailbox:
					m.suspended.Store(true)
				case *actor.ResumeMailbox:
					m.suspended.Store(false)
				default:
					m.invoker.InvokeSystemMessage(msg)
				}
				if m.middleware != nil {
					m.middleware.MessageReceived(msg)
				}
				continue
			}
		}
		if m.suspended.Load() {
			m.on = nil
			m.queueFirst()
			return emptied
		}
		if msg = m.first; msg != nil {
			m.first = nil
		} else {
			if m.userCount.Load() == 0 {
				m.on = nil
				return emptied
			}
			m.mu.Lock()
			msg = m.user.pop(shrinkAbove)
			if msg != nil {
				m.userCount.Add(-1)
			}
			m.mu.Unlock()
			if msg == nil {
				m.on = nil
				return emptied
			}
		}
		m.invoker.InvokeUserMessage(msg)
		if m.middleware != nil {
			m.middleware.MessageReceived(msg)
		}
	}
}

// queueFirst puts the message handed to the run, if it has not been
// handled, at the head of the queue: the run ends before it (the mailbox
// was suspended, its runner released, or a system message failed), and
// the next run finds it there.
func (m *Mailbox) queueFirst() {
	if m.first == nil {
		return
	}
	m.mu.Lock()
	m.user.pushFront(m.first)
	m.userCount.Add(1)
	m.mu.Unlock()
	m.first = nil
}

// ring is a FIFO queue on a slice that doubles when full; its length is
// always a power of two, so that positions wrap with a mask rather than a
// division. A queue of one message (most are: a reply, a frame, a tick)
// uses the slot inside the ring and allocates nothing. Storage is dropped
// when the queue empties with more slots than pop is told to keep: a user
// queue keeps up to shrinkAbove, so that a burst does not stay with an
// idle actor and the next message finds room; a system queue keeps none,
// as system messages are rare (an actor's start and stop).
type ring struct {
	one  [1]any // the storage of a queue of one
	buf  []any  // one[:], or a larger slice; nil when empty
	head int32
	n    int32
}

const (
	ringInitial = 4 // a power of two, as every length of a ring
	shrinkAbove = 64
)

func (r *ring) push(v any) {
	r.grow()
	r.buf[(int(r.head)+int(r.n))&(len(r.buf)-1)] = v
	r.n++
}

// pushFront puts v at the head of the queue.
func (r *ring) pushFront(v any) {
	r.grow()
	r.head = (r.head - 1) & int32(len(r.buf)-1)
	r.buf[r.head] = v
	r.n++
}

// grow makes room for one more value.
func (r *ring) grow() {
	if int(r.n) == len(r.buf) {
		if r.buf == nil {
			r.buf = r.one[:]
		} else {
			size := max(2*len(r.buf), ringInitial)
			buf := make([]any, size)
			k := copy(buf, r.buf[r.head:])
			copy(buf[k:], r.buf[:r.head])
			r.buf, r.head = buf, 0
			r.one[0] = nil // grown out of it, or not used
		}
	}
}

func (r *ring) pop(keep int) any {
	if r.n == 0 {
		return nil
	}
	v := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) & int32(len(r.buf)-1)
	r.n--
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > keep || len(r.buf) == 1 {
			r.buf = nil // back to the inner slot
		}
	}
	return v
}

// chain is several middlewares, told in turn.
type chain []actor.MailboxMiddleware

func (c chain) MailboxStarted() {
	for _, mw := range c {
		mw.MailboxStarted()
	}
}

func (c chain) MessagePosted(m any) {
	for _, mw := range c {
		mw.MessagePosted(m)
	}
}

func (c chain) MessageReceived(m any) {
	for _, mw := range c {
		mw.MessageReceived(m)
	}
}

func (c chain) MailboxEmpty() {
	for _, mw := range c {
		mw.MailboxEmpty()
	}
}

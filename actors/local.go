package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/protocol"
)

// localQueue carries the application's sends and closes from this process
// to its session without a mailbox message per call (Info.Send,
// Info.Close). An echo's reply, sent by the message handler while the
// session runs it, costs an append here instead of a second trip through
// the mailbox.
//
// The session takes what is queued after each message in which it ran an
// application handler, and when a *takeLocal message arrives. A sender
// posts *takeLocal only when it found the queue empty and the session not
// about to look: so the queue is never left holding entries that no
// message will take. The entries keep their order among themselves, not
// with actor messages sent to the session's PID.
type localQueue struct {
	mu      sync.Mutex
	ops     []localOp
	looking bool // the session is in a message and takes the queue at its end
	closed  bool // the session has stopped: entries are dropped
}

// localOp is one entry: a packet to send or, when close is set, a Close.
type localOp struct {
	packet protocol.Packet
	close  *Close
}

// takeLocal tells a session that its local queue has entries.
type takeLocal struct{}

func (*takeLocal) IgnoreDeadLetterLogging() {}

var takeLocalMsg = &takeLocal{}

// Send queues p for the client, as a *Send message to the session's PID
// would, but in order with the other calls of Send and Close on i.
func (i *Info) Send(root *actor.RootContext, p protocol.Packet) {
	i.post(root, localOp{packet: p})
}

// Close closes the session as c, a *Close message to its PID, would, but
// after the packets queued with Send before it.
func (i *Info) Close(root *actor.RootContext, c *Close) {
	i.post(root, localOp{close: c})
}

func (i *Info) post(root *actor.RootContext, op localOp) {
	q := &i.local
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	wake := len(q.ops) == 0 && !q.looking
	q.ops = append(q.ops, op)
	q.mu.Unlock()
	if wake {
		root.Send(i.PID, takeLocalMsg)
	}
}

// lookLocal marks the session as taking the local queue at the end of the
// current message: a handler's sends need no wake-up message.
func (s *session) lookLocal() {
	if s.lookingLocal {
		return
	}
	s.lookingLocal = true
	q := &s.info.local
	q.mu.Lock()
	q.looking = true
	q.mu.Unlock()
}

// takeLocal handles what the local queue holds, and stops looking.
func (s *session) takeLocal(ctx actor.Context) {
	s.lookingLocal = false
	q := &s.info.local
	q.mu.Lock()
	ops := q.ops
	q.ops, s.localSpare = s.localSpare, nil
	q.looking = false
	q.mu.Unlock()
	for i := range ops {
		if c := ops[i].close; c != nil {
			s.onClose(ctx, c)
		} else {
			s.onSend(ctx, ops[i].packet, false)
		}
	}
	clear(ops)
	if cap(ops) <= maxLocalSpare {
		s.localSpare = ops[:0]
	} else {
		s.localSpare = nil // a burst's slice is not kept for an idle session
	}
}

// maxLocalSpare bounds the capacity of the local queue's slice that a
// session keeps between messages.
const maxLocalSpare = 16

// closeLocal drops the queue's entries and those posted later: the session
// has stopped.
func (s *session) closeLocal() {
	q := &s.info.local
	q.mu.Lock()
	q.closed = true
	q.ops = nil
	q.mu.Unlock()
	s.localSpare = nil
}

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
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/mailbox"
)

// Errors returned by Wait.
var (
	// ErrTimeout: no reply came in time.
	ErrTimeout = errors.New("engineio: no reply in time")
	// ErrGone: the addressee ended without replying.
	ErrGone = errors.New("engineio: addressee gone")
)

// Inbox is one registered reply target.
type Inbox struct {
	registry *actor.ProcessRegistryValue
	pid      *actor.PID
	ch       chan any
	run      mailbox.Runner
}

var seq atomic.Uint64

// New registers an inbox in sys. Release it when done.
func New(sys *actor.ActorSystem) *Inbox {
	ib := &Inbox{registry: sys.ProcessRegistry, ch: make(chan any, 1)}
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

// PID is the inbox's address, to be used as a request's sender.
func (ib *Inbox) PID() *actor.PID { return ib.pid }

// Release unregisters the inbox; later replies become dead letters.
func (ib *Inbox) Release() { ib.registry.Remove(ib.pid) }

// Wait returns the next reply, or the context's error, or ErrTimeout after
// timeout (no limit when timeout <= 0), or ErrGone once gone is closed with
// no reply there (a nil gone never closes).
func (ib *Inbox) Wait(ctx context.Context, timeout time.Duration, gone <-chan struct{}) (any, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case m := <-ib.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-expired:
		return nil, ErrTimeout
	case <-gone:
		// A reply sent before the addressee ended is already queued.
		select {
		case m := <-ib.ch:
			return m, nil
		default:
			return nil, ErrGone
		}
	}
}

// SendUserMessage implements actor.Process. A request gets one reply at a
// time; a message that finds the previous one unread is a late duplicate
// and is dropped.
func (ib *Inbox) SendUserMessage(_ *actor.PID, message any) {
	select {
	case ib.ch <- actor.UnwrapEnvelopeMessage(message):
	default:
	}
	// The owner has its answer: it stops running the addressee.
	ib.run.Release()
}

// SendSystemMessage implements actor.Process.
func (ib *Inbox) SendSystemMessage(*actor.PID, any) {}

// Stop implements actor.Process.
func (ib *Inbox) Stop(*actor.PID) {}

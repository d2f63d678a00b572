package mailbox

import (
	"runtime"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Runner states.
const (
	runnerOff       int32 = iota // not in Send: mailboxes use their dispatcher
	runnerAccepting              // in Send, with no mailbox handed over
	runnerClaimed                // a mailbox is handing itself over
	runnerFull                   // a mailbox waits to be run
)

// runnerBudget bounds how many mailbox runs one Send performs, so that the
// goroutine gets back to its own work (reading) under a steady stream of
// messages from elsewhere.
const runnerBudget = 64

// Runner lets one goroutine, typically the reader of a connection, run the
// mailboxes it posts to instead of waking a goroutine per message. Every
// mailbox that has the runner (Mailbox.SetRunner) and becomes ready while
// the goroutine is in Send is run there, one at a time; otherwise it goes to
// its dispatcher as usual. Only one goroutine may call Send.
//
// What runs in Send blocks the goroutine until it returns: a WebSocket
// writer that runs there makes the reader wait for the write, which is the
// back-pressure a plain read-then-write loop has.
type Runner struct {
	state atomic.Int32
	fn    func() // set while runnerFull
}

// Send posts msg to pid from root, then runs the mailboxes handed to the
// runner until none is ready.
func (r *Runner) Send(root *actor.RootContext, pid *actor.PID, msg any) {
	r.state.Store(runnerAccepting)
	root.Send(pid, msg)
	for budget := runnerBudget; ; {
		switch r.state.Load() {
		case runnerFull:
			fn := r.fn
			r.fn = nil
			budget--
			if budget > 0 {
				r.state.Store(runnerAccepting)
			} else {
				r.state.Store(runnerOff)
			}
			fn()
			if budget <= 0 {
				return
			}
		case runnerAccepting:
			if r.state.CompareAndSwap(runnerAccepting, runnerOff) {
				return
			}
		default: // runnerClaimed: an offer is storing its function
			runtime.Gosched()
		}
	}
}

// offer hands fn to the runner's goroutine if it is in Send and has no
// other mailbox waiting; it reports whether it took fn.
func (r *Runner) offer(fn func()) bool {
	if !r.state.CompareAndSwap(runnerAccepting, runnerClaimed) {
		return false
	}
	r.fn = fn
	r.state.Store(runnerFull)
	return true
}

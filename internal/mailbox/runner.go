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
	runnerPaused                 // in Send, running something that may block
)

// runnerBudget bounds how many mailbox runs one Send performs, so that the
// goroutine gets back to its own work (reading) under a steady stream of
// messages from elsewhere. One run is bounded too: after the dispatcher's
// throughput in messages, the mailbox goes on on the dispatcher.
const runnerBudget = 64

// Runner lets one goroutine, typically the reader of a connection, run the
// mailboxes it posts to instead of waking a goroutine per message. Every
// mailbox that has the runner (Mailbox.SetRunner) and becomes ready while
// the goroutine is in Send is run there, one at a time; otherwise it goes to
// its dispatcher as usual. One goroutine at a time may be in Send or Do
// (an upgrade handler, then the reader it starts).
//
// What runs in Send blocks the goroutine until it returns: a WebSocket
// writer that runs there makes the reader wait for the write, which is the
// back-pressure a plain read-then-write loop has.
type Runner struct {
	mb       *Mailbox // the mailbox handed over; set while runnerFull
	state    atomic.Int32
	released atomic.Bool
}

// Release tells the runner that its goroutine got what it waited for: it
// takes no more mailboxes, and a mailbox running there hands what is left
// in it to its dispatcher after the message in hand. An HTTP request that
// has its answer goes on to write it instead of running the session's
// later messages (the application's disconnect handler, say). The next Do
// or Send takes mailboxes again.
func (r *Runner) Release() { r.released.Store(true) }

// Released reports whether Release was called since the last Do or Send.
func (r *Runner) Released() bool { return r.released.Load() }

// Send posts msg to pid from root, then runs the mailboxes handed to the
// runner until none is ready.
func (r *Runner) Send(root *actor.RootContext, pid *actor.PID, msg any) {
	r.Do(func() { root.Send(pid, msg) })
}

// Do calls post, which posts messages, then runs the mailboxes handed to
// the runner until none is ready.
func (r *Runner) Do(post func()) {
	r.released.Store(false)
	r.state.Store(runnerAccepting)
	post()
	for budget := runnerBudget; ; {
		switch r.state.Load() {
		case runnerFull:
			mb := r.mb
			r.mb = nil
			budget--
			last := budget <= 0 || r.released.Load()
			if last {
				r.state.Store(runnerOff)
			} else {
				r.state.Store(runnerAccepting)
			}
			mb.processMessages()
			if last {
				return
			}
		case runnerAccepting:
			if r.state.CompareAndSwap(runnerAccepting, runnerOff) {
				return
			}
			// An offer came in between: run it.
		case runnerClaimed: // an offer is storing its function
			runtime.Gosched()
		default: // paused: only inside a run, never seen here
			return
		}
	}
}

// Pause is called on the runner's goroutine, by what it runs, before
// something that may block (a WebSocket write to a client that does not
// read): until Resume, mailboxes that become ready go to their dispatchers,
// and one already handed over goes to a goroutine of its own, so that the
// session of a stalled connection stays responsive. It reports whether it
// paused; only then is Resume due.
func (r *Runner) Pause() bool {
	for {
		switch r.state.Load() {
		case runnerAccepting:
			if r.state.CompareAndSwap(runnerAccepting, runnerPaused) {
				return true
			}
		case runnerFull:
			// Only this goroutine leaves runnerFull.
			mb := r.mb
			r.mb = nil
			r.state.Store(runnerPaused)
			go mb.processOnFreshGoroutine()
			return true
		case runnerClaimed:
			runtime.Gosched()
		default: // not taking mailboxes anyway: this is Send's last run
			return false
		}
	}
}

// Resume ends a Pause: the runner takes mailboxes again.
func (r *Runner) Resume() { r.state.CompareAndSwap(runnerPaused, runnerAccepting) }

// offer hands mb, set running, to the runner's goroutine if it is in Send
// and has no other mailbox waiting; it reports whether it took mb.
func (r *Runner) offer(mb *Mailbox) bool {
	if !r.state.CompareAndSwap(runnerAccepting, runnerClaimed) {
		return false
	}
	r.mb = mb
	r.state.Store(runnerFull)
	return true
}

// Lending is embedded in a message whose sender waits for the answer: the
// sender lends its goroutine, Runner, to the addressee's mailbox, which
// runs there if the message finds it idle (see Runner.Do). A nil Runner
// lends nothing; a message that crosses nodes loses it.
type Lending struct {
	Runner *Runner
}

func (l Lending) lent() *Runner { return l.Runner }

type lender interface{ lent() *Runner }

// lentRunner returns the runner a message (or the message in an envelope)
// lends, or nil.
func lentRunner(msg any) *Runner {
	switch m := msg.(type) {
	case lender:
		return m.lent()
	case *actor.MessageEnvelope:
		if l, ok := m.Message.(lender); ok {
			return l.lent()
		}
	}
	return nil
}

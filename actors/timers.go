package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/timers"
)

// With RealClock, a session's timer is an entry in the process's timer heap
// (internal/timers): an armed session timer (every idle session has one,
// its heartbeat) costs a small entry instead of a runtime timer and a
// closure. Heartbeats are re-armed once per ping interval per session.

// timerEntry is one armed session timer: msg goes to pid when it fires.
type timerEntry struct {
	timers.Timer
	root *actor.RootContext
	pid  *actor.PID
	msg  any
}

// sendAfter sends msg to pid from root after d, with entry e if not nil:
// one that Stop removed before it fired, or whose message has been
// received (Expire reads the entry before it sends).
func sendAfter(e *timerEntry, d time.Duration, root *actor.RootContext, pid *actor.PID, msg any) *timerEntry {
	if e == nil {
		e = new(timerEntry)
	}
	e.root, e.pid, e.msg = root, pid, msg
	e.Start(d, e)
	return e
}

// Expire implements timers.Expirer.
func (e *timerEntry) Expire() { e.root.Send(e.pid, e.msg) }

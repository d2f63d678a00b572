package actors

import (
	"container/heap"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// With RealClock, the sessions' timers are entries in one heap ordered by
// deadline, served by a single runtime timer set to the earliest: an armed
// session timer (every idle session has one, its heartbeat) costs a 48-byte
// entry instead of a runtime timer and a closure, about 150 bytes more.
// Heartbeats are re-armed once per ping interval per session, so the one
// lock is no point of contention.

// timerSlack lets one wake-up fire the timers due within it: heartbeats
// of sessions opened together are served together.
const timerSlack = time.Millisecond

// sessionTimers is the heap of every session timer of the process.
var sessionTimers timerHeap

// timerEpoch is where deadlines count from (monotonic).
var timerEpoch = time.Now()

type timerHeap struct {
	mu      sync.Mutex
	entries timerEntries
	wake    *time.Timer // set to fire at next
	next    int64       // deadline the wake-up is set for; 0: none
}

// timerEntry is one armed timer: msg goes to pid at when.
type timerEntry struct {
	when int64 // since timerEpoch
	idx  int   // in entries; -1 once fired or stopped
	root *actor.RootContext
	pid  *actor.PID
	msg  any
}

// timerEntries is a heap.Interface ordered by deadline; each entry knows
// its index, so that Stop can remove it.
type timerEntries []*timerEntry

func (t timerEntries) Len() int           { return len(t) }
func (t timerEntries) Less(i, j int) bool { return t[i].when < t[j].when }
func (t timerEntries) Swap(i, j int) {
	t[i], t[j] = t[j], t[i]
	t[i].idx, t[j].idx = i, j
}
func (t *timerEntries) Push(x any) {
	e := x.(*timerEntry)
	e.idx = len(*t)
	*t = append(*t, e)
}
func (t *timerEntries) Pop() any {
	old := *t
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*t = old[:len(old)-1]
	e.idx = -1
	if cap(*t) > 64 && len(*t) < cap(*t)/4 {
		*t = append(timerEntries(nil), *t...) // a burst does not stay
	}
	return e
}

// sendAfter sends msg to pid from root after d.
func (h *timerHeap) sendAfter(d time.Duration, root *actor.RootContext, pid *actor.PID, msg any) *timerEntry {
	e := &timerEntry{when: int64(time.Since(timerEpoch) + d), root: root, pid: pid, msg: msg}
	h.mu.Lock()
	heap.Push(&h.entries, e)
	if e.idx == 0 && (h.next == 0 || e.when < h.next) {
		h.wakeAt(e.when)
	}
	h.mu.Unlock()
	return e
}

// Stop implements Timer.
func (e *timerEntry) Stop() bool {
	h := &sessionTimers
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.idx < 0 {
		return false
	}
	heap.Remove(&h.entries, e.idx)
	// The wake-up stays: it finds nothing due and sets the next one.
	return true
}

// wakeAt sets the wake-up for when. Called with mu.
func (h *timerHeap) wakeAt(when int64) {
	h.next = when
	d := time.Duration(when) - time.Since(timerEpoch)
	if h.wake == nil {
		h.wake = time.AfterFunc(d, h.fire)
		return
	}
	h.wake.Reset(d)
}

// fire sends the messages of the timers due, and sets the next wake-up.
func (h *timerHeap) fire() {
	now := int64(time.Since(timerEpoch) + timerSlack)
	var due []*timerEntry
	h.mu.Lock()
	for len(h.entries) > 0 && h.entries[0].when <= now {
		due = append(due, heap.Pop(&h.entries).(*timerEntry))
	}
	h.next = 0
	if len(h.entries) > 0 {
		h.wakeAt(h.entries[0].when)
	}
	h.mu.Unlock()
	for _, e := range due {
		e.root.Send(e.pid, e.msg)
	}
}

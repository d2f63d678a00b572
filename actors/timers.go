package actors

import (
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
	entries []*timerEntry
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

// sendAfter sends msg to pid from root after d.
func (h *timerHeap) sendAfter(d time.Duration, root *actor.RootContext, pid *actor.PID, msg any) *timerEntry {
	e := &timerEntry{when: int64(time.Since(timerEpoch) + d), root: root, pid: pid, msg: msg}
	h.mu.Lock()
	e.idx = len(h.entries)
	h.entries = append(h.entries, e)
	h.up(e.idx)
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
	h.remove(e.idx)
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
		e := h.entries[0]
		h.remove(0)
		due = append(due, e)
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

// remove takes the entry at i out of the heap. Called with mu.
func (h *timerHeap) remove(i int) {
	e := h.entries[i]
	last := len(h.entries) - 1
	if i != last {
		h.entries[i] = h.entries[last]
		h.entries[i].idx = i
	}
	h.entries[last] = nil
	h.entries = h.entries[:last]
	if i != last {
		h.down(i)
		h.up(i)
	}
	e.idx = -1
	if cap(h.entries) > 64 && len(h.entries) < cap(h.entries)/4 {
		h.entries = append([]*timerEntry(nil), h.entries...)
	}
}

func (h *timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h.entries[parent].when <= h.entries[i].when {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *timerHeap) down(i int) {
	n := len(h.entries)
	for {
		least := i
		if l := 2*i + 1; l < n && h.entries[l].when < h.entries[least].when {
			least = l
		}
		if r := 2*i + 2; r < n && h.entries[r].when < h.entries[least].when {
			least = r
		}
		if least == i {
			return
		}
		h.swap(i, least)
		i = least
	}
}

func (h *timerHeap) swap(i, j int) {
	h.entries[i], h.entries[j] = h.entries[j], h.entries[i]
	h.entries[i].idx = i
	h.entries[j].idx = j
}

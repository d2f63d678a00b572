// Package timers keeps the process's many one-shot timers of sessions and
// connections in one heap ordered by deadline, served by a single runtime
// timer set to the earliest. A timer is a Timer value inside its owner: arming
// it allocates nothing, and it costs its owner 32 bytes instead of a runtime
// timer and a closure (about 150 bytes) for as long as the owner lives. An
// idle session has one armed (its heartbeat), a held long-poll and a kept
// connection one each.
//
// The heap has one lock. Timers are armed about once per request or per
// ping interval, so it is no point of contention.
package timers

import (
	"container/heap"
	"runtime"
	"sync"
	"time"
)

// Slack lets one wake-up fire the timers due within it: heartbeats of
// sessions opened together are served together. The wake-up comes Slack
// after the earliest deadline, so that a timer fires up to Slack late and
// never early: a ping timeout is never shorter than configured.
const Slack = time.Millisecond

// Expirer is what a timer calls when it fires, on the heap's goroutine: it
// must not block.
type Expirer interface{ Expire() }

// Timer is one timer; its zero value is stopped. Its methods are safe for
// concurrent use.
type Timer struct {
	when  int64 // since epoch
	idx   int32 // in the heap, while armed; beside armed, so that a Timer is 32 bytes
	armed bool
	f     Expirer
}

// Start arms t to call f.Expire after d, replacing any earlier deadline.
func (t *Timer) Start(d time.Duration, f Expirer) {
	h := &process
	when := int64(time.Since(epoch) + d)
	h.mu.Lock()
	if t.armed {
		heap.Remove(&h.entries, int(t.idx))
	}
	t.when, t.f, t.armed = when, f, true
	heap.Push(&h.entries, t)
	if t.idx == 0 && (h.next == 0 || when < h.next) {
		h.wakeAt(when)
	}
	h.mu.Unlock()
}

// Stop disarms t and reports whether it was armed (false once it has
// fired).
func (t *Timer) Stop() bool {
	h := &process
	h.mu.Lock()
	defer h.mu.Unlock()
	if !t.armed {
		return false
	}
	heap.Remove(&h.entries, int(t.idx))
	t.armed, t.f = false, nil
	// The wake-up stays: it finds nothing due and sets the next one.
	return true
}

// process is the heap of every timer of the process.
var process timerHeap

// epoch is where deadlines count from (monotonic).
var epoch = time.Now()

type timerHeap struct {
	mu      sync.Mutex
	entries entries
	wake    *time.Timer // set to fire at next
	next    int64       // deadline the wake-up is set for; 0: none
}

// entries is a heap.Interface ordered by deadline; each timer knows its
// index, so that Stop can remove it.
type entries []*Timer

func (e entries) Len() int           { return len(e) }
func (e entries) Less(i, j int) bool { return e[i].when < e[j].when }
func (e entries) Swap(i, j int) {
	e[i], e[j] = e[j], e[i]
	e[i].idx, e[j].idx = int32(i), int32(j)
}
func (e *entries) Push(x any) {
	t := x.(*Timer)
	t.idx = int32(len(*e))
	*e = append(*e, t)
}
func (e *entries) Pop() any {
	old := *e
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*e = old[:len(old)-1]
	t.idx = -1
	if cap(*e) > 64 && len(*e) < cap(*e)/4 {
		*e = append(entries(nil), *e...) // a burst does not stay
	}
	return t
}

// wakeAt sets the wake-up for the deadline when: Slack after it. Called
// with mu.
func (h *timerHeap) wakeAt(when int64) {
	h.next = when
	d := time.Duration(when) + Slack - time.Since(epoch)
	if h.wake == nil {
		h.wake = time.AfterFunc(d, h.fire)
		return
	}
	h.wake.Reset(d)
}

// fire calls the timers due, and sets the next wake-up.
func (h *timerHeap) fire() {
	now := int64(time.Since(epoch))
	var due []Expirer
	h.mu.Lock()
	for len(h.entries) > 0 && h.entries[0].when <= now {
		t := heap.Pop(&h.entries).(*Timer)
		due = append(due, t.f)
		t.armed, t.f = false, nil
	}
	h.next = 0
	if len(h.entries) > 0 {
		h.wakeAt(h.entries[0].when)
	}
	h.mu.Unlock()
	for i, f := range due {
		if i > 0 && i%expireBatch == 0 {
			runtime.Gosched()
		}
		f.Expire()
	}
}

// expireBatch is how many timers fire before the heap's goroutine yields.
// Timers that fire together (the heartbeats of clients that connected
// together) each wake a session, whose mailbox runs on a goroutine of its
// own: yielding lets those run and end before more are woken, so that a
// burst of ten thousand is not ten thousand goroutines at once. Each
// goroutine alive at the peak would leave its g behind for good (the
// runtime never frees one), and its stack would raise the collector's goal
// for as long as the server stays idle.
const expireBatch = 64

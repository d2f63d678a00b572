package timers

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// probe records when each of its timers fired.
type probe struct {
	mu    *sync.Mutex
	got   map[int]time.Time
	fires map[int]int
	i     int
}

func (p *probe) Expire() {
	p.mu.Lock()
	p.got[p.i] = time.Now()
	p.fires[p.i]++
	p.mu.Unlock()
}

// checkHeap reports entries out of place or out of order.
func checkHeap(t *testing.T) {
	t.Helper()
	process.mu.Lock()
	defer process.mu.Unlock()
	for i, e := range process.entries {
		if int(e.idx) != i {
			t.Errorf("entry at %d says it is at %d", i, e.idx)
		}
		if i > 0 && process.entries[(i-1)/2].when > e.when {
			t.Errorf("entry at %d is due before its parent", i)
		}
	}
}

// Timers fire, never before their deadline; a stopped timer
// never fires; a restarted one fires once, at its new deadline; the heap
// keeps its order through stops and restarts.
func TestHeap(t *testing.T) {
	const n = 200
	var mu sync.Mutex
	got, fires := map[int]time.Time{}, map[int]int{}
	start := time.Now()
	ts := make([]Timer, n)
	probes := make([]probe, n)
	delays := make([]time.Duration, n)
	for i := range ts {
		probes[i] = probe{mu: &mu, got: got, fires: fires, i: i}
		delays[i] = time.Duration(50+rand.IntN(100)) * time.Millisecond // stopped before the first is due
		ts[i].Start(delays[i], &probes[i])
	}
	stopped := map[int]bool{}
	for i := 0; i < n; i += 3 {
		if !ts[i].Stop() {
			t.Fatalf("Stop of pending timer %d reported false", i)
		}
		stopped[i] = true
	}
	for i := 1; i < n; i += 5 {
		if !stopped[i] {
			delays[i] = time.Duration(150+rand.IntN(50)) * time.Millisecond
			ts[i].Start(delays[i], &probes[i])
		}
	}
	checkHeap(t)
	time.Sleep(400 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i := range ts {
		at, fired := got[i]
		switch {
		case stopped[i] && fired:
			t.Errorf("stopped timer %d fired", i)
		case !stopped[i] && fires[i] != 1:
			t.Errorf("timer %d (%v) fired %d times, want once", i, delays[i], fires[i])
		case fired && at.Sub(start) < delays[i]:
			t.Errorf("timer %d fired after %v; its delay is %v", i, at.Sub(start), delays[i])
		}
		if ts[i].Stop() {
			t.Errorf("Stop of timer %d reported true after it fired or stopped", i)
		}
	}
	process.mu.Lock()
	defer process.mu.Unlock()
	if len(process.entries) != 0 {
		t.Errorf("%d entries left in the heap", len(process.entries))
	}
}

// A Timer lives inside every session's heartbeat entry, kept connection and
// held poll: 32 bytes keep the heartbeat entry in the 64-byte size class.
func TestTimerSize(t *testing.T) {
	if n := unsafe.Sizeof(Timer{}); n != 32 {
		t.Errorf("a Timer takes %d bytes; want 32", n)
	}
}

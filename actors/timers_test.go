package actors

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// timerProbe records the messages sent to it, with when they came.
type timerProbe struct {
	mu  sync.Mutex
	got map[int]time.Time
}

func (p *timerProbe) SendUserMessage(_ *actor.PID, m any) {
	p.mu.Lock()
	p.got[actor.UnwrapEnvelopeMessage(m).(int)] = time.Now()
	p.mu.Unlock()
}
func (p *timerProbe) SendSystemMessage(*actor.PID, any) {}
func (p *timerProbe) Stop(*actor.PID)                   {}

// Timers fire, not before their deadline (less the slack); a stopped timer
// never fires; the heap keeps its order through stops.
func TestTimerHeap(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })))
	defer sys.Shutdown()
	p := &timerProbe{got: map[int]time.Time{}}
	pid, _ := sys.ProcessRegistry.Add(p, "timer-probe")

	const n = 200
	start := time.Now()
	entries := make([]*timerEntry, n)
	delays := make([]time.Duration, n)
	for i := range entries {
		delays[i] = time.Duration(50+rand.IntN(100)) * time.Millisecond // stopped before the first is due
		entries[i] = sessionTimers.sendAfter(delays[i], sys.Root, pid, i)
	}
	stopped := map[int]bool{}
	for i := 0; i < n; i += 3 {
		if !entries[i].Stop() {
			t.Fatalf("Stop of pending timer %d reported false", i)
		}
		stopped[i] = true
	}
	sessionTimers.mu.Lock()
	for i, e := range sessionTimers.entries {
		if e.idx != i {
			t.Errorf("entry at %d says it is at %d", i, e.idx)
		}
		if i > 0 && sessionTimers.entries[(i-1)/2].when > e.when {
			t.Errorf("entry at %d is due before its parent", i)
		}
	}
	sessionTimers.mu.Unlock()
	time.Sleep(400 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range entries {
		at, fired := p.got[i]
		switch {
		case stopped[i] && fired:
			t.Errorf("stopped timer %d fired", i)
		case !stopped[i] && !fired:
			t.Errorf("timer %d (%v) did not fire", i, delays[i])
		case fired && at.Sub(start) < delays[i]-timerSlack:
			t.Errorf("timer %d fired after %v; its delay is %v", i, at.Sub(start), delays[i])
		}
		if !stopped[i] && entries[i].Stop() {
			t.Errorf("Stop of fired timer %d reported true", i)
		}
	}
	sessionTimers.mu.Lock()
	defer sessionTimers.mu.Unlock()
	if len(sessionTimers.entries) != 0 {
		t.Errorf("%d entries left in the heap", len(sessionTimers.entries))
	}
}

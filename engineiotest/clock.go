package engineiotest

import (
	"sync"
	"time"

	"github.com/eioactor/engineio/actors"
)

// Clock is a fake clock for engineio.WithClock: time stands still until
// Advance moves it, and Advance runs the callbacks that fall due, inline, on
// the caller's goroutine. A Harness makes one; tests that build their own
// server may use NewClock directly.
//
// A Clock is safe for concurrent use, but Advance is meant to be called from
// one goroutine (the test's).
type Clock struct {
	mu     sync.Mutex
	now    time.Duration
	seq    uint64
	timers []*clockTimer
}

var _ actors.Clock = (*Clock)(nil)

type clockTimer struct {
	clock   *Clock
	at      time.Duration
	seq     uint64 // arming order: timers due at the same time fire in it
	f       func()
	stopped bool
}

// NewClock returns a clock at time zero with nothing scheduled.
func NewClock() *Clock { return &Clock{} }

// AfterFunc implements actors.Clock: f runs during the Advance that moves
// the clock to d from now or past it. A d of zero or less is due at once and
// runs at the next Advance, Advance(0) included.
func (c *Clock) AfterFunc(d time.Duration, f func()) actors.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &clockTimer{clock: c, at: c.now + max(d, 0), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop implements actors.Timer.
func (t *clockTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	if t.stopped {
		return false
	}
	t.stopped = true
	t.clock.remove(t)
	return true
}

// remove forgets t; c.mu is held.
func (c *Clock) remove(t *clockTimer) {
	for i, x := range c.timers {
		if x == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return
		}
	}
}

// Advance moves the clock forward by d, running every callback that falls
// due, in order of due time (then of arming), each with the clock set to
// its due time. Callbacks armed by a callback run in the same Advance if
// they fall due within it. With engineiotest's synchronized dispatcher, what
// the callbacks set off (a ping, a ping timeout, a close) has happened when
// Advance returns.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now + max(d, 0)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *clockTimer
		for _, t := range c.timers {
			if t.at <= end && (next == nil || t.at < next.at || (t.at == next.at && t.seq < next.seq)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.now = next.at
		next.stopped = true
		c.remove(next)
		c.mu.Unlock()
		next.f()
	}
}

// Now returns how far the clock has been advanced since it was made.
func (c *Clock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Pending returns the number of callbacks scheduled and not yet run or
// stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

package actors

import "time"

// Clock schedules the session's timers. Production code uses RealClock; tests
// inject a fake clock that fires callbacks when the test advances time.
type Clock interface {
	// AfterFunc calls f once, after d, on any goroutine.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not run yet; it reports whether it did.
	Stop() bool
}

// RealClock is the wall clock: a pending timer costs no goroutine. Sessions
// keep their timers in one heap served by a single runtime timer (see
// timers.go); AfterFunc is time.AfterFunc.
type RealClock struct{}

// AfterFunc implements Clock.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

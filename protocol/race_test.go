//go:build race

package protocol

// The race detector's instrumentation allocates, so allocation counts are
// only asserted without it.
const raceEnabled = true

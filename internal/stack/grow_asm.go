//go:build amd64 || arm64

package stack

// Grow makes the calling goroutine's stack 8 KB large if it is smaller,
// so that calls that go deep later do not grow it a piece at a time. Call
// it first thing on a goroutine that will go deep. On a stack that is
// large enough already it costs a call: its frame of growFrame bytes is
// only checked for room, never written (grow.s).
func Grow()

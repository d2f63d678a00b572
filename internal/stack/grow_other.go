//go:build !(amd64 || arm64)

package stack

// Grow makes the calling goroutine's stack 8 KB large if it is smaller,
// so that calls that go deep later do not grow it a piece at a time. Call
// it first thing on a goroutine that will go deep. It costs a call and
// clearing growFrame bytes on a stack that is large enough already (on
// amd64 and arm64 only the call: grow.s).
//
//go:noinline
func Grow() {
	var frame [growFrame]byte
	touch(&frame)
}

// touch keeps frame on Grow's stack: the compiler cannot drop an array
// whose address is passed to a function it does not inline.
//
//go:noinline
func touch(*[growFrame]byte) {}

// Package stack grows a goroutine's stack ahead of deep work.
//
// A goroutine starts with a small stack (2 KB, or the average the runtime
// has seen lately), and the runtime doubles it whenever a call would not
// fit, copying the stack and adjusting every frame on it. That copy costs
// in proportion to the number of frames: the goroutines of a WebSocket
// handshake grew their stacks about five times, at the bottom of deep
// calls (an HTTP handler, a mailbox, protoactor, the supervisor, the
// session), and spent more than a third of the handshake's instructions
// on it (bench/README.md, finding 18).
// Growing the stack once, right after the goroutine starts, makes the
// copy cheap, as few frames are on the stack then, and the deep calls
// find room.
package stack

// growFrame is the frame Grow puts on the stack. With the little a fresh
// goroutine uses, the runtime makes its stack 16 KB to fit it: enough for
// a handshake, a long-poll or an actor's start and stop, none of which then
// grows again.
const growFrame = 8 << 10

// Grow makes the calling goroutine's stack 16 KB large if it is smaller,
// so that calls that go deep later do not grow it a piece at a time. Call
// it first thing on a goroutine that will go deep; it costs a call and
// clearing 8 KB on a stack that is large enough already.
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

// Package stack grows a goroutine's stack ahead of deep work.
//
// A goroutine starts with a small stack (2 KB, or the average the runtime
// has seen lately), and the runtime doubles it whenever a call would not
// fit, copying the stack and adjusting every frame on it. That copy costs
// in proportion to the number of frames: the goroutines of a WebSocket
// handshake grew their stacks about five times, at the bottom of deep
// calls (an HTTP handler, a mailbox, protoactor, the supervisor, the
// session), and spent more than a third of the handshake's instructions
// on it (bench/README.md, finding 18). Growing the stack once, right
// after the goroutine starts, makes the copy cheap, as few frames are on
// the stack then, and the deep calls find room.
package stack

// growFrame is the frame Grow puts on the stack. With the little a fresh
// goroutine uses, the runtime makes its stack 8 KB to fit it: enough for
// most of a handshake, or of an actor's start and stop. A larger frame
// saved few more copies in a handshake, and a burst of connections holds
// that much more stack at once.
//
//lint:ignore U1000 the frame size of grow_other.go; grow.s spells it out
const growFrame = 4 << 10

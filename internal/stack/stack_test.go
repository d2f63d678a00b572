package stack

import (
	"runtime/debug"
	"testing"
	"unsafe"
)

// deep recurses depth times with a frame of about 300 bytes.
//
//go:noinline
func deep(depth int) byte {
	var pad [256]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		return pad[0]
	}
	return deep(depth-1) + pad[depth%len(pad)]
}

// stackMoved reports whether a new goroutine's stack moved (was copied to
// a larger one) while it went depth calls deep, after calling Grow if
// grow. A stack that grows is copied, and a variable on it changes its
// address.
func stackMoved(grow bool, depth int) bool {
	moved := make(chan bool)
	go func() {
		if grow {
			Grow()
		}
		var here byte
		before := uintptr(unsafe.Pointer(&here))
		deep(depth)
		moved <- uintptr(unsafe.Pointer(&here)) != before
	}()
	return <-moved
}

func TestGrowLeavesRoomForDeepCalls(t *testing.T) {
	// A collection may shrink a stack, which moves it too.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// About 5 KB of calls: a stack grown by Grow holds them.
	for i := range 100 {
		if stackMoved(true, 18) {
			t.Fatalf("goroutine %d: the stack grew again after Grow, for 5 KB of calls", i)
		}
	}
	// About 60 KB do not fit in 8 KB: the stack moves, which shows that
	// the test sees a stack that grows.
	if !stackMoved(true, 200) {
		t.Fatal("the stack did not move for 60 KB of calls after Grow: the test cannot tell a growth")
	}
}

// BenchmarkDeepGoroutine is a new goroutine that goes about 5 KB deep, as
// a handshake does, with a stack that grows as it goes (plain) and with one
// grown first (Grow).
func BenchmarkDeepGoroutine(b *testing.B) {
	for _, bc := range []struct {
		name string
		grow bool
	}{{"plain", false}, {"Grow", true}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				stackMoved(bc.grow, 18)
			}
		})
	}
}

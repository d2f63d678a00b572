package httpapi

import (
	"testing"
	"unsafe"
)

// An idle polling client keeps a held poll and, for its pongs, a second
// kept connection: each stays within its size class.
func TestIdlePollingStructSizes(t *testing.T) {
	if n := unsafe.Sizeof(heldPoll{}); n > 128 {
		t.Errorf("a held poll takes %d bytes; want at most 128", n)
	}
	if n := unsafe.Sizeof(keptConn{}); n > 176 {
		t.Errorf("a kept connection takes %d bytes; want at most 176", n)
	}
}

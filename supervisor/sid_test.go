package supervisor

import (
	"bytes"
	"sync"
	"testing"
)

// The pool hands out each byte once: what it handed out is cleared, a new
// read starts when fewer bytes are left than asked for, and concurrent
// readers get different bytes.
func TestRandomPool(t *testing.T) {
	var p randomPool
	var zero [sidBytes]byte
	for i := range 3 * len(p.buf) / sidBytes {
		var b [sidBytes]byte
		if err := p.read(b[:]); err != nil {
			t.Fatal(err)
		}
		if b == zero {
			t.Fatalf("read %d: no random bytes", i)
		}
		if !bytes.Equal(p.buf[:p.next], make([]byte, p.next)) {
			t.Fatalf("read %d: bytes handed out are still in the pool", i)
		}
		if want := (i%(len(p.buf)/sidBytes) + 1) * sidBytes; p.next != want {
			t.Fatalf("read %d: next = %d, want %d", i, p.next, want)
		}
	}

	var mu sync.Mutex
	seen := map[[sidBytes]byte]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				var b [sidBytes]byte
				if err := p.read(b[:]); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[b] {
					t.Errorf("bytes %x handed out twice", b)
				}
				seen[b] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

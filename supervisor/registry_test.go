package supervisor

import (
	"fmt"
	"sync"
	"testing"
	"unsafe"

	"github.com/eioactor/engineio/actors"
)

func TestRegistryShardIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(registryShard{}); n != 64 {
		t.Fatalf("a registry shard is %d bytes, want 64", n)
	}
}

// Sessions are found by sid from any goroutine while the registry changes;
// Range sees every session present for the whole call, and Len counts
// them.
func TestRegistryAddLookupRemove(t *testing.T) {
	var r Registry
	infos := make([]*actors.Info, 1000)
	for i := range infos {
		infos[i] = &actors.Info{SID: fmt.Sprintf("sid-%d", i)}
		r.add(infos[i])
	}
	r.add(infos[0]) // again: still one session
	if r.Len() != len(infos) {
		t.Fatalf("Len = %d, want %d", r.Len(), len(infos))
	}

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(infos); i += 4 {
				if got, ok := r.Lookup(infos[i].SID); !ok || got != infos[i] {
					t.Errorf("Lookup(%q) = %v, %v", infos[i].SID, got, ok)
				}
			}
		}()
	}
	extra := &actors.Info{SID: "extra"}
	wg.Add(1)
	go func() { // changes meanwhile
		defer wg.Done()
		for range 100 {
			r.add(extra)
			r.remove(extra.SID)
		}
	}()
	seen := map[string]bool{}
	r.Range(func(info *actors.Info) bool {
		if seen[info.SID] {
			t.Errorf("Range saw %q twice", info.SID)
		}
		seen[info.SID] = true
		r.Lookup(info.SID) // fn may use the registry
		return true
	})
	wg.Wait()
	for _, info := range infos {
		if !seen[info.SID] {
			t.Fatalf("Range missed %q", info.SID)
		}
	}

	n := 0
	r.Range(func(*actors.Info) bool { n++; return n < 10 })
	if n != 10 {
		t.Fatalf("Range went on after false: %d calls", n)
	}
	for _, info := range infos {
		r.remove(info.SID)
	}
	r.remove("never added")
	if _, ok := r.Lookup(infos[0].SID); ok || r.Len() != 0 {
		t.Fatalf("after removing all: Lookup found one (%v), Len = %d", ok, r.Len())
	}
}

package main

import (
	"strings"
	"testing"
)

func TestCategory(t *testing.T) {
	for sym, want := range map[string]string{
		"runtime.mallocgcSmallScanNoHeader":                      "runtime: allocation and collection",
		"runtime.gcDrain":                                        "runtime: allocation and collection",
		"gcWriteBarrier2":                                        "runtime: allocation and collection",
		"runtime.copystack":                                      "runtime: stack growth",
		"runtime.(*unwinder).next":                               "runtime: stack growth",
		"runtime.casgstatus":                                     "runtime: scheduler, goroutines, poller, locks, other",
		"aeshashbody":                                            "runtime: maps, hashing, comparing",
		"runtime.memmove":                                        "runtime: memmove",
		"runtime.exitsyscall":                                    "system call entry and exit",
		"internal/runtime/syscall/linux.Syscall6":                "system call entry and exit",
		"syscall.RawSyscall6":                                    "system call entry and exit",
		"github.com/eioactor/engineio/httpapi.unmask":            "ours: httpapi",
		"github.com/eioactor/engineio/internal/mailbox.(*M).run": "ours: internal/mailbox",
		"github.com/eioactor/engineio.(*Server).Serve":           "ours: engineio",
		"github.com/gorilla/websocket.(*Conn).advanceFrame":      "github.com/gorilla/websocket",
		"github.com/asynkron/protoactor-go/actor.(*PID).ref":     "github.com/asynkron/protoactor-go/actor",
		"internal/poll.(*FD).Read":                               "internal/poll",
		"net/http.(*conn).serve":                                 "net/http",
		"bufio.(*Reader).fill":                                   "bufio",
		"main.run.func2":                                         "main",
	} {
		if got := category(sym); got != want {
			t.Errorf("category(%q) = %q, want %q", sym, got, want)
		}
	}
}

// Samples whose leaf frame is in the binary count, by their leaf; the
// kernel's and other binaries' do not; a frame with spaces and
// parentheses in its symbol parses.
func TestSplit(t *testing.T) {
	in := `echo 
	ffffffff82203249 _raw_spin_unlock_irqrestore ([kernel.kallsyms])
	            dd2e internal/runtime/syscall/linux.Syscall6 (/tmp/w/echo)

echo 
	           47c9a5 github.com/eioactor/engineio/httpapi.(*wsReader).readPlainFrame (/tmp/w/echo)
	           47b5af github.com/eioactor/engineio/httpapi.(*wsReader).run (/tmp/w/echo)

echo 
	           894a7 runtime.mallocgc (/tmp/w/echo)

node 
	           12345 v8::internal::Heap::Scavenge() (/usr/bin/node)

echo 
	           47c9a5 github.com/eioactor/engineio/httpapi.unmask (/tmp/w/echo)
`
	s, err := split(strings.NewReader(in), "echo")
	if err != nil {
		t.Fatal(err)
	}
	if s.total != 5 || s.user != 3 {
		t.Fatalf("total %d, user %d; want 5 and 3", s.total, s.user)
	}
	if s.by["ours: httpapi"] != 2 || s.by["runtime: allocation and collection"] != 1 {
		t.Errorf("by category: %v", s.by)
	}
	var b strings.Builder
	s.print(&b)
	if !strings.Contains(b.String(), "| ours: httpapi | 66.7 |") {
		t.Errorf("table:\n%s", b.String())
	}
}

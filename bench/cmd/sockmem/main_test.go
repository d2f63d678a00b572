package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// testConns is enough connections that the runtime's memory outside the
// heap, which it takes in chunks of 256 KB, grows in proportion: a chunk
// more or less is 131 bytes per connection, against about 550 measured.
const testConns = 2000

// measureEnv makes the test binary measure and print its figures: the
// runtime reuses the poller descriptors of closed sockets and never frees
// them, so only a fresh process shows them grow.
const measureEnv = "SOCKMEM_TEST_MEASURE"

func TestMain(m *testing.M) {
	if dialerChild() {
		os.Exit(0)
	}
	if os.Getenv(measureEnv) != "" {
		res, err := measure(testConns)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, r := range res {
			fmt.Printf("%s %f\n", r.name, r.perConn)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMeasureCountsEachConnection checks, in a fresh process, that every
// accepted connection shows in the heap's objects and in the runtime's
// memory outside the heap (the poller's descriptor of each socket), and
// that every class is reported.
func TestMeasureCountsEachConnection(t *testing.T) {
	// Both processes hold testConns descriptors; the children inherit
	// the limit.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < testConns+100 {
		if lim.Max < testConns+100 {
			t.Fatalf("the test holds %d connections in each of two processes; the open files limit allows %d", testConns, lim.Max)
		}
		raised := lim
		raised.Cur = testConns + 100
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			t.Fatalf("raising the open files limit: %v", err)
		}
		t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), measureEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("measuring: %v", err)
	}
	got := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, v, ok := strings.Cut(line, " ")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("line %q", line)
		}
		got[name] = f
	}
	for _, name := range append(classes, "VmRSS") {
		if _, ok := got[name]; !ok {
			t.Errorf("no figure for %s", name)
		}
	}
	// net's descriptor and addresses are well over 100 bytes; the
	// runtime's pollDesc alone is over 200.
	if v := got["/memory/classes/heap/objects:bytes"]; v < 100 {
		t.Errorf("heap objects per connection = %.0f B, want at least 100", v)
	}
	if v := got["/memory/classes/other:bytes"]; v < 200 {
		t.Errorf("off-heap runtime memory per connection = %.0f B, want at least 200", v)
	}
}

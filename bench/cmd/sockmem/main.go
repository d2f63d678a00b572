// Command sockmem measures what Go's net package and runtime keep for each
// accepted TCP connection, before any server code touches it: the heap
// objects (net's file descriptor, its two addresses), the runtime's memory
// outside the heap (the poller's descriptor of the socket, its finalizer
// record), and the runtime's metadata. It accepts -n connections that a
// child process (the same program, with SOCKMEM_DIAL set) dials and holds,
// and prints the difference of the runtime's memory classes
// (runtime/metrics, after a collection) and of its RSS, per connection.
// Run it in a fresh process: the runtime reuses the poller descriptors of
// closed sockets and never returns them, so only the first connections a
// process holds at once show them.
//
//	go run ./bench/cmd/sockmem -n 4000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
)

func main() {
	if dialerChild() {
		return
	}
	n := flag.Int("n", 4000, "connections to accept (each takes a descriptor on both sides)")
	flag.Parse()
	res, err := measure(*n)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockmem:", err)
		os.Exit(1)
	}
	fmt.Printf("%d accepted TCP connections, per connection (bytes):\n", *n)
	for _, r := range res {
		fmt.Printf("  %-40s %6.0f\n", r.name, r.perConn)
	}
}

// figure is one memory class's growth per accepted connection.
type figure struct {
	name    string
	perConn float64
}

// measure accepts n connections from a child process and returns the
// growth of each runtime memory class, and of VmRSS, per connection.
func measure(n int) ([]figure, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding the executable: %w", err)
	}
	child := exec.Command(self)
	child.Env = append(os.Environ(), dialEnv+"="+ln.Addr().String(), countEnv+"="+strconv.Itoa(n))
	child.Stderr = os.Stderr
	hold, err := child.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("child's stdin: %w", err)
	}
	before, rssBefore := snapshot()
	if err := child.Start(); err != nil {
		return nil, fmt.Errorf("starting the dialer: %w", err)
	}
	// A dialer that ends early (out of descriptors, say) closes the
	// listener, so that Accept does not wait for connections that will
	// not come.
	exited := make(chan error, 1)
	go func() {
		err := child.Wait()
		_ = ln.Close()
		exited <- err
	}()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for len(conns) < n {
		c, err := ln.Accept()
		if err != nil {
			// The dialer's connections that are still to come then fail.
			_ = ln.Close()
			_ = hold.Close()
			return nil, fmt.Errorf("accept %d of %d: %w (dialer: %v)", len(conns), n, err, <-exited)
		}
		conns = append(conns, c)
	}
	after, rssAfter := snapshot()
	_ = hold.Close()
	if err := <-exited; err != nil {
		return nil, fmt.Errorf("dialer: %w", err)
	}
	res := []figure{}
	for _, name := range classes {
		res = append(res, figure{name, float64(int64(after[name])-int64(before[name])) / float64(n)})
	}
	res = append(res, figure{"VmRSS", float64(rssAfter-rssBefore) / float64(n)})
	return res, nil
}

// classes are the runtime's memory classes reported, the heap's objects
// first, then what lives outside the heap.
var classes = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/total:bytes",
}

// snapshot collects garbage and reads the memory classes and VmRSS (bytes).
func snapshot() (map[string]uint64, int64) {
	runtime.GC()
	samples := make([]metrics.Sample, len(classes))
	for i, name := range classes {
		samples[i].Name = name
	}
	metrics.Read(samples)
	out := make(map[string]uint64, len(samples))
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			out[s.Name] = s.Value.Uint64()
		}
	}
	return out, vmRSS()
}

// vmRSS returns the process's resident set size in bytes, or 0 where
// /proc does not give it.
func vmRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// The child process that dials is this program (or its test binary) with
// these variables set.
const (
	dialEnv  = "SOCKMEM_DIAL"
	countEnv = "SOCKMEM_N"
)

// dialerChild runs the dialing side and reports true if this process is
// the child; it exits on failure.
func dialerChild() bool {
	addr := os.Getenv(dialEnv)
	if addr == "" {
		return false
	}
	n, err := strconv.Atoi(os.Getenv(countEnv))
	if err == nil {
		err = holdConnections(addr, n)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sockmem dialer:", err)
		os.Exit(1)
	}
	return true
}

// holdConnections dials addr n times and holds the connections until
// stdin reaches its end.
func holdConnections(addr string, n int) error {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("dial %d: %w", len(conns), err)
		}
		conns = append(conns, c)
	}
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return fmt.Errorf("waiting on stdin: %w", err)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	return nil
}

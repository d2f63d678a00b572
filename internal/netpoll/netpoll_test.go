//go:build linux

package netpoll

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const interval = 10 * time.Millisecond

// lineReader reads lines the way a connection's reader uses a Conn: it
// waits in Conn.Wait whenever its buffer is empty and returns when parked.
// With serve, its buffer reads through the Conn and it waits in
// Conn.Serve, taking the whole lines that come inside it (takeLines).
type lineReader struct {
	c       *Conn
	br      *bufio.Reader
	lines   chan string
	done    chan error
	dropped atomic.Bool // the buffer was dropped by Release
	serve   bool
}

func (r *lineReader) Resume()      { r.run() }
func (r *lineReader) Await() error { _, err := r.br.Peek(1); return err }
func (r *lineReader) Release()     { r.dropped.Store(true) }

// funcs is a Stepper made of functions; nil ones do nothing (a nil step
// leaves Serve).
type funcs struct {
	resume  func()
	await   func() error
	release func()
	step    func() bool
}

func (f funcs) Step() bool {
	if f.step != nil {
		return f.step()
	}
	return true
}

func (f funcs) Resume() {
	if f.resume != nil {
		f.resume()
	}
}

func (f funcs) Await() error {
	if f.await != nil {
		return f.await()
	}
	return nil
}

func (f funcs) Release() {
	if f.release != nil {
		f.release()
	}
}

func (r *lineReader) run() {
	for {
		if r.br.Buffered() == 0 {
			var parked bool
			if r.serve {
				parked = r.c.Serve()
			} else {
				parked = r.c.Wait()
			}
			if parked {
				return
			}
		}
		line, err := r.br.ReadString('\n')
		if err != nil {
			r.c.Unregister()
			r.done <- err
			return
		}
		r.lines <- line
	}
}

// Step makes the lineReader a Stepper: it passes on every whole line
// buffered, reading through the Conn without blocking, and leaves Serve
// for a line that has not come whole, or an error.
func (r *lineReader) Step() bool {
	for {
		if r.br.Buffered() == 0 {
			if _, err := r.br.Peek(1); err != nil {
				return err != ErrWouldBlock
			}
		}
		b, _ := r.br.Peek(r.br.Buffered())
		if bytes.IndexByte(b, '\n') < 0 {
			return true
		}
		line, _ := r.br.ReadString('\n')
		r.lines <- line
	}
}

// serves makes r wait in Serve; its buffer must be empty.
func (r *lineReader) serves() {
	r.serve = true
	r.br.Reset(r.c)
}

// bothWays runs test with readers that wait in Wait, then in Serve.
func bothWays(t *testing.T, test func(t *testing.T, serve bool)) {
	t.Run("wait", func(t *testing.T) { test(t, false) })
	t.Run("serve", func(t *testing.T) { test(t, true) })
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// pair returns both ends of a loopback TCP connection: the server's is
// registered with p and read by a lineReader.
func pair(t *testing.T, p *Poller, serve bool) (*lineReader, net.Conn) {
	t.Helper()
	return pairSize(t, p, serve, 4096, 16)
}

// pairSize is pair with a read buffer of size bytes; the reader's lines
// channel holds up to lines lines that the test has not taken yet.
func pairSize(t *testing.T, p *Poller, serve bool, size, lines int) (*lineReader, net.Conn) {
	t.Helper()
	server, client := tcpPair(t)
	r := &lineReader{br: bufio.NewReaderSize(server, size), lines: make(chan string, lines), done: make(chan error, 1)}
	r.c = p.Register(server, r)
	if r.c == nil {
		t.Fatal("Register returned nil for a TCP connection")
	}
	if serve {
		r.serves()
	}
	go r.run()
	return r, client
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func expectLine(t *testing.T, r *lineReader, want string) {
	t.Helper()
	select {
	case got := <-r.lines:
		if got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	case err := <-r.done:
		select {
		case got := <-r.lines: // read before the end, which select chose
			r.done <- err
			if got != want {
				t.Fatalf("read %q, want %q", got, want)
			}
		default:
			t.Fatalf("reader ended with %v, want line %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %q", want)
	}
}

func expectEnd(t *testing.T, r *lineReader) error {
	t.Helper()
	select {
	case got := <-r.lines:
		t.Fatalf("read %q, want the reader to end", got)
	case err := <-r.done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the reader to end")
	}
	return nil
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func TestParkAndResume(t *testing.T) { bothWays(t, testParkAndResume) }

func testParkAndResume(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	r, client := pair(t, p, serve)
	if n := p.Running(); n != 1 {
		t.Fatalf("Running() = %d with one reader up", n)
	}

	write(t, client, "a\n")
	expectLine(t, r, "a\n")
	waitFor(t, "the idle connection to be parked", func() bool { return p.Parked() == 1 })
	if n := p.Running(); n != 0 {
		t.Fatalf("Running() = %d with the only connection parked", n)
	}
	if !r.dropped.Load() {
		t.Error("Release was not called")
	}
	for i, line := range []string{"b\n", "c\n"} {
		write(t, client, line)
		expectLine(t, r, line)
		waitFor(t, "the connection to be parked again", func() bool { return p.Parked() == 1 && p.Parks() >= uint64(i+2) })
	}
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
	if n := p.Parked(); n != 0 {
		t.Fatalf("Parked() = %d after the connection closed", n)
	}
	if n := p.Running(); n != 0 {
		t.Fatalf("Running() = %d after the connection closed", n)
	}
}

func TestDataBufferedBeforeParkingResumesAtOnce(t *testing.T) {
	bothWays(t, testDataBufferedBeforeParkingResumesAtOnce)
}

func testDataBufferedBeforeParkingResumesAtOnce(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	r, client := pair(t, p, serve)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	// Two lines in one write: the second is in the reader's buffer after
	// the first, and must be read without waiting for the socket.
	write(t, client, "one\ntwo\n")
	expectLine(t, r, "one\n")
	expectLine(t, r, "two\n")
}

func TestSlowLineIsNotInterrupted(t *testing.T) { bothWays(t, testSlowLineIsNotInterrupted) }

func testSlowLineIsNotInterrupted(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	r, client := pair(t, p, serve)
	// The reader is inside ReadString, not Wait, while the rest of the
	// line takes many intervals to come: no deadline may reach it.
	write(t, client, "hel")
	time.Sleep(8 * interval)
	write(t, client, "l")
	time.Sleep(8 * interval)
	write(t, client, "o\n")
	expectLine(t, r, "hello\n")
}

func TestCloseWhileParked(t *testing.T) { bothWays(t, testCloseWhileParked) }

func testCloseWhileParked(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	r, _ := pair(t, p, serve)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	if err := r.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := expectEnd(t, r); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("reader ended with %v, want net.ErrClosed", err)
	}
	if n := p.Parked(); n != 0 {
		t.Fatalf("Parked() = %d after Close", n)
	}
}

func TestCloseWhileWaiting(t *testing.T) { bothWays(t, testCloseWhileWaiting) }

func testCloseWhileWaiting(t *testing.T, serve bool) {
	p := New(time.Hour) // never parks
	defer p.Close()
	r, _ := pair(t, p, serve)
	time.Sleep(5 * time.Millisecond) // let the reader block in Wait
	if err := r.c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := expectEnd(t, r); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("reader ended with %v, want net.ErrClosed", err)
	}
}

func TestPollerCloseResumesParked(t *testing.T) { bothWays(t, testPollerCloseResumesParked) }

func testPollerCloseResumesParked(t *testing.T, serve bool) {
	p := New(interval)
	r, client := pair(t, p, serve)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	p.Close()
	if n := p.Parked(); n != 0 {
		t.Fatalf("Parked() = %d after the poller closed", n)
	}
	// The reader is back on a goroutine and stays there.
	time.Sleep(5 * interval)
	write(t, client, "after\n")
	expectLine(t, r, "after\n")
	if n := p.Parks(); n != 1 {
		t.Fatalf("Parks() = %d, want 1: nothing parks after Close", n)
	}
	if c := p.Register(r.c.nc, funcs{}); c != nil {
		t.Fatal("Register after Close returned a Conn")
	}
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
}

func TestManyConnections(t *testing.T) { bothWays(t, testManyConnections) }

func testManyConnections(t *testing.T, serve bool) {
	const n = maxResuming + 100 // resumed faster than they settle: pace waits
	p := New(interval)
	defer p.Close()
	readers := make([]*lineReader, n)
	clients := make([]net.Conn, n)
	for i := range readers {
		readers[i], clients[i] = pair(t, p, serve)
	}
	waitFor(t, "all connections parked", func() bool { return p.Parked() == n })
	for i, c := range clients {
		write(t, c, strings.Repeat("x", i)+"\n")
	}
	for i, r := range readers {
		expectLine(t, r, strings.Repeat("x", i)+"\n")
	}
	for _, c := range clients {
		c.Close()
	}
	for _, r := range readers {
		if err := expectEnd(t, r); err != io.EOF {
			t.Fatalf("reader ended with %v, want EOF", err)
		}
	}
	p.mu.Lock()
	left := 0
	for _, c := range p.conns.slots {
		if c != nil {
			left++
		}
	}
	p.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d connections still registered after all ended", left)
	}
}

func TestRegisterOnlyPlainSockets(t *testing.T) {
	p := New(interval)
	defer p.Close()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if c := p.Register(a, funcs{}); c != nil {
		t.Fatal("Register accepted a net.Pipe")
	}
	var none *Poller
	if c := none.Register(a, funcs{}); c != nil || none.Parked() != 0 || none.Parks() != 0 {
		t.Fatal("a nil Poller registered a connection")
	}
	none.Close()
}

func TestResumedConnectionParksAfterItsMessage(t *testing.T) {
	bothWays(t, testResumedConnectionParksAfterItsMessage)
}

func testResumedConnectionParksAfterItsMessage(t *testing.T, serve bool) {
	const slow = 300 * time.Millisecond
	p := New(slow)
	defer p.Close()
	r, client := pair(t, p, serve)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	time.Sleep(slow) // parked for an interval: quiet enough to park at once
	write(t, client, "ping\n")
	expectLine(t, r, "ping\n")
	start := time.Now()
	waitFor(t, "parking again", func() bool { return p.Parked() == 1 })
	// A sweep would have taken at least one interval.
	if d := time.Since(start); d >= slow {
		t.Fatalf("parked again after %v, want at once (before the next sweep)", d)
	}
}

func TestConnectionResumedSoonWaitsAsUsual(t *testing.T) {
	bothWays(t, testConnectionResumedSoonWaitsAsUsual)
}

func testConnectionResumedSoonWaitsAsUsual(t *testing.T, serve bool) {
	const slow = 300 * time.Millisecond
	p := New(slow)
	defer p.Close()
	r, client := pair(t, p, serve)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	write(t, client, "a\n") // right after parking
	expectLine(t, r, "a\n")
	time.Sleep(20 * time.Millisecond)
	if p.Parked() != 0 {
		t.Fatal("a connection resumed soon after parking parked again at once")
	}
	write(t, client, "b\n")
	expectLine(t, r, "b\n")
	waitFor(t, "parking by the sweep", func() bool { return p.Parked() == 1 })
}

func TestParkWithoutReader(t *testing.T) {
	p := New(interval)
	defer p.Close()
	server, client := tcpPair(t)
	r := &lineReader{br: bufio.NewReader(server), lines: make(chan string, 1), done: make(chan error, 1)}
	r.c = p.Register(server, r)
	if !r.c.Park(false) {
		t.Fatal("Park failed")
	}
	if p.Parked() != 1 {
		t.Fatalf("Parked() = %d", p.Parked())
	}
	write(t, client, "first\n")
	expectLine(t, r, "first\n")
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
	if r.c.Park(false) {
		t.Fatal("Park succeeded on an unregistered connection")
	}
}

// A connection whose first registration fired and was forgotten can be
// registered again, by a new owner, and parks and resumes as the first
// time (an HTTP connection that becomes a WebSocket).
func TestRegisterAgainAfterUnregister(t *testing.T) {
	p := New(interval)
	defer p.Close()
	server, client := tcpPair(t)
	resumed := make(chan struct{}, 1)
	first := p.Register(server, funcs{resume: func() { resumed <- struct{}{} }})
	if !first.Park(false) {
		t.Fatal("Park failed")
	}
	write(t, client, "x")
	<-resumed
	first.Unregister()
	if _, err := server.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}

	r := &lineReader{br: bufio.NewReader(server), lines: make(chan string, 1), done: make(chan error, 1)}
	r.c = p.Register(server, r)
	if !r.c.Park(false) {
		t.Fatal("Park failed on the second registration")
	}
	write(t, client, "second\n")
	expectLine(t, r, "second\n")
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
}

// Peek tells data waiting from a peer that closed, and takes nothing.
func TestPeek(t *testing.T) {
	p := New(interval)
	defer p.Close()
	server, client := tcpPair(t)
	c := p.Register(server, funcs{})
	defer c.Unregister()
	if data, err := c.Peek(); data || err != nil {
		t.Fatalf("Peek on a quiet connection: %v, %v", data, err)
	}
	write(t, client, "ab")
	waitFor(t, "the data to arrive", func() bool { data, _ := c.Peek(); return data })
	client.Close()
	b := make([]byte, 2)
	if _, err := io.ReadFull(server, b); err != nil || string(b) != "ab" {
		t.Fatalf("read %q, %v after Peek; want \"ab\"", b, err)
	}
	waitFor(t, "the close to arrive", func() bool { _, err := c.Peek(); return err == io.EOF })
	server.Close()
}

// BenchmarkParkedRoundTrip is a one-byte round trip to a connection that
// is parked between bytes: the write, the poller's wake-up, a new reader
// goroutine, the read, and parking again. BenchmarkBlockedRoundTrip is the
// same with a reader goroutine blocked in Read, as without parking; the
// difference is what parking costs a message.
func BenchmarkParkedRoundTrip(b *testing.B) {
	p := New(time.Hour) // no sweeps: the reader parks itself
	defer p.Close()
	server, client := tcpPair(b)
	defer server.Close()
	got := make(chan struct{})
	buf := make([]byte, 1)
	var c *Conn
	resume := func() {
		if _, err := server.Read(buf); err != nil {
			return
		}
		if !c.Park(false) {
			return
		}
		got <- struct{}{}
	}
	c = p.Register(server, funcs{resume: resume})
	if !c.Park(false) {
		b.Fatal("Park failed")
	}
	roundTrips(b, client, got)
}

func BenchmarkBlockedRoundTrip(b *testing.B) {
	server, client := tcpPair(b)
	defer server.Close()
	got := make(chan struct{})
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := server.Read(buf); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()
	roundTrips(b, client, got)
}

// roundTrips times b.N one-byte round trips: a write on client, then the
// server's signal on got that it read the byte.
func roundTrips(b *testing.B, client net.Conn, got <-chan struct{}) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := client.Write([]byte{1}); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

// Lines that come in one write much larger than the read buffer are all
// read, with parking in between.
func TestMoreDataThanTheBuffer(t *testing.T) { bothWays(t, testMoreDataThanTheBuffer) }

func testMoreDataThanTheBuffer(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	r, client := pairSize(t, p, serve, 16, 300)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	var all strings.Builder
	for i := range 200 {
		fmt.Fprintf(&all, "line %03d\n", i)
	}
	write(t, client, all.String())
	for i := range 200 {
		expectLine(t, r, fmt.Sprintf("line %03d\n", i))
	}
}

// Data and the peer's end that come together, to a parked connection or
// a waiting reader: the reader reads the data, then the end.
func TestDataThenHangUp(t *testing.T) { bothWays(t, testDataThenHangUp) }

func testDataThenHangUp(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	for i := range 40 {
		r, client := pair(t, p, serve)
		if i%2 == 0 {
			waitFor(t, "parking", func() bool { return p.Parked() == 1 })
		}
		write(t, client, "last\n")
		client.Close()
		expectLine(t, r, "last\n")
		if err := expectEnd(t, r); err != io.EOF {
			t.Fatalf("reader ended with %v, want EOF", err)
		}
	}
}

// Many connections with small buffers, lines of every length and writes
// at random intervals, some long enough to park: every line arrives, in
// order, and every reader ends when its client closes.
func TestRandomTraffic(t *testing.T) { bothWays(t, testRandomTraffic) }

func testRandomTraffic(t *testing.T, serve bool) {
	p := New(interval)
	defer p.Close()
	const conns, lines = 40, 150
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for k := range conns {
		r, client := pairSize(t, p, serve, 32, lines)
		rnd := rand.New(rand.NewPCG(uint64(k), 1))
		want := make([]string, lines)
		for i := range want {
			want[i] = strings.Repeat("y", rnd.IntN(100)) + "\n"
		}
		pauses := make([]time.Duration, lines)
		for i := range pauses {
			if rnd.IntN(3) == 0 {
				pauses[i] = time.Duration(rnd.IntN(3 * int(interval)))
			}
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < lines; {
				var b strings.Builder
				for n := 1 + i%4; n > 0 && i < lines; n, i = n-1, i+1 {
					b.WriteString(want[i])
				}
				if _, err := io.WriteString(client, b.String()); err != nil {
					return
				}
				time.Sleep(pauses[i-1])
			}
		}()
		go func() {
			defer wg.Done()
			defer client.Close()
			for i, w := range want {
				select {
				case got := <-r.lines:
					if got != w {
						errs <- fmt.Errorf("connection %d line %d: %d bytes, want %d", k, i, len(got), len(w))
						return
					}
				case <-time.After(5 * time.Second):
					errs <- fmt.Errorf("connection %d: line %d of %d did not come", k, i, lines)
					return
				}
			}
			client.Close()
			select {
			case <-r.done:
			case <-time.After(5 * time.Second):
				errs <- fmt.Errorf("connection %d: the reader did not end", k)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p.Parks() == 0 {
		t.Error("no connection parked: the test did not cover parking")
	}
}

// An event for a connection that is gone finds nobody, though the next
// connection registered has its slot.
func TestConnTableForgetsStaleIDs(t *testing.T) {
	var tab connTable
	a, b := &Conn{}, &Conn{}
	tab.add(a)
	if tab.get(a.id) != a {
		t.Fatal("a registered connection is not found by its id")
	}
	if !tab.remove(a) || tab.remove(a) {
		t.Fatal("remove should report true once, then false")
	}
	tab.add(b)
	if uint32(b.id) != uint32(a.id) {
		t.Fatalf("the freed slot %d was not reused (got %d)", uint32(a.id), uint32(b.id))
	}
	if c := tab.get(a.id); c != nil {
		t.Fatal("the id of a connection gone finds its slot's next tenant")
	}
	if tab.get(b.id) != b {
		t.Fatal("the slot's new tenant is not found by its id")
	}
	if tab.remove(a) {
		t.Fatal("removing a connection gone empties its slot's next tenant")
	}
	if len(tab.slots) != 1 {
		t.Fatalf("%d slots for one connection at a time; want 1", len(tab.slots))
	}
}

func TestKickTakenBackWhenDataComesFirst(t *testing.T) {
	bothWays(t, testKickTakenBackWhenDataComesFirst)
}

// A kick whose wait ends with data, not with the deadline (the data comes
// between the sweeper's swap of the state and its deadline), is taken
// back: the deadline is cleared and the reader goes on, not parked. Kept,
// the past deadline would end the next wait at once, seen as no kick, and
// the reader's next read would fail with a timeout.
func testKickTakenBackWhenDataComesFirst(t *testing.T, serve bool) {
	p := New(time.Hour) // no sweep: the test kicks, as the sweep does
	defer p.Close()
	r, client := pair(t, p, serve)
	write(t, client, "one\n")
	expectLine(t, r, "one\n")
	var v uint64
	waitFor(t, "the reader to wait", func() bool { v = r.c.state.Load(); return v&3 == stateWaiting })

	r.c.mu.Lock()
	if !r.c.state.CompareAndSwap(v, v&^3|stateKicked) {
		r.c.mu.Unlock()
		t.Fatal("the reader stopped waiting")
	}
	write(t, client, "two\n")
	// The reader wakes with the data and waits for mu to take the kick
	// back; the sweeper's deadline comes first.
	time.Sleep(50 * time.Millisecond)
	_ = r.c.nc.SetReadDeadline(pastDeadline)
	r.c.mu.Unlock()

	expectLine(t, r, "two\n")
	write(t, client, "three\n")
	expectLine(t, r, "three\n")
	if n := p.Parks(); n != 0 {
		t.Errorf("parked %d times, want none", n)
	}
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
}

//go:build linux

package netpoll

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// servePair returns both ends of a loopback TCP connection, the server's
// registered with a poller that never sweeps, as c, whose reader's Step is
// whatever the test sets *step to.
func servePair(t *testing.T) (c *Conn, server, client net.Conn, step *func() bool) {
	t.Helper()
	p := New(time.Hour)
	t.Cleanup(p.Close)
	server, client = tcpPair(t)
	t.Cleanup(func() { server.Close() })
	step = new(func() bool)
	c = p.Register(server, funcs{step: func() bool { return (*step)() }})
	t.Cleanup(c.Unregister)
	return c, server, client, step
}

// expectClosedBy checks that the server's end is closed and that the client
// reads the end of the connection.
func expectClosedBy(t *testing.T, server, client net.Conn) {
	t.Helper()
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the connection after Serve: %v, want net.ErrClosed", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the client read %v, want EOF", err)
	}
}

// closeAfter closes c on a goroutine of its own, a moment after ready is
// closed: once the reader is where the test wants it to be met.
func closeAfter(t *testing.T, c *Conn, ready <-chan struct{}) {
	go func() {
		<-ready
		time.Sleep(20 * time.Millisecond)
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
}

// serveOnce runs c.Serve on a goroutine of its own and returns what it
// reported, failing the test if it does not return within 5 s.
func serveOnce(t *testing.T, c *Conn) bool {
	t.Helper()
	parked := make(chan bool, 1)
	go func() { parked <- c.Serve() }()
	select {
	case p := <-parked:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	return false
}

// serveHelloThenX serves c with a step that reads once per call: the first
// call reads "hello", which the client sends now, then runs more and
// returns to wait; the second must read the "x" that more has the client
// send.
func serveHelloThenX(t *testing.T, c *Conn, client net.Conn, step *func() bool, more func(buf []byte)) {
	t.Helper()
	// Should the second step not come, the client's end unblocks Serve,
	// and the step reads the end rather than "x".
	timer := time.AfterFunc(3*time.Second, func() { client.Close() })
	defer timer.Stop()

	write(t, client, "hello")
	waitFor(t, "the data to arrive", func() bool { data, _ := c.Peek(); return data })
	buf := make([]byte, 16)
	var steps []string
	*step = func() bool {
		n, err := c.Read(buf)
		if err != nil {
			steps = append(steps, err.Error())
			return true
		}
		steps = append(steps, string(buf[:n]))
		if len(steps) > 1 {
			return true
		}
		more(buf)
		return false
	}
	if serveOnce(t, c) {
		t.Fatal("Serve parked the connection")
	}
	if len(steps) != 2 || steps[0] != "hello" || steps[1] != "x" {
		t.Fatalf("steps read %q, want [hello x]", steps)
	}
}

// After a read that left the socket empty, Read inside Serve does not go
// to the socket again: data that comes meanwhile waits for the next step,
// which the runtime's recorded readiness starts at once.
func TestServeWaitsAfterAReadThatEmptiesTheSocket(t *testing.T) {
	c, _, client, step := servePair(t)
	serveHelloThenX(t, c, client, step, func(buf []byte) {
		write(t, client, "x")
		waitFor(t, "more data to arrive", func() bool { data, _ := c.Peek(); return data })
		if _, err := c.Read(buf); err != ErrWouldBlock {
			t.Errorf("Read after a read that emptied the socket: %v, want ErrWouldBlock without a read of the socket", err)
		}
	})
}

// A step that goes back to waiting right after a read that emptied the
// socket, without reading on to ErrWouldBlock, still reads what comes
// next: the step runs again when the poller reports the socket readable,
// and that report is newer than the emptying read.
func TestServeStepThatStopsAfterAnEmptyingRead(t *testing.T) {
	c, _, client, step := servePair(t)
	serveHelloThenX(t, c, client, step, func([]byte) {
		go func() {
			time.Sleep(20 * time.Millisecond) // once Serve waits
			_, _ = io.WriteString(client, "x")
		}()
	})
}

// Close from the step (a reader that closes its connection while it
// handles a message) does not wait for the step to leave the socket's
// read: the socket closes when Serve returns.
func TestServeCloseFromStep(t *testing.T) {
	c, server, client, step := servePair(t)
	write(t, client, "close")
	buf := make([]byte, 16)
	var closeErr, afterClose, emptyAfterClose error
	*step = func() bool {
		n, err := c.Read(buf)
		if err == ErrWouldBlock {
			return false
		}
		if err != nil || string(buf[:n]) != "close" {
			t.Errorf("Read: %q, %v", buf[:n], err)
			return true
		}
		closeErr = c.Close()
		_, afterClose = c.Read(buf)
		_, emptyAfterClose = c.Read(nil)
		return true
	}
	if serveOnce(t, c) {
		t.Fatal("Serve parked a closed connection")
	}
	if closeErr != nil {
		t.Errorf("Close: %v", closeErr)
	}
	if !errors.Is(afterClose, net.ErrClosed) {
		t.Errorf("Read after Close in the step: %v, want net.ErrClosed", afterClose)
	}
	if !errors.Is(emptyAfterClose, net.ErrClosed) {
		t.Errorf("a zero-length Read after Close in the step: %v, want net.ErrClosed, as net's Read gives", emptyAfterClose)
	}
	expectClosedBy(t, server, client)
}

// Close from another goroutine while the step is blocked in a write (to a
// client that does not read), the connection's own or Conn.Write, ends the
// write, and Serve closes the socket.
func TestServeCloseEndsABlockedWrite(t *testing.T) {
	for _, through := range []string{"net", "Conn"} {
		t.Run(through, func(t *testing.T) {
			c, server, client, step := servePair(t)
			writeTo := server.Write
			if through == "Conn" {
				writeTo = c.Write
			}
			write(t, client, "go")
			writing := make(chan struct{})
			var writeErr error
			*step = func() bool {
				if _, err := c.Read(make([]byte, 16)); err == ErrWouldBlock {
					return false
				}
				close(writing)
				// Far more than the socket buffers hold.
				_, writeErr = writeTo(make([]byte, 64<<20))
				return true
			}
			closeAfter(t, c, writing)
			if serveOnce(t, c) {
				t.Fatal("Serve parked a closed connection")
			}
			if writeErr == nil {
				t.Fatal("the blocked write succeeded")
			}
			if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("the connection after Serve: %v, want net.ErrClosed", err)
			}
		})
	}
}

// Close from another goroutine while the reader waits in Serve ends the
// wait, and Serve closes the socket.
func TestServeCloseWhileWaiting(t *testing.T) {
	c, server, client, step := servePair(t)
	waiting := make(chan struct{})
	var woken error // what Read said after the wait, if the step ran again
	*step = func() bool {
		if _, err := c.Read(make([]byte, 16)); err != ErrWouldBlock {
			woken = err
			return true
		}
		select {
		case <-waiting:
		default:
			close(waiting)
		}
		return false
	}
	closeAfter(t, c, waiting)
	if serveOnce(t, c) {
		t.Fatal("Serve parked a closed connection")
	}
	// The shutdown ends the wait with the socket's end, or the deadline
	// with a timeout that leaves the step out.
	if woken != nil && !errors.Is(woken, net.ErrClosed) {
		t.Errorf("Read after the wait: %v, want net.ErrClosed", woken)
	}
	expectClosedBy(t, server, client)
}

// Close from another goroutine while the step is busy (a slow handler)
// ends the connection for the peer at once; the descriptor is released
// when Serve returns.
func TestServeCloseDuringABusyStep(t *testing.T) {
	c, server, client, step := servePair(t)
	write(t, client, "go")
	busy, release := make(chan struct{}), make(chan struct{})
	var afterClose error
	*step = func() bool {
		if _, err := c.Read(make([]byte, 16)); err == ErrWouldBlock {
			return false
		}
		close(busy)
		<-release
		_, afterClose = c.Read(make([]byte, 16))
		return true
	}
	parked := make(chan bool, 1)
	go func() { parked <- c.Serve() }()
	<-busy
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the client read %v while the step was busy, want EOF", err)
	}
	close(release)
	select {
	case p := <-parked:
		if p {
			t.Fatal("Serve parked a closed connection")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if !errors.Is(afterClose, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", afterClose)
	}
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the connection after Serve: %v, want net.ErrClosed", err)
	}
}

// On a Unix socket (no TCP_INQ) a short read is taken as the end of the
// data, and an end that came with it is read once the sweep kicks the wait
// and the connection parks. The data and the end are both in the socket
// before the reader starts, so that no readiness report comes after the
// read that takes the data: only the kick can free the reader.
func TestServeUnixDataThenHangUp(t *testing.T) {
	p := New(interval)
	defer p.Close()
	ln, err := net.Listen("unix", t.TempDir()+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	r := &lineReader{br: bufio.NewReaderSize(server, 4096), lines: make(chan string, 4), done: make(chan error, 1)}
	if r.c = p.Register(server, r); r.c == nil {
		t.Fatal("Register returned nil for a Unix connection")
	}
	r.serves()
	write(t, client, "last\n")
	client.Close()
	time.Sleep(20 * time.Millisecond)
	go r.run()
	expectLine(t, r, "last\n")
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
	if r.c.inq != -1 {
		t.Errorf("TCP_INQ state on a Unix socket: %d, want -1", r.c.inq)
	}
	if p.Parks() == 0 {
		t.Error("the end was read without the sweep's kick: the test missed what it is for")
	}
}

// kickWhenWaiting has the sweep kick c's reader as soon as it waits, as the
// sweep does a wait that lasts from one sweep to the next; it gives up after
// 5 s. The poller's own sweeps must be far apart (New(time.Hour)), so that
// this is the only kick.
func kickWhenWaiting(c *Conn) {
	for deadline := time.Now().Add(5 * time.Second); c.state.Load()&3 != stateWaiting; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return
		}
	}
	c.p.sweep() // sees the wait
	c.p.sweep() // finds the same wait: kicks it
}

// stepless is a Reader that is no Stepper, whatever it holds.
type stepless struct{ Reader }

// Serve is Wait for a reader that is no Stepper, and for a TLS connection,
// whose socket holds records rather than what the reader reads: Await waits
// for the data, Serve reports false and the reader reads through the Conn;
// a kicked wait parks after Release, and the connection resumes when more
// comes. Step never runs.
func TestServeIsWaitWithoutAStep(t *testing.T) {
	t.Run("no Stepper", func(t *testing.T) {
		server, client := tcpPair(t)
		t.Cleanup(func() { server.Close() })
		testServeIsWait(t, client, func(p *Poller, r Reader) *Conn { return p.Register(server, stepless{r}) })
	})
	t.Run("TLS", func(t *testing.T) {
		server, client, _ := tlsConns(t)
		testServeIsWait(t, client, func(p *Poller, r Reader) *Conn { return p.RegisterTLS(server, r) })
	})
}

func testServeIsWait(t *testing.T, client net.Conn, register func(*Poller, Reader) *Conn) {
	p := New(time.Hour) // no sweeps but the test's
	defer p.Close()
	var br *bufio.Reader
	var awaits atomic.Int32
	released, resumed := make(chan struct{}, 1), make(chan struct{}, 1)
	c := register(p, funcs{
		await:   func() error { awaits.Add(1); _, err := br.Peek(1); return err },
		release: func() { released <- struct{}{} },
		resume:  func() { resumed <- struct{}{} },
		step:    func() bool { t.Error("Step ran: Serve did not wait as Wait does"); return true },
	})
	if c == nil {
		t.Fatal("not registered")
	}
	defer c.Unregister()
	br = bufio.NewReader(c)
	readLine := func(want string) {
		t.Helper()
		if line, err := br.ReadString('\n'); line != want || err != nil {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}

	write(t, client, "hello\n")
	if serveOnce(t, c) {
		t.Fatal("Serve parked a connection with data")
	}
	if n := awaits.Load(); n != 1 {
		t.Fatalf("Await ran %d times in Serve, want once", n)
	}
	readLine("hello\n")

	go kickWhenWaiting(c)
	if !serveOnce(t, c) {
		t.Fatal("Serve did not park when the sweep kicked its wait")
	}
	select {
	case <-released:
	default:
		t.Error("parked without Release")
	}
	if n := p.Parked(); n != 1 {
		t.Errorf("Parked() = %d, want 1", n)
	}
	write(t, client, "x\n")
	select {
	case <-resumed:
	case <-time.After(5 * time.Second):
		t.Fatal("the parked connection did not resume when data came")
	}
	readLine("x\n")
}

// A zero-length Read inside Serve reads nothing and reports nothing: not
// the mark that the read before it emptied the socket, which the Read after
// it still finds, and not the end of the connection, with data waiting.
func TestServeZeroLengthRead(t *testing.T) {
	c, _, client, step := servePair(t)
	serveHelloThenX(t, c, client, step, func(buf []byte) {
		write(t, client, "x")
		waitFor(t, "more data to arrive", func() bool { data, _ := c.Peek(); return data })
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Errorf("a zero-length Read after a read that emptied the socket: %d, %v; want 0, nil", n, err)
		}
		if _, err := c.Read(buf); err != ErrWouldBlock {
			t.Errorf("Read after the zero-length one: %v, want ErrWouldBlock, as the read before that emptied the socket", err)
		}
		if n, err := c.Read(nil); n != 0 || err != nil {
			t.Errorf("a zero-length Read with data waiting: %d, %v; want 0, nil", n, err)
		}
		// The next step must read the "x": serveHelloThenX checks.
	})
}

// A resumed reader that should park right after its message (see Wait), but
// cannot, is told so: Serve reports false and the reader goes on with the
// connection. When the poller closed while the step ran, parking is refused
// before Release; when the socket was closed under the step (not through
// the Conn), arming it fails after Release, and the reader must restore
// what it dropped.
func TestServeQuickParkFails(t *testing.T) {
	t.Run("poller closed", func(t *testing.T) {
		r, client := quickParkFails(t, func(r *lineReader) { r.c.p.Close() })
		write(t, client, "y\n")
		expectLine(t, r, "y\n")
		if r.dropped.Load() {
			t.Error("Release ran, though the poller had closed")
		}
		client.Close()
		if err := expectEnd(t, r); err != io.EOF {
			t.Fatalf("reader ended with %v, want EOF", err)
		}
	})
	t.Run("socket closed", func(t *testing.T) {
		closed := make(chan struct{})
		t.Cleanup(func() { <-closed })
		r, _ := quickParkFails(t, func(r *lineReader) {
			// Close waits for the step to leave the socket's read; it has
			// begun when Control fails.
			go func() { r.c.nc.Close(); close(closed) }()
			waitFor(t, "the socket to close", func() bool { return r.c.raw.Control(func(uintptr) {}) != nil })
		})
		if err := expectEnd(t, r); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("reader ended with %v, want net.ErrClosed", err)
		}
		if !r.dropped.Load() {
			t.Error("Release did not run before the arming that failed")
		}
	})
}

// quickParkFails parks a Serve reader for an interval, then wakes it with
// a line, and runs during while its step, inside Serve, waits for the test
// to take the line; the step then leaves Serve to park at once.
func quickParkFails(t *testing.T, during func(r *lineReader)) (*lineReader, net.Conn) {
	t.Helper()
	p := New(interval)
	t.Cleanup(p.Close)
	r, client := pairSize(t, p, true, 4096, 0) // a step waits for each line to be taken
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	time.Sleep(interval) // parked an interval: the resumed reader parks after its message
	r.dropped.Store(false)
	write(t, client, "x\n")
	waitFor(t, "the resumed reader to serve", func() bool {
		r.c.mu.Lock()
		defer r.c.mu.Unlock()
		return r.c.serving
	})
	during(r)
	expectLine(t, r, "x\n")
	// Checked once the test has seen the reader go on.
	t.Cleanup(func() {
		if n, parks := p.Parked(), p.Parks(); n != 0 || parks != 1 {
			t.Errorf("Parked() = %d, Parks() = %d; want 0, 1: the quick park failed", n, parks)
		}
	})
	return r, client
}

// Poller.Close while the reader waits in Serve leaves the wait alone (the
// poller parks nothing more, and Serve waits for the runtime's poller, not
// for it): the data that comes next is read as usual. A kick that the sweep
// made just before Close ends the wait, but cannot park: Serve reports
// false, having taken back the kick's deadline, and the reader reads on.
func TestPollerCloseWhileServing(t *testing.T) {
	for _, kicked := range []bool{false, true} {
		t.Run(fmt.Sprintf("kicked=%v", kicked), func(t *testing.T) {
			p := New(time.Hour) // no sweeps but the test's
			defer p.Close()
			r, client := pair(t, p, true)
			waitFor(t, "the reader to wait", func() bool { return r.c.state.Load()&3 == stateWaiting })
			p.Close()
			if kicked {
				kickWhenWaiting(r.c)
				// Data that came first would take the kick back.
				waitFor(t, "the kicked wait to end", func() bool { return r.c.state.Load()&3 == stateRunning })
			}
			for _, line := range []string{"x\n", "y\n"} {
				write(t, client, line)
				expectLine(t, r, line)
			}
			if r.dropped.Load() || p.Parks() != 0 {
				t.Errorf("Release ran (%v), parks %d, after the poller closed", r.dropped.Load(), p.Parks())
			}
			client.Close()
			if err := expectEnd(t, r); err != io.EOF {
				t.Fatalf("reader ended with %v, want EOF", err)
			}
		})
	}
}

// Close while the reader waits in Serve ends the wait with a timeout (the
// read deadline), not only with the readiness that the shutdown brings: a
// step that the shutdown wakes but that does not read on leaves Serve too.
func TestServeCloseEndsTheWaitWithATimeout(t *testing.T) {
	c, server, client, step := servePair(t)
	waiting := make(chan struct{})
	*step = func() bool {
		select {
		case <-waiting: // woken after Close: does not read
		default:
			if _, err := c.Read(make([]byte, 16)); err != ErrWouldBlock {
				t.Errorf("Read: %v, want ErrWouldBlock", err)
				return true
			}
			close(waiting)
		}
		return false
	}
	closeAfter(t, c, waiting)
	if serveOnce(t, c) {
		t.Fatal("Serve parked a closed connection")
	}
	expectClosedBy(t, server, client)
}

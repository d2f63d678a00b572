// Package netpoll lets the reader goroutine of a quiet connection end, and
// starts a new one when data arrives.
//
// A server with a goroutine per connection pays that goroutine's stack for
// every idle client: at tens of thousands of idle WebSockets it is the
// largest cost of a session. A Poller watches the connections whose reader
// has waited for data longer than its interval, and parks them: the reader
// returns, the connection is registered for readability with the operating
// system's readiness API (epoll), and its Reader's Resume runs on a new
// goroutine when the connection becomes readable, hangs up or is closed.
// A new connection may also start parked (Conn.Park), with no reader yet.
//
// The reader must wait for data outside any parser it cannot interrupt:
// the Poller ends a wait by setting a read deadline in the past, which the
// reader sees as a timeout. Conn.Wait does that dance; the wait itself is
// the Reader's Await (a Peek on the bufio.Reader that its parser reads
// from).
//
// A TLS connection (RegisterTLS) keeps data of its own that readiness does
// not reveal: records read from the socket but not yet returned. It is
// parked only after a read through it has timed out, which shows that it
// holds no complete record (crypto/tls survives a read timeout, as net/http
// relies on): the sweep's kick, or a read with a deadline in the past
// (Wait, for a reader that would park right after its message, and
// Conn.ParkTLS), which Go's poller times out before it reads the socket.
// Conn.Park declines it.
//
// A reader that can handle what it reads without blocking may wait in
// Conn.Serve instead of Wait. Its buffer then reads through the Conn
// (Conn.Read), and its handling runs inside one read of the socket
// (syscall.RawConn.Read), which keeps the runtime's record of readiness
// between messages: after a read that emptied the socket (as TCP_INQ's
// count tells on TCP, a short read elsewhere), it waits for the runtime's
// poller rather than read again to find nothing, as each of Go's own reads
// must (each starts by forgetting the readiness the poller recorded). That
// saves a system call per message.
//
// On systems without epoll, and for connections that are neither sockets
// nor TLS over one, New or Register return nil and readers simply block,
// as without this package.
package netpoll

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Reader states, in the low two bits of Conn.state; the rest counts waits.
const (
	stateRunning uint64 = iota // reading or handling, not waiting
	stateWaiting               // in Wait, not yet seen idle
	stateKicked                // the poller ended the wait with a deadline
)

// epoch is where Conn.parkedAt counts from.
var epoch = time.Now()

// pastDeadline ends a wait at once.
var pastDeadline = time.Unix(1, 0)

// IdleAfter is the interval of the servers' pollers: a WebSocket reader
// that has waited for data this long (up to twice this) gives its
// goroutine back. Tests shorten it to park connections all the time.
var IdleAfter = time.Second

// StartParkedAbove is the number of readers up (registered, not parked)
// above which a server starts new connections parked rather than with a
// reader of their own: in a storm of connections. Tests set it to 0 to
// start every connection parked.
var StartParkedAbove = 100

// Poller parks idle connections. Its methods are safe for concurrent use.
type Poller struct {
	interval time.Duration
	sys      *sysPoller

	mu     sync.Mutex
	conns  connTable // registered
	closed bool
	done   chan struct{}

	registered atomic.Int64  // connections registered now
	parked     atomic.Int64  // connections parked now
	parks      atomic.Uint64 // times a connection was parked
	resuming   atomic.Int64  // resumed readers that have not yet settled
}

// maxResuming bounds the resumed readers the poller lets run at a time
// before it waits for some to settle (see pace): when a heartbeat wakes
// every connection at once, their goroutines, and stacks, come a few
// hundred at a time, not all together.
const maxResuming = 256

// maxPace bounds one wait of pace: readers held up by the application do
// not stop the poller.
const maxPace = 10 * time.Millisecond

// Parked returns how many connections are parked now.
func (p *Poller) Parked() int {
	if p == nil {
		return 0
	}
	return int(p.parked.Load())
}

// Running returns how many registered connections are not parked now:
// their reader has a goroutine.
func (p *Poller) Running() int {
	if p == nil {
		return 0
	}
	return int(p.registered.Load() - p.parked.Load())
}

// Parks returns how many times a connection was parked.
func (p *Poller) Parks() uint64 {
	if p == nil {
		return 0
	}
	return p.parks.Load()
}

// New starts a poller that parks a connection once its reader has waited
// at least interval (and at most twice that) for data. It returns nil where
// parking is not supported; a nil *Poller registers nothing.
func New(interval time.Duration) *Poller {
	sys, err := newSysPoller()
	if err != nil {
		return nil
	}
	p := &Poller{interval: interval, sys: sys, done: make(chan struct{})}
	go p.run()
	return p
}

// Close stops the poller: parked connections resume, and no connection is
// parked from then on. It waits for the poller's goroutine to end.
func (p *Poller) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return
	}
	p.closed = true
	conns := make([]*Conn, 0, p.registered.Load())
	for _, c := range p.conns.slots {
		if c != nil {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.unpark(true)
	}
	p.sys.wake()
	<-p.done
}

// Reader is the owner of a registered connection: what reads it. A
// Reader is an interface rather than three functions so that registering
// binds no method value: an idle session keeps its connection's
// registration for as long as it lives.
type Reader interface {
	// Resume is what the reader runs on: the poller starts it on a new
	// goroutine when a parked connection becomes readable, hangs up or is
	// closed.
	Resume()
	// Await blocks until the connection has data to read, or fails (a
	// read deadline passing among the causes), and returns the error: a
	// Peek of one byte on the bufio.Reader the reader's parser reads
	// from. Wait and ParkTLS call it on the reader's goroutine.
	Await() error
	// Release runs on the reader's goroutine just before the connection
	// is armed to park (Wait, ParkTLS, Park(true)): the reader may drop
	// its buffers there. If parking then fails, the reader must restore
	// them.
	Release()
}

// A Stepper is a Reader that can handle what it reads without blocking,
// and so wait in Conn.Serve.
type Stepper interface {
	Reader
	// Step runs inside Serve, on the reader's goroutine, whenever data
	// may have come. It reads through the Conn (Read), handles what it
	// can, and returns false when Read says ErrWouldBlock (Serve then
	// waits for the socket), or true to leave Serve: to read what may
	// block (the rest of a message, say), or after an error of Read.
	Step() bool
}

// Register watches nc, whose reader r calls Wait before each read that may
// block. Register returns nil (readers then block as usual) when p is nil
// or closed, or when nc is not a TCP or Unix socket.
func (p *Poller) Register(nc net.Conn, r Reader) *Conn {
	return p.register(nc, nc, r)
}

// RegisterTLS is Register for a TLS connection over a TCP or Unix socket,
// whose reader reads through tc. Such a connection parks only once a wait
// has timed out (see the package comment): Conn.Park declines it.
func (p *Poller) RegisterTLS(tc *tls.Conn, r Reader) *Conn {
	return p.register(tc, tc.NetConn(), r)
}

// register watches nc, a connection over the socket sock.
func (p *Poller) register(nc, sock net.Conn, r Reader) *Conn {
	if p == nil {
		return nil
	}
	switch sock.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	raw, err := sock.(syscall.Conn).SyscallConn()
	if err != nil {
		return nil
	}
	c := &Conn{p: p, nc: nc, raw: raw, r: r, wrapped: nc != sock}
	c.stepper, _ = r.(Stepper)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.conns.add(c)
	p.registered.Add(1)
	return c
}

func (p *Poller) run() {
	defer close(p.done)
	next := time.Now().Add(p.interval) // the next sweep
	for {
		ids, err := p.sys.wait(next)
		if err != nil {
			return
		}
		for _, id := range ids {
			p.mu.Lock()
			c := p.conns.get(id)
			p.mu.Unlock()
			if c != nil {
				c.unpark(false)
			}
		}
		p.pace()
		p.mu.Lock()
		closed := p.closed
		p.mu.Unlock()
		if closed {
			_ = p.sys.close()
			return
		}
		if now := time.Now(); !now.Before(next) {
			next = now.Add(p.interval)
			p.sweep()
		}
	}
}

// pace waits, up to maxPace, while more than maxResuming resumed readers
// have not settled (parked again, or waiting like any other reader).
func (p *Poller) pace() {
	if p.resuming.Load() <= maxResuming {
		return
	}
	deadline := time.Now().Add(maxPace)
	for p.resuming.Load() > maxResuming/2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Microsecond)
	}
}

// sweep kicks the readers that have been waiting since the last sweep.
func (p *Poller) sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns.slots {
		if c == nil {
			continue
		}
		v := c.state.Load()
		if v&3 != stateWaiting || v != c.seen {
			c.seen = v
			continue
		}
		c.mu.Lock()
		if c.state.CompareAndSwap(v, v&^3|stateKicked) {
			_ = c.nc.SetReadDeadline(pastDeadline)
		}
		c.mu.Unlock()
	}
}

// Conn is one registered connection.
type Conn struct {
	p   *Poller
	id  uint64 // its key in the poller's table, and its epoll events' data
	nc  net.Conn
	raw syscall.RawConn // the socket's, under TLS too
	r   Reader

	state    atomic.Uint64 // wait count << 2 | reader state
	waits    uint64        // the reader's own count; only the reader uses it
	parkedAt time.Duration // since epoch; with mu
	seen     uint64        // state at the last sweep; only the poller uses it

	// Serve's loop, used by the reader only.
	stepper Stepper            // r, if it is one
	serveFn func(uintptr) bool // serve, bound once
	waitV   uint64             // the state of Serve's wait in progress; 0 if none

	// Write's state, used by the Write that set wstate from 0 to 1.
	writeFn func(uintptr) bool // write, bound at the first Write
	wbuf    []byte             // what is left to write

	mu sync.Mutex

	// closing is set when Close comes during Serve, which then closes
	// the socket as it returns.
	closing atomic.Bool
	// wstate is 0 when no Write is under way, 1 during one, and 1 plus
	// the error number once its system call has failed.
	wstate atomic.Int32

	// wrapped is set for a TLS connection: it parks only after a read
	// through it has timed out (see the package comment).
	wrapped bool
	// resumed is 1 when the reader was resumed by the poller, 2 once it
	// has waited for (and read) the data that woke it: its next wait parks
	// at once. A connection that was quiet enough to park is likely quiet
	// again after a message (a pong, say), so its goroutine ends as soon
	// as the message is handled, not a sweep later. Only the reader uses
	// it after the resume.
	resumed uint8
	// quick is set with resumed when the connection had been parked for
	// at least an interval: the reader parks again right after the
	// message that woke it. One that comes back sooner waits as usual,
	// so that a conversation does not pay a park for every message.
	quick bool
	// wlast is set for a WriteLast, by the Write that set wstate from 0
	// to 1.
	wlast bool

	// Serve's, used by the reader only.
	fd      int32 // the socket, during Serve
	emptied bool  // the last read of fd left it empty
	inq     int8  // TCP_INQ: 0 not tried yet, 1 on, -1 not available
	parkNow bool  // Serve left to park (a resumed reader's quick park)

	// With mu.
	added  bool // registered with the system poller (re-armed since)
	parked bool // the reader returned; Resume is due
	closed bool
	// serving is set while the reader is in Serve, holding the socket for
	// reading (Read then reads it without blocking). Only the reader
	// writes it, with mu; it reads it without.
	serving bool
}

// Wait is called by the reader, when its buffer is empty, to wait for
// data: it calls the Reader's Await, which blocks until the connection is
// readable or its read deadline passes. It reports whether the connection
// was parked, in which case the reader must return at once and touch
// nothing: Resume may already be running. Otherwise the reader goes on
// reading, and its next read meets the failure Await met, if any, again;
// but a reset, which the kernel reports once, then reads as the end
// (io.EOF).
//
// A reader resumed by the poller waits for the data that woke it as
// usual; if the connection had been parked for an interval or more, its
// next Wait parks at once, without waiting.
//
// The Reader's Release runs before the connection parks. If parking then
// fails, Wait returns false and the reader must restore what it dropped.
func (c *Conn) Wait() bool {
	switch c.resumed {
	case 1:
		c.resumed = 2
	case 2:
		if c.quick && c.wrapped && !c.drained() {
			// TLS had a record: the reader goes on with it, and its next
			// Wait tries again.
			return false
		}
		c.settled()
		if c.quick {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.park(true)
		}
	}
	c.waits++
	v := c.waits<<2 | stateWaiting
	c.state.Store(v)
	return c.endWait(v, c.r.Await())
}

// ErrWouldBlock is Read's error inside Serve when reading would wait.
var ErrWouldBlock = errors.New("netpoll: no data yet")

// Read reads the connection. Inside Serve (from Step) it never blocks:
// it returns ErrWouldBlock when the socket has no data, or when its last
// read left it empty (see Serve); the wait that follows is Serve's.
// Otherwise it is the connection's own Read.
func (c *Conn) Read(p []byte) (int, error) {
	if !c.serving {
		return c.nc.Read(p)
	}
	// Closed first, as net's Read checks: a zero-length read of a closed
	// connection fails too.
	if c.closing.Load() {
		return 0, net.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	if c.emptied {
		c.emptied = false
		return 0, ErrWouldBlock
	}
	var n, left int
	var err error
	if c.inq > 0 {
		n, left, err = readSocketInq(int(c.fd), p)
	} else {
		n, err = readSocket(int(c.fd), p)
		left = -1
	}
	switch {
	case err == syscall.EAGAIN:
		return 0, ErrWouldBlock
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	case n == 0:
		return 0, io.EOF
	}
	if left >= 0 {
		// The kernel's count, which a FIN that came with the data keeps
		// from zero.
		c.emptied = left == 0
	} else {
		c.emptied = n < len(p)
	}
	return n, nil
}

// Write writes p to the connection, as the connection's own Write does,
// and beside it: each holds the socket's write lock for a whole write, so
// neither's bytes come between the other's. On a plain socket (not TLS)
// on Linux, Write calls the system itself, with raw calls that never wait
// in the kernel (see writeSocket); when the socket is full, Write waits in
// the runtime's poller as the connection's Write does, until its write
// deadline. Elsewhere, and while another Write of c is under way, it is
// the connection's Write.
func (c *Conn) Write(p []byte) (int, error) {
	return c.writeRaw(p, false)
}

// WriteLast is Write for the last bytes the connection sends (a close
// frame, say, before the connection is closed): where Write makes its own
// calls, it also ends the connection's outgoing stream (a shutdown of its
// write side) under the same write lock once p is written, and p's last
// segment, held back until then (MSG_MORE), carries the FIN: the peer gets
// one segment where a write and the close would send two. Later writes
// fail. Elsewhere it is Write, and the stream ends when the caller closes
// the connection, as it must in either case.
func (c *Conn) WriteLast(p []byte) (int, error) {
	return c.writeRaw(p, true)
}

func (c *Conn) writeRaw(p []byte, last bool) (int, error) {
	if !rawWrites || c.wrapped || len(p) == 0 || !c.wstate.CompareAndSwap(0, 1) {
		return c.nc.Write(p)
	}
	if c.writeFn == nil {
		c.writeFn = c.write
	}
	c.wbuf, c.wlast = p, last
	err := c.raw.Write(c.writeFn)
	n := len(p) - len(c.wbuf)
	c.wbuf = nil
	errno := syscall.Errno(c.wstate.Load() - 1)
	c.wstate.Store(0)
	switch {
	case err != nil:
		// The runtime's failure (a deadline, a closed connection), as
		// the connection's Write reports it.
		var oe *net.OpError
		if errors.As(err, &oe) {
			oe.Op = "write"
		}
	case errno != 0:
		err = &net.OpError{Op: "write", Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("write", errno)}
	}
	return n, err
}

// write is Write's step, with the socket's write lock held: it writes what
// is left, and reports false to wait until the socket takes more. The step
// that finishes a WriteLast shuts the write side down.
func (c *Conn) write(fd uintptr) bool {
	n, errno := writeSocket(int(fd), c.wbuf, c.wlast)
	c.wbuf = c.wbuf[n:]
	switch errno {
	case 0:
		if c.wlast {
			shutdownWrite(int(fd))
		}
		return true
	case syscall.EAGAIN:
		return false
	}
	c.wstate.Store(1 + int32(errno))
	return true
}

// Serve is Wait for a reader that is a Stepper and reads through c (Read):
// it runs the reader's Step inside one read of the socket, whenever data
// may have come, until Step returns true; the reader then goes on as after
// Wait, reading through c as usual. Like Wait, Serve reports whether the
// connection was parked, in which case the reader must return at once.
//
// A read inside Serve that leaves the socket empty makes Serve wait for
// the runtime's poller to report more rather than read again. On TCP the
// read is a recvmsg that carries the kernel's count of what the socket
// still holds (TCP_INQ, set on the first Serve), which the peer's FIN
// keeps from zero; elsewhere (a Unix socket, a kernel without TCP_INQ) a
// read that returned less than it asked for is taken as empty. What that
// misses is the peer's end when it comes in one readiness report with the
// last data: a reset on TCP, and also a FIN elsewhere. Nothing reports it
// again, and the reader sees it once the poller's sweep has kicked the
// wait (IdleAfter to twice that later) and the connection parks, which
// finds it at once.
//
// Close, from Step or elsewhere, while the reader is in Serve, shuts the
// connection down at once and wakes the reader (a wait for data ends, with
// a timeout at the latest; a blocked write of its fails, with a broken pipe
// or a timeout, whichever comes first; Read says net.ErrClosed); the
// descriptor is released when Serve returns. A TLS connection's Serve is
// Wait, as is that of a reader that is no Stepper.
func (c *Conn) Serve() bool {
	if c.wrapped || c.stepper == nil {
		return c.Wait()
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.serving = true
	c.mu.Unlock()
	if c.serveFn == nil {
		c.serveFn = c.serve
	}
	c.parkNow = false
	err := c.raw.Read(c.serveFn)

	c.mu.Lock()
	c.serving = false
	c.mu.Unlock()
	if c.closing.Load() {
		// Close came meanwhile (the reader is here, so not parked).
		_ = c.nc.Close()
		return false
	}
	if v := c.waitV; v != 0 {
		// The read ended in a wait: kicked, or the connection failed.
		c.waitV = 0
		return c.endWait(v, err)
	}
	if c.parkNow {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.park(true)
	}
	return false
}

// serve is Serve's function inside the socket's read: it runs Step, and
// returns false to wait for the socket, true to end the read.
func (c *Conn) serve(fd uintptr) bool {
	c.fd = int32(fd)
	// Each call follows a report that the socket is readable (or is the
	// first): a read that emptied the socket before it is no reason not
	// to read, should Step have waited without reading on.
	c.emptied = false
	if c.inq == 0 {
		c.inq = -1
		if enableInq(int(c.fd)) {
			c.inq = 1
		}
	}
	if v := c.waitV; v != 0 {
		// Back from a wait, with data (or a wait that found the socket
		// ready at once): a kick that came meanwhile is taken back.
		c.waitV = 0
		c.endWait(v, nil)
	}
	if c.stepper.Step() {
		return true
	}
	if c.resumed != 0 {
		// A resumed reader has handled what woke it (see Wait).
		quick := c.quick
		c.settled()
		if quick {
			c.parkNow = true
			return true
		}
	}
	c.waits++
	c.waitV = c.waits<<2 | stateWaiting
	c.state.Store(c.waitV)
	return false
}

// endWait ends the reader's wait, whose state was v, with err: what the
// wait met (nil if data came). If the sweeper kicked it, the deadline is
// taken back, and the connection parks if the wait timed out; endWait
// reports whether it parked. Called by the reader.
func (c *Conn) endWait(v uint64, err error) bool {
	//lint:ignore SA4016 stateRunning is 0; the name says which state is set
	if c.state.CompareAndSwap(v, c.waits<<2|stateRunning) {
		return false
	}
	// Kicked: the sweeper holds c.mu until the deadline is set.
	c.mu.Lock()
	defer c.mu.Unlock()
	//lint:ignore SA4016 stateRunning is 0; the name says which state is set
	c.state.Store(c.waits<<2 | stateRunning)
	_ = c.nc.SetReadDeadline(time.Time{})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.settled()
	return c.park(true)
}

// drained tells whether a TLS connection holds nothing that readiness would
// not reveal: it waits with a deadline in the past, so that the wait returns
// buffered data at once, and times out only if a read had to go to the
// socket. Otherwise the reader goes on and reads what the wait found.
// Called by the reader; the sweeper does not move the deadline meanwhile,
// as the reader is not waiting.
func (c *Conn) drained() bool {
	return errors.Is(c.probe(), os.ErrDeadlineExceeded)
}

// probe runs the Reader's Await with a read deadline in the past and
// returns its error: os.ErrDeadlineExceeded when it found nothing buffered
// and had to go to the socket (see drained).
func (c *Conn) probe() error {
	_ = c.nc.SetReadDeadline(pastDeadline)
	err := c.r.Await()
	_ = c.nc.SetReadDeadline(time.Time{})
	return err
}

// settled ends the resume of a resumed reader. Called by the reader.
func (c *Conn) settled() {
	if c.resumed != 0 {
		c.resumed = 0
		c.p.resuming.Add(-1)
	}
}

// Park parks the connection at once. Its owner calls it instead of
// starting a reader, or its reader instead of Wait, when nothing is
// buffered (just after Register, say). With release, the Reader's Release
// runs first. If it reports false, the owner starts the reader after all,
// or the reader goes on. A TLS connection is never parked this way: what
// it buffers is not known without a read.
func (c *Conn) Park(release bool) bool {
	if c.wrapped {
		return false
	}
	c.settled()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.park(release)
}

// ParkTLS is Park for a TLS connection (RegisterTLS), whose owner is not
// reading it (a held long-poll's): it runs the Reader's Await with a
// deadline in the past and parks at once, after Release, only if Await
// timed out, so that nothing whole waits inside crypto/tls. Otherwise it
// returns Await's error: nil when data has come (Await has buffered it), or
// why the connection cannot be read. It returns net.ErrClosed when the
// connection is closed or cannot be armed.
func (c *Conn) ParkTLS() (parked bool, err error) {
	c.settled()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, net.ErrClosed
	}
	if err := c.probe(); !errors.Is(err, os.ErrDeadlineExceeded) {
		return false, err
	}
	if !c.park(true) {
		return false, net.ErrClosed
	}
	return true, nil
}

// park arms the connection and marks it parked, after the Reader's
// Release with release. Called with c.mu.
func (c *Conn) park(release bool) bool {
	if c.closed {
		return false
	}
	if release {
		c.r.Release()
	}
	if err := c.arm(); err != nil {
		return false
	}
	c.parked = true
	c.parkedAt = time.Since(epoch)
	c.p.parked.Add(1)
	c.p.parks.Add(1)
	return true
}

// arm registers the connection for one readiness event. Called with c.mu.
func (c *Conn) arm() error {
	var err error
	cerr := c.raw.Control(func(fd uintptr) {
		err = c.p.sys.arm(int(fd), c.id, c.added)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	c.added = true
	return nil
}

// unpark resumes a parked connection; final also tells it that the
// poller is closing, so that it is not parked again.
func (c *Conn) unpark(final bool) {
	c.mu.Lock()
	if final {
		c.closed = true
	}
	resume := c.parked
	c.parked = false
	if resume && !final {
		c.resumed = 1
		c.quick = time.Since(epoch)-c.parkedAt >= c.p.interval
		c.p.resuming.Add(1)
	}
	c.mu.Unlock()
	if resume {
		c.p.parked.Add(-1)
		go c.r.Resume()
	}
}

// Close closes the connection; a parked reader resumes and sees it closed.
//
// Nothing is removed from the system poller, here or in Unregister: a
// registration that has fired stays disabled until re-armed, and closing
// the socket removes it. An event that comes in between finds the
// connection unregistered or not parked, and is dropped.
//
// While the reader is in Serve, the descriptor is closed when Serve
// returns: closing it now would wait for the reader to leave the socket's
// read, for ever if Close runs on the reader's goroutine (its Step's).
// Close then shuts the connection down, so that the peer sees it end at
// once, even while a Step takes its time (on Linux the shutdown alone
// also fails a blocked write, with a broken pipe); ends the reader's wait
// and any blocked write with a deadline in the past, should the shutdown
// not wake them; and returns.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closed = true
	if c.serving {
		first := !c.closing.Swap(true)
		c.mu.Unlock()
		if first {
			_ = c.raw.Control(func(fd uintptr) { _ = shutdownSocket(int(fd)) })
			_ = c.nc.SetReadDeadline(pastDeadline)
			_ = c.nc.SetWriteDeadline(pastDeadline)
		}
		return nil
	}
	resume := c.parked
	c.parked = false
	c.mu.Unlock()
	err := c.nc.Close()
	if resume {
		c.p.parked.Add(-1)
		go c.r.Resume()
	}
	return err
}

// Peek tells, without taking any data, whether the connection has data
// waiting (data) or has hung up (err; io.EOF when the peer closed it). It
// does not wait. Its owner calls it when a parked connection resumed while
// the owner was not going to read: to tell a client that went away from
// one that sent its next request early. It looks at the socket: under TLS,
// data may be a record that carries nothing for the reader, or the
// client's close.
func (c *Conn) Peek() (data bool, err error) {
	cerr := c.raw.Control(func(fd uintptr) { data, err = peek(int(fd)) })
	if cerr != nil {
		return false, cerr
	}
	return data, err
}

// Unregister forgets the connection; the reader calls it when it ends for
// good.
func (c *Conn) Unregister() {
	c.settled()
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.p.mu.Lock()
	if c.p.conns.remove(c) {
		c.p.registered.Add(-1)
	}
	c.p.mu.Unlock()
}

// connTable holds the registered connections by id, the data epoll hands
// back with an event: a slot's index in the low 32 bits and, in the high
// ones, a count that differs from the slot's last tenant's, so that an
// event of a connection gone finds no one in its slot's next tenant. A
// slot costs 8 bytes, where a map's entry cost about 64, and a freed one
// is reused. Used with Poller.mu.
type connTable struct {
	slots []*Conn
	free  []uint32 // indexes of empty slots
	gen   uint32   // the count of the last registration
}

func (t *connTable) add(c *Conn) {
	var i uint32
	if n := len(t.free); n > 0 {
		i, t.free = t.free[n-1], t.free[:n-1]
	} else {
		i = uint32(len(t.slots))
		t.slots = append(t.slots, nil)
	}
	t.gen++
	c.id = uint64(t.gen)<<32 | uint64(i)
	t.slots[i] = c
}

// get returns the connection registered under id, or nil.
func (t *connTable) get(id uint64) *Conn {
	if i := uint32(id); int(i) < len(t.slots) {
		if c := t.slots[i]; c != nil && c.id == id {
			return c
		}
	}
	return nil
}

// remove empties c's slot; it reports false if c was not registered.
func (t *connTable) remove(c *Conn) bool {
	if t.get(c.id) != c {
		return false
	}
	i := uint32(c.id)
	t.slots[i] = nil
	t.free = append(t.free, i)
	return true
}

package engineio_test

// Bounded outbound queues (WithOutboundQueue) against a client that stops
// reading: the TCP connection stalls, the session's writer blocks, and what
// the application sends waits in the session's queue, where the limits and
// the overflow policy apply. Memory stays flat whatever the producer does,
// and other sessions on the same server are not slowed down.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/metrics"
)

const (
	bpQueuePackets = 512
	bpQueueBytes   = 512 << 10 // 512 messages of 1 KiB
	bpMessageSize  = 1 << 10
	// bpRun is how long the producer runs.
	bpRun = 1200 * time.Millisecond
	// A stalled session may hold three queues' worth of messages: its
	// queue, the batch its writer is stuck on (at most a queue), and the
	// sends still in its mailbox when the queue filled up. bpSlack is
	// the heap allowed beyond that: gorilla's buffers, and what the
	// runtime and the test itself have in use.
	bpSlack = 4 << 20
)

// bpServer is an echo server whose connections have small send buffers, so
// that a client that does not read (and has a small receive buffer) stalls
// the server's writes after a few hundred KiB instead of the tens of MiB
// the kernel would buffer otherwise.
type bpServer struct {
	srv      *engineio.Server
	counters *metrics.Counters
	ts       *httptest.Server
	listener *bpListener
	wsURL    string
	reasons  sync.Map // sid -> chan engineio.Reason
}

func newBPServer(t *testing.T, policy engineio.OverflowPolicy) *bpServer {
	t.Helper()
	counters := &metrics.Counters{}
	srv, err := engineio.NewServer(
		engineio.WithMetrics(counters),
		engineio.WithOutboundQueue(bpQueuePackets, bpQueueBytes, policy),
		engineio.WithPingInterval(time.Minute),
		// Longer than the test: the stalled writer must not time out.
		engineio.WithWriteTimeout(time.Minute),
	)
	if err != nil {
		t.Fatal(err)
	}
	b := &bpServer{srv: srv, counters: counters}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) { _ = s.Send(msg.Text()) })
	srv.OnDisconnect(func(s *engineio.Session, reason engineio.Reason) { b.reasonsOf(s.ID()) <- reason })
	b.ts = httptest.NewUnstartedServer(srv)
	b.listener = &bpListener{Listener: b.ts.Listener}
	b.ts.Listener = b.listener
	b.ts.Start()
	b.wsURL = "ws" + strings.TrimPrefix(b.ts.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		b.ts.Close()
	})
	return b
}

func (b *bpServer) reasonsOf(sid string) chan engineio.Reason {
	ch, _ := b.reasons.LoadOrStore(sid, make(chan engineio.Reason, 1))
	return ch.(chan engineio.Reason)
}

// bpListener gives the server's connections a small send buffer, and
// tells when the server closes one.
type bpListener struct {
	net.Listener
	closed sync.Map // the client's address -> chan struct{}, closed by Close
}

func (l *bpListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(16 << 10)
	}
	return &bpConn{Conn: c, closed: l.closedChan(c.RemoteAddr().String())}, nil
}

// closedChan returns the channel closed when the server closes its end of
// the connection from the client address addr.
func (l *bpListener) closedChan(addr string) chan struct{} {
	ch, _ := l.closed.LoadOrStore(addr, make(chan struct{}))
	return ch.(chan struct{})
}

// bpConn is a server-side connection; gorilla/websocket gets it back from
// the hijack and closes it.
type bpConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *bpConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Receive buffers of clients that stall.
const (
	// bpTinyBuffer stalls the server's writer for good: the socket takes
	// nothing more once it is full. A client with it cannot read again at
	// speed: below the loopback MSS of 64 KiB, TCP only reopens the window
	// by zero-window probes, seconds apart.
	bpTinyBuffer = 4 << 10
	// bpSmallBuffer is for a client that reads again later; while it does
	// not, the kernel may still take a few KiB now and then.
	bpSmallBuffer = 128 << 10
)

// dial opens a WebSocket session and returns it with its sid. A client
// meant to stall gets a small receive buffer, rcvbuf bytes; 0 leaves the
// system's.
func (b *bpServer) dial(t *testing.T, rcvbuf int) (*websocket.Conn, string) {
	t.Helper()
	d := *websocket.DefaultDialer
	if rcvbuf > 0 {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(rcvbuf)
			}
			return c, err
		}
	}
	c, _, err := d.Dial(b.wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, open, err := c.ReadMessage()
	const prefix = `0{"sid":"`
	if err != nil || !strings.HasPrefix(string(open), prefix) {
		t.Fatalf("open frame %q, %v", open, err)
	}
	return c, strings.SplitN(string(open[len(prefix):]), `"`, 2)[0]
}

// bpMessage returns a 1 KiB message that starts with its sequence number.
func bpMessage(seq int) string {
	s := fmt.Sprintf("%08d ", seq)
	return s + strings.Repeat("x", bpMessageSize-len(s))
}

// bpProducer calls send as fast as it can until stopped, and counts.
type bpProducer struct {
	// mu is held around each send; heap takes it to look at the heap
	// between two sends.
	mu       sync.Mutex
	stop     chan struct{}
	done     chan struct{}
	accepted atomic.Int64
	full     atomic.Int64
	err      atomic.Pointer[error] // the first error other than ErrQueueFull
}

func bpProduce(from int, send func(seq int) error) *bpProducer {
	p := &bpProducer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for seq := from; ; seq++ {
			select {
			case <-p.stop:
				return
			default:
			}
			p.mu.Lock()
			err := send(seq)
			p.mu.Unlock()
			switch {
			case err == nil:
				p.accepted.Add(1)
			case errors.Is(err, engineio.ErrQueueFull):
				p.full.Add(1)
			default:
				p.err.CompareAndSwap(nil, &err)
				return
			}
		}
	}()
	return p
}

func (p *bpProducer) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func (p *bpProducer) attempts() int64 { return p.accepted.Load() + p.full.Load() }

// stall sends messages to sid one at a time until the session's writer is
// stuck on the full socket: packets stay in the session's queue instead of
// leaving with the next batch. It returns the next sequence number.
func (b *bpServer) stall(t *testing.T, sid string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	pid, err := b.srv.PID(sid)
	if err != nil {
		t.Fatal(err)
	}
	// queued asks the session itself: the request is handled after the
	// sends before it, so the producer never runs far ahead of the queue
	// (sends are asynchronous; a burst could overflow it under
	// OverflowClose before the stall is even seen).
	queued := func() int {
		res, err := b.srv.ActorSystem().Root.RequestFuture(pid, &actors.GetInfo{}, 5*time.Second).Result()
		if err != nil {
			t.Fatalf("GetInfo: %v", err)
		}
		info, ok := res.(*actors.SessionInfo)
		if !ok {
			t.Fatalf("GetInfo answered %T", res)
		}
		return info.QueuedPackets
	}
	for seq := 0; ; seq++ {
		if err := b.srv.Send(sid, bpMessage(seq)); err != nil {
			t.Fatalf("Send while filling the socket: %v", err)
		}
		if seq%8 != 7 {
			continue
		}
		if q := queued(); q >= 32 {
			time.Sleep(50 * time.Millisecond)
			if queued() >= q {
				return seq + 1
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer still takes every message after %d of them", seq+1)
		}
	}
}

// heap returns the heap in use after a full collection (HeapAlloc).
//
// The producer is held between two sends meanwhile: it allocates about a
// GiB a second of short-lived messages (each Send copies its text), and
// what it allocates while the collection runs counts as live until the
// next one: megabytes of noise that say nothing about what the server
// retains. Held for the few milliseconds of a collection, it leaves the
// stalled session as it was, its queue full and its writer blocked.
func (p *bpProducer) heap() int64 {
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// bpWatch runs for d while the producer runs: every 100 ms it takes a round
// trip on the echo session, which must take less than a second, and
// samples the heap. It returns the heap samples, relative to base.
func bpWatch(t *testing.T, p *bpProducer, echo *websocket.Conn, base int64, d time.Duration) []int64 {
	t.Helper()
	var samples []int64
	var slowest time.Duration
	defer func() { t.Logf("slowest echo round trip: %v", slowest) }()
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end); i++ {
		text := "4ping " + strconv.Itoa(i)
		start := time.Now()
		_ = echo.SetWriteDeadline(start.Add(time.Second))
		if err := echo.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
			t.Fatalf("echo session, write: %v", err)
		}
		_ = echo.SetReadDeadline(start.Add(time.Second))
		_, got, err := echo.ReadMessage()
		if err != nil || string(got) != text {
			t.Fatalf("echo session, round trip %d: %q, %v (after %v)", i, got, err, time.Since(start))
		}
		slowest = max(slowest, time.Since(start))
		samples = append(samples, p.heap()-base)
		time.Sleep(100 * time.Millisecond)
	}
	return samples
}

// bpCheckHeap asserts that the heap stayed within bound and did not grow
// with the sends: the median of the later half of the samples is not above
// the first half's by more than the queue's size. (Medians: one sample may
// catch the session with a batch of sends still in its mailbox.)
func bpCheckHeap(t *testing.T, samples []int64, bound int64, sent int64) {
	t.Helper()
	if len(samples) < 6 {
		t.Fatalf("only %d heap samples", len(samples))
	}
	t.Logf("heap above baseline, MiB: %s; %d sends of %d bytes tried (%d MiB)", bpMiB(samples), sent, bpMessageSize, sent*bpMessageSize>>20)
	if peak := slices.Max(samples); peak > bound {
		t.Errorf("heap grew by %.1f MiB, bound %.1f MiB (queue %d KiB)", float64(peak)/(1<<20), float64(bound)/(1<<20), bpQueueBytes>>10)
	}
	half := len(samples) / 2
	if early, late := bpMedian(samples[:half]), bpMedian(samples[half:]); late > early+bpQueueBytes {
		t.Errorf("heap still growing: median %.1f MiB in the first half, %.1f MiB later", float64(early)/(1<<20), float64(late)/(1<<20))
	}
}

func bpMedian(samples []int64) int64 {
	s := slices.Sorted(slices.Values(samples))
	return s[len(s)/2]
}

func bpMiB(samples []int64) string {
	parts := make([]string, len(samples))
	for i, s := range samples {
		parts[i] = fmt.Sprintf("%.1f", float64(s)/(1<<20))
	}
	return strings.Join(parts, " ")
}

// OverflowReject: a producer sending 1 KiB messages as fast as it can to a
// client that does not read gets ErrQueueFull once the queue is full, the
// heap stays within a bound set by the queue limits however many sends it
// tries, and another session keeps echoing promptly.
func TestBackpressureRejectHoldsMemoryFlat(t *testing.T) {
	b := newBPServer(t, engineio.OverflowReject)
	echo, _ := b.dial(t, 0)
	base := (*bpProducer)(nil).heap()
	_, sid := b.dial(t, bpTinyBuffer)
	next := b.stall(t, sid)

	p := bpProduce(next, func(seq int) error { return b.srv.Send(sid, bpMessage(seq)) })
	defer p.halt()
	samples := bpWatch(t, p, echo, base, bpRun)
	p.halt()
	if errp := p.err.Load(); errp != nil {
		t.Fatalf("Send: %v", *errp)
	}
	accepted, full := p.accepted.Load(), p.full.Load()
	t.Logf("accepted %d, rejected with ErrQueueFull %d", accepted, full)
	if full == 0 {
		t.Fatal("Send never returned ErrQueueFull")
	}
	if p.attempts() < 10*bpQueuePackets {
		t.Fatalf("only %d sends tried: too few to tell a bounded heap from a growing one", p.attempts())
	}
	bpCheckHeap(t, samples, 3*bpQueueBytes+bpSlack, p.attempts())
	if q := b.counters.Snapshot(); q.QueuedPackets > bpQueuePackets || q.QueuedBytes > bpQueueBytes || q.QueuedPackets < 32 {
		t.Errorf("queued: %d packets, %d bytes; want the stalled queue, within %d packets and %d bytes", q.QueuedPackets, q.QueuedBytes, bpQueuePackets, bpQueueBytes)
	}

	// The stalled session is still there, and has not been closed.
	select {
	case r := <-b.reasonsOf(sid):
		t.Fatalf("the stalled session closed: %s", r)
	default:
	}
	if _, err := b.srv.Transport(sid); err != nil {
		t.Fatalf("the stalled session: %v", err)
	}
}

// OverflowClose: the stalled session is closed with ReasonBackpressure as
// soon as its queue overflows; sends to it fail from then on.
func TestBackpressureCloseClosesStalledSession(t *testing.T) {
	b := newBPServer(t, engineio.OverflowClose)
	echo, _ := b.dial(t, 0)
	base := (*bpProducer)(nil).heap()
	stalled, sid := b.dial(t, bpTinyBuffer)
	next := b.stall(t, sid)

	p := bpProduce(next, func(seq int) error { return b.srv.Send(sid, bpMessage(seq)) })
	defer p.halt()
	select {
	case r := <-b.reasonsOf(sid):
		if r != engineio.ReasonBackpressure {
			t.Fatalf("the stalled session closed with %q, want %q", r, engineio.ReasonBackpressure)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stalled session is still open")
	}
	<-p.done // the next sends fail
	if errp := p.err.Load(); errp == nil || !errors.Is(*errp, engineio.ErrUnknownSession) {
		t.Fatalf("Send after the close: %v, want ErrUnknownSession", errp)
	}
	if p.full.Load() != 0 {
		t.Fatalf("%d sends got ErrQueueFull under OverflowClose", p.full.Load())
	}
	// What the closed session held is released; the echo session works.
	samples := bpWatch(t, nil, echo, base, 600*time.Millisecond)
	if q := b.counters.Snapshot(); q.QueuedPackets != 0 || q.QueuedBytes != 0 || q.Closes[string(engineio.ReasonBackpressure)] != 1 {
		t.Errorf("after the close: %d packets, %d bytes queued, closes %v", q.QueuedPackets, q.QueuedBytes, q.Closes)
	}
	if last := samples[len(samples)-1]; last > bpSlack {
		t.Errorf("heap %.1f MiB above baseline after the stalled session closed", float64(last)/(1<<20))
	}
	// The closed session's connection goes too, although its client still
	// reads nothing: the server's write timeout (a minute here) is no
	// reason to keep a closed session's socket, goroutines and last batch.
	select {
	case <-b.listener.closedChan(stalled.LocalAddr().String()):
	case <-time.After(time.Second):
		t.Error("the server still holds the closed session's connection 1 s after the close: " +
			"its WebSocket writer is blocked writing to the stalled client, and the CloseConn the session sent it waits behind that write (until WithWriteTimeout)")
	}
}

// OverflowDropOldest: every send is accepted, the heap stays bounded, and
// once the client reads again it gets the oldest messages (the batch the
// writer was stuck on) and then the newest ones, in order, ending with the
// last one sent: what was dropped is in between.
func TestBackpressureDropOldestKeepsAccepting(t *testing.T) {
	b := newBPServer(t, engineio.OverflowDropOldest)
	echo, _ := b.dial(t, 0)
	base := (*bpProducer)(nil).heap()
	stalled, sid := b.dial(t, bpSmallBuffer)
	next := b.stall(t, sid)

	var last atomic.Int64
	p := bpProduce(next, func(seq int) error {
		err := b.srv.Send(sid, bpMessage(seq))
		if err == nil {
			last.Store(int64(seq))
		}
		return err
	})
	defer p.halt()
	samples := bpWatch(t, p, echo, base, bpRun)
	p.halt()
	if errp := p.err.Load(); errp != nil {
		t.Fatalf("Send: %v", *errp)
	}
	if p.full.Load() != 0 {
		t.Fatalf("%d sends got ErrQueueFull under OverflowDropOldest", p.full.Load())
	}
	bpCheckHeap(t, samples, 3*bpQueueBytes+bpSlack, p.attempts())

	// Read again: sequence numbers only go up, there is a gap, and the
	// last message sent arrives.
	want := last.Load()
	prev, received := int64(-1), int64(0)
	for prev != want {
		_ = stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := stalled.ReadMessage()
		if err != nil {
			t.Fatalf("stalled client reading again, after message %d of %d: %v", prev, want, err)
		}
		seq, err := strconv.ParseInt(strings.TrimSpace(string(data[1:9])), 10, 64)
		if err != nil || data[0] != '4' || len(data) != 1+bpMessageSize {
			t.Fatalf("frame %.20q... (%d bytes)", data, len(data))
		}
		if seq <= prev {
			t.Fatalf("message %d after %d", seq, prev)
		}
		prev = seq
		received++
	}
	t.Logf("%d messages sent, %d received", want+1, received)
	if received >= want+1 {
		t.Fatalf("all %d messages arrived: nothing was dropped", received)
	}
	if received > bpQueuePackets*2+1024 {
		t.Errorf("%d messages arrived: more than the queue, the writer's batch and the socket buffers hold", received)
	}
	select {
	case r := <-b.reasonsOf(sid):
		t.Fatalf("the session closed: %s", r)
	default:
	}
}

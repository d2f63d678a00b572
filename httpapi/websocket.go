package httpapi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/internal/netpoll"
	"github.com/eioactor/engineio/internal/stack"
	"github.com/eioactor/engineio/protocol"
)

// serveWebSocket upgrades the request and starts the connection: a reader
// goroutine sends the frames to the session; a writer process does all the
// writing. opened is the handshake answer of a session opened over
// this WebSocket, nil for an upgrade of a polling session.
func (h *Handler) serveWebSocket(req *request, sess Session, opened *actors.Opened) {
	r := req.r
	// gorilla writes the 101 response itself, from these headers only.
	respHeader := http.Header{}
	if h.cfg.Headers != nil {
		h.cfg.Headers(respHeader, r)
	}
	if opened != nil {
		h.handshakeHeaders(respHeader, r, opened.SID)
	}
	// A new session's open packet goes out with the upgrade's response, in
	// one write: gorilla's write of the response is held for it.
	// (With per-message deflate, gorilla compresses the open packet.)
	hw := &hijackReader{ResponseWriter: req.w, holdResponse: opened != nil && !h.cfg.PerMessageDeflate}
	conn, err := h.upgrader.Upgrade(hw, r, respHeader)
	if err != nil {
		// The upgrader has answered 400.
		if opened != nil {
			h.sys.Root.Send(sess.PID, &actors.Close{Reason: actors.ReasonTransportError})
		}
		return
	}
	conn.SetReadLimit(h.cfg.MaxPayload)
	nc := hw.nc
	ww := &wsWriter{conn: conn, nc: nc, rev: req.rev, base64: req.rev == protocol.V3 && req.base64, timeout: h.cfg.WriteTimeout, deflateThreshold: -1, logger: h.cfg.Logger}
	if h.cfg.PerMessageDeflate {
		ww.deflateThreshold = h.cfg.DeflateThreshold
		conn.EnableWriteCompression(false)
	}
	conn.SetPingHandler(ww.pong)
	conn.SetCloseHandler(ww.answerClose)
	if opened != nil {
		if err := ww.writeOpen(hw.response(), opened.Open); err != nil {
			_ = conn.Close()
			h.sys.Root.Send(sess.PID, &actors.Close{Reason: actors.ReasonTransportError})
			return
		}
	}
	// The reader's goroutine runs the session's and the writer's mailboxes
	// while it waits for a frame to be handled: reading, handling and
	// writing the answer need no goroutine hand-off.
	runner := &mailbox.Runner{}
	rd := &wsReader{conn: conn, nc: nc, br: hw.br, limit: h.cfg.MaxPayload, session: sess.PID, runner: runner, root: h.sys.Root, decode: protocol.DecodeFrame}
	if req.rev == protocol.V3 {
		rd.decode = protocol.DecodeFrameV3
	}
	ww.closer = conn
	if hw.br != nil {
		// A quiet connection's reader goroutine ends; the poller starts a
		// new one when data comes.
		if idle := h.register(nc, rd); idle != nil {
			rd.idle, ww.closer, ww.out = idle, idle, idle
			if rd.br.Buffered() == 0 {
				// The reader handles its messages inside the poller's
				// read of the socket (see Step).
				rd.serves = true
				rd.br.Reset(idle)
			}
		}
	}
	rd.writer = ww.start(h.sys, runner)
	// Until the reader starts, this goroutine is the runner's: the session
	// takes the connection and the writer sends what was queued meanwhile
	// (or the noop of a probe) here, without waking a goroutine for either.
	runner.Send(h.sys.Root, sess.PID, &actors.WebSocketOpened{Conn: rd.writer, Handshake: opened != nil, Lending: mailbox.Lending{Runner: runner}})
	if sess.State.Closed() {
		// The session closed before it could take this connection (it
		// answers what it had queued before closing, nothing after).
		_ = ww.closer.Close()
	}
	// The handler returns, and the HTTP server lets go of the request,
	// its headers and its buffers, which an idle connection would
	// otherwise hold for its whole life. The reader gets a goroutine of
	// its own, and parks after a quiet second; but when many readers are
	// up already (a storm of connections), a new connection starts
	// parked, so that the storm makes no goroutine, stack and g (which the
	// runtime never frees) per connection. Starting parked costs a
	// handshake some CPU (an epoll registration, and the first message or
	// the close comes through the poller), so it is kept for storms.
	if rd.idle != nil && rd.br.Buffered() == 0 && h.poller.Running() > netpoll.StartParkedAbove && rd.idle.Park(true) {
		return
	}
	go rd.run()
}

// readBufferSize is the size of a connection's read buffer. gorilla takes
// the buffered reader of the hijacked connection when it is larger than
// 256 bytes; 288 is the allocator's next size class.
const readBufferSize = 288

// bigReadBufferSize is the read buffer of a connection whose last message
// did not fit in readBufferSize: with the small one, such a message takes
// two reads of the socket where one would do (the first stops at the
// buffer's end). gorilla's default size. The connection keeps it until it
// parks; it resumes with a small one.
const bigReadBufferSize = 4096

// hijackReader hands gorilla a buffered reader of ours at the upgrade, so
// that the reader can tell when nothing is buffered: only then may it wait
// for the socket to become readable, and park the connection. With
// holdResponse, gorilla's connection holds its first write, the upgrade's
// response, for writeOpen. nc is the connection taken from net/http.
type hijackReader struct {
	http.ResponseWriter
	holdResponse bool
	br           *bufio.Reader
	nc           net.Conn
	upgraded     *upgradeConn
}

// Hijack implements http.Hijacker.
func (hw *hijackReader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(hw.ResponseWriter).Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		// gorilla refuses a client that sent data before the handshake
		// was complete.
		return nc, brw, err
	}
	nc = unwrapReplay(nc)
	hw.nc = nc
	hw.br = bufio.NewReaderSize(nc, readBufferSize)
	if hw.holdResponse {
		hw.upgraded = &upgradeConn{Conn: nc, hold: true}
		nc = hw.upgraded
	}
	return nc, bufio.NewReadWriter(hw.br, brw.Writer), nil
}

// response returns the upgrade's response that gorilla wrote, held, or nil.
// The reader then reads the connection itself, not through gorilla's view
// of it: gorilla set it as the buffer's source, and nothing is buffered yet.
func (hw *hijackReader) response() []byte {
	if hw.upgraded == nil {
		return nil
	}
	if hw.br != nil && hw.br.Buffered() == 0 {
		hw.br.Reset(hw.nc)
	}
	// gorilla keeps the upgradeConn for the connection's life; the
	// response's buffer (net/http's 4 KB) must not stay with it.
	resp := hw.upgraded.response
	hw.upgraded.response = nil
	return resp
}

// upgradeConn is the connection as gorilla sees it when the upgrade's
// response is held: gorilla's first write (the response) is kept, to go out
// with the open packet; the rest go straight to the connection. Our reader
// and writer use the connection itself.
type upgradeConn struct {
	net.Conn
	hold     bool // set by Hijack, cleared by the first write, on the handler's goroutine
	response []byte
}

// Write implements net.Conn.
func (c *upgradeConn) Write(p []byte) (int, error) {
	if c.hold {
		c.hold = false
		c.response = p // gorilla's buffer, which it writes to no more
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// wsReader reads one WebSocket until it fails or closes, sending each frame
// to the session; then it stops the writer.
type wsReader struct {
	conn    *websocket.Conn
	nc      net.Conn      // the connection under conn
	br      *bufio.Reader // gorilla's; nil if the upgrade did not take ours
	limit   int64         // gorilla's read limit: the largest message, in bytes
	idle    *netpoll.Conn // nil: the reader never parks
	session *actor.PID
	writer  *actor.PID
	runner  *mailbox.Runner
	root    *actor.RootContext
	decode  func([]byte, bool) (protocol.Packet, error)

	shell *bufio.Reader // an empty bufio.Reader left by keepBuffer
	grow  bool          // the last message did not fit in the buffer

	// serves is set when br reads through idle, whose Serve the reader
	// then waits in (see Step).
	serves bool
}

// run reads frames until the connection fails, or until it is parked: the
// poller then runs Resume on a new goroutine when data comes.
func (rd *wsReader) run() {
	for {
		if rd.grow && rd.br.Buffered() == 0 {
			rd.growBuffer()
		}
		if rd.idle != nil && rd.br.Buffered() == 0 {
			if rd.serves {
				if rd.idle.Serve() {
					return
				}
			} else if rd.idle.Wait() {
				return
			}
			rd.keepBuffer()
			// Data has come. Handling a frame goes deep (the session's and
			// the writer's mailboxes run here): the stack grows for it
			// now, while it is shallow (see package stack), and not before
			// the wait, which a quiet connection's reader spends on the
			// runtime's smallest stack.
			stack.Grow()
		}
		f, err := rd.readPlainFrame()
		if f == nil && err == nil {
			var typ int
			var r io.Reader
			if typ, r, err = rd.conn.NextReader(); err == nil {
				f, err = rd.readFrame(r, typ == websocket.BinaryMessage)
			}
		}
		if err != nil {
			rd.runner.Send(rd.root, rd.session, &actors.WebSocketClosed{Conn: rd.writer, Reason: closeReason(err)})
			// The writer stops here too, not on a goroutine of its own.
			rd.runner.Do(rd.stopWriter)
			if rd.idle != nil {
				rd.idle.Unregister()
			}
			return
		}
		rd.runner.Send(rd.root, rd.session, f)
	}
}

// Step is the reader's step in netpoll.Conn.Serve: it hands the
// session each whole plain frame (see readPlainFrame) that has come,
// reading without blocking whenever the buffer is empty. It returns false
// when the read would block, and true when the buffer begins with
// anything else (a control frame, a fragment, a frame still on its way)
// or the read failed: the reader takes that outside Serve, where it may
// block, and meets the failure again (a reset as the end, io.EOF: the
// kernel reports it once; the session's reason is the same).
func (rd *wsReader) Step() bool {
	rd.keepBuffer()
	for {
		if rd.br.Buffered() == 0 {
			if rd.grow {
				rd.growBuffer()
			}
			if _, err := rd.br.Peek(1); err != nil {
				return err != netpoll.ErrWouldBlock
			}
			stack.Grow() // see run
		}
		h, ok := rd.plainHeader()
		if !ok || rd.br.Buffered() < h.size+h.n {
			return true
		}
		// The frame is buffered whole: taking it reads nothing, and
		// cannot fail.
		f, _ := rd.takePlainFrame(h)
		rd.runner.Send(rd.root, rd.session, f)
	}
}

// stopWriter stops the writer (see run).
func (rd *wsReader) stopWriter() { rd.root.Stop(rd.writer) }

// Resume is the goroutine of a parked connection that became readable.
// With Await, Release and Step it makes the reader its poller
// registration's netpoll.Stepper.
func (rd *wsReader) Resume() {
	rd.keepBuffer()
	rd.run()
}

// Await waits until a byte can be read, the read deadline passes or the
// connection fails; the byte stays buffered for gorilla.
func (rd *wsReader) Await() error {
	_, err := rd.br.Peek(1)
	return err
}

// readBuffers holds the read buffers of parked connections, each in a
// bufio.Reader of its own, for the next connection that resumes;
// bigReadBuffers those of bigReadBufferSize.
var (
	readBuffers    = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}
	bigReadBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bigReadBufferSize) }}
)

// putReadBuffer gives the buffer in b, an empty bufio.Reader, to the pool
// of its size.
func putReadBuffer(b *bufio.Reader) {
	b.Reset(nil)
	if b.Size() >= bigReadBufferSize {
		bigReadBuffers.Put(b)
	} else {
		readBuffers.Put(b)
	}
}

// Release lets the read buffer go while the connection is parked: it is
// empty, and gorilla reads it only on the reader's goroutine.
func (rd *wsReader) Release() {
	shell := rd.shell
	if shell == nil {
		shell = new(bufio.Reader)
	}
	rd.shell = nil
	*shell = *rd.br
	*rd.br = bufio.Reader{}
	rd.grow = false
	putReadBuffer(shell)
}

// growBuffer swaps the connection's empty read buffer for one of
// bigReadBufferSize, in place: gorilla holds the bufio.Reader.
func (rd *wsReader) growBuffer() {
	rd.grow = false
	if rd.br.Size() >= bigReadBufferSize {
		return
	}
	big := bigReadBuffers.Get().(*bufio.Reader)
	small := *rd.br
	*rd.br = *big
	rd.br.Reset(rd.source())
	*big = small
	putReadBuffer(big)
}

// source is what the read buffer reads from: the poller's view of the
// connection when the reader serves (see Step), or the connection.
func (rd *wsReader) source() io.Reader {
	if rd.serves {
		return rd.idle
	}
	return rd.nc
}

// keepBuffer gives the reader a buffer again after Release. The
// bufio.Reader that brings it is kept, empty, for the next Release.
func (rd *wsReader) keepBuffer() {
	if rd.br.Size() != 0 {
		return
	}
	donor := readBuffers.Get().(*bufio.Reader)
	*rd.br = *donor
	rd.br.Reset(rd.source())
	*donor = bufio.Reader{}
	rd.shell = donor
}

// inlineSize is the largest message read into the frame's own array: one
// allocation carries the message and its frame.
const inlineSize = 128

type inlineFrame struct {
	actors.Frame
	buf [inlineSize]byte
}

// scratch holds large messages while they are read, before they are copied
// into a buffer of their exact size.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledScratch bounds the buffers kept in scratch.
const maxPooledScratch = 1 << 20

// readFrame reads the rest of one message and decodes it. A small message
// (most are) shares one allocation with its frame; a larger one is read
// into a pooled buffer and copied out at its exact size, so that what the
// application keeps is no larger than the message.
func (rd *wsReader) readFrame(r io.Reader, isBinary bool) (*actors.Frame, error) {
	in := &inlineFrame{}
	n, err := io.ReadFull(r, in.buf[:])
	var data []byte
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		data = in.buf[:n]
	case nil:
		if data, err = readRest(r, in.buf[:]); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	return rd.frame(&in.Frame, data, isBinary), nil
}

// frame fills f with the message data and notes whether the next message
// of that size wants the larger read buffer.
func (rd *wsReader) frame(f *actors.Frame, data []byte, isBinary bool) *actors.Frame {
	if rd.br != nil && len(data)+maxClientFrameHeader > rd.br.Size() {
		rd.grow = true
	}
	f.Conn = rd.writer
	f.Packet, f.Err = rd.decode(data, isBinary)
	if f.Err == nil && !isBinary && !utf8.Valid(data) {
		// RFC 6455 fails a connection whose text is not UTF-8: the
		// session closes, and the connection with status 1007.
		f.Err = actors.ErrTextNotUTF8
	}
	return f
}

// readRest reads r to its end after head and returns head and the rest in
// a new slice of their exact length.
func readRest(r io.Reader, head []byte) ([]byte, error) {
	bp := scratch.Get().(*[]byte)
	b := append((*bp)[:0], head...)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	data := make([]byte, len(b))
	copy(data, b)
	if cap(b) <= maxPooledScratch {
		*bp = b[:0]
		scratch.Put(bp)
	}
	return data, nil
}

// WebSocket frame header bits (RFC 6455, section 5.2).
const (
	finBit      = 0x80
	maskBit     = 0x80
	opText      = 0x1
	opBinary    = 0x2
	opClose     = 0x8
	opPong      = 0xa
	len16       = 126 // the 7-bit length that announces a 16-bit one
	len64       = 127 // and the one that announces a 64-bit one
	plainHeader = 2 + 2 + 4

	// maxPlainFrame bounds the messages readPlainFrame takes: it allocates
	// a message's buffer when the header comes, before the payload, and a
	// client that announces a large message and stops must not hold more
	// than gorilla's reading (readFrame, readRest) would for what it sent.
	maxPlainFrame = bigReadBufferSize
)

// readPlainFrame reads the next message itself when it is the common case:
// one whole text or binary frame (not fragmented, not compressed), masked
// as a client's must be, of at most maxPlainFrame bytes and within the
// read limit, and a header that has arrived whole. For anything else
// (control frames, fragments, compressed or malformed frames, a header
// still on its way) it returns a nil frame and no error, having consumed
// nothing, and gorilla reads the message: gorilla finds the connection
// between two messages, as it left it, since the reader reads every
// message to its end. So a message is taken with the same data either
// way, and every protocol error and close is still gorilla's; the common
// message skips gorilla's reader, its allocation and a few hundred
// instructions.
func (rd *wsReader) readPlainFrame() (*actors.Frame, error) {
	if rd.br == nil {
		return nil, nil
	}
	if rd.br.Buffered() < 2 {
		// gorilla's first read too: it blocks until the frame begins.
		if _, err := rd.br.Peek(2); err != nil {
			return nil, fmt.Errorf("websocket frame header: %w", err)
		}
	}
	h, ok := rd.plainHeader()
	if !ok {
		return nil, nil
	}
	return rd.takePlainFrame(h)
}

// takePlainFrame consumes the plain frame whose header is h, reading the
// rest of its payload if it has not all come, and returns it. A small
// message shares one allocation with its frame (the frame's own array).
func (rd *wsReader) takePlainFrame(h plainFrameHeader) (*actors.Frame, error) {
	_, _ = rd.br.Discard(h.size)
	var f *actors.Frame
	var data []byte
	if h.n <= inlineSize {
		in := &inlineFrame{}
		f, data = &in.Frame, in.buf[:h.n]
	} else {
		f, data = &actors.Frame{}, make([]byte, h.n)
	}
	if _, err := io.ReadFull(rd.br, data); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("websocket frame of %d bytes: %w", h.n, err)
	}
	unmask(h.key, data)
	return rd.frame(f, data, h.binary), nil
}

// plainFrameHeader is the header of a plain frame (see readPlainFrame).
type plainFrameHeader struct {
	size   int    // bytes, the masking key included
	n      int    // the payload's length
	key    uint32 // the masking key, read little-endian
	binary bool
}

// plainHeader reads, without consuming it, the header of the buffer's
// next frame if that is a plain one and has arrived whole.
func (rd *wsReader) plainHeader() (plainFrameHeader, bool) {
	h, _ := rd.br.Peek(min(rd.br.Buffered(), plainHeader))
	if len(h) < 2 || (h[0] != finBit|opText && h[0] != finBit|opBinary) || h[1]&maskBit == 0 {
		return plainFrameHeader{}, false
	}
	n, head := int(h[1]&^maskBit), 2
	switch {
	case n == len16:
		if len(h) < 4 {
			return plainFrameHeader{}, false
		}
		n, head = int(binary.BigEndian.Uint16(h[2:])), 4
	case n > len16:
		return plainFrameHeader{}, false
	}
	if len(h) < head+4 || n > maxPlainFrame || (rd.limit > 0 && int64(n) > rd.limit) {
		return plainFrameHeader{}, false
	}
	return plainFrameHeader{size: head + 4, n: n, key: binary.LittleEndian.Uint32(h[head:]), binary: h[0] == finBit|opBinary}, true
}

// unmask applies a client's masking key, as read little-endian from the
// frame header, to a payload that starts at the payload's first byte.
func unmask(key uint32, b []byte) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 32 {
		_ = b[31]
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key >> (8 * (i & 3)))
	}
}

// abortOnPost closes the connection as soon as a CloseConn{Abort: true} is
// posted to the writer: the writer itself may be blocked writing to a
// client that does not read. A control frame and the close may go out
// while a write is under way.
type abortOnPost struct{ ww *wsWriter }

func (a abortOnPost) MailboxStarted() {}
func (a abortOnPost) MessagePosted(m any) {
	if c, ok := m.(*actors.CloseConn); ok && c.Abort {
		// A close frame if the socket takes it at once, then the close;
		// off the sender's goroutine, which must not wait on a client.
		go func() {
			_ = a.ww.writeClose(closeCode(c), 100*time.Millisecond, false)
			_ = a.ww.closer.Close()
		}()
	}
}
func (a abortOnPost) MessageReceived(any) {}
func (a abortOnPost) MailboxEmpty()       {}

// closeCode is the status of the close frame that c asks for.
func closeCode(c *actors.CloseConn) int {
	if c.Code == 0 {
		return websocket.CloseNormalClosure
	}
	return c.Code
}

func closeReason(err error) actors.Reason {
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return actors.ReasonMessageTooLarge
	case errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway || ce.Code == websocket.CloseNoStatusReceived):
		return actors.ReasonTransportClose
	case errors.As(err, &ce) && ce.Code == websocket.CloseMessageTooBig:
		return actors.ReasonMessageTooLarge
	}
	return actors.ReasonTransportError
}

// wsWriter is the only writer of one WebSocket connection (gorilla allows
// one concurrent writer). Writes block its mailbox only.
//
// It is a process of its own, registered under its PID with a mailbox and
// no actor context: it needs no children, supervision or behaviour, and an
// idle connection does not pay for them. It handles *actors.WriteFrames,
// *actors.CloseConn, and as system messages Watch, Unwatch and its stop.
type wsWriter struct {
	conn             *websocket.Conn
	nc               net.Conn  // the connection under conn
	closer           io.Closer // closes conn, and wakes its reader if parked
	rev              protocol.Revision
	base64           bool // a v3 client that asked for binary as base64 text
	stopped          bool
	closed           bool
	timeout          time.Duration
	deflateThreshold int // compress messages at least this long; -1: never
	logger           *slog.Logger

	pid      *actor.PID
	registry *actor.ProcessRegistryValue
	root     *actor.RootContext
	mbox     *mailbox.Mailbox
	written  *actors.Written // the answer to every batch: one is in flight at a time
	watchers []*actor.PID
	scratch  []byte // with deflate, a text message is assembled here
	// out writes the frames when the connection is registered with the
	// poller (its Write makes fewer calls into the runtime); nil: nc does.
	out *netpoll.Conn

	// deadline is the socket's write deadline as writeFrames last set it;
	// deadlineMoved says a control frame's write has set another since.
	deadline      time.Time
	deadlineMoved atomic.Bool

	// control orders the control frames, which are written from the
	// reader's goroutine (a pong, the answer to a close) as well as the
	// writer's, and guards closeSent: once a close frame has gone out, no
	// other does, nor does a batch that starts after it.
	control   sync.Mutex
	closeSent atomic.Bool
}

// writerDispatcher runs a writer's mailbox when the reader is not there to.
var writerDispatcher = actor.NewDefaultDispatcher(300)

// stopWriter is the system message of Stop.
type stopWriter struct{}

// start registers the writer in sys and returns its PID; its mailbox runs
// on runner's goroutine when it can.
func (ww *wsWriter) start(sys *actor.ActorSystem, runner *mailbox.Runner) *actor.PID {
	ww.registry, ww.root = sys.ProcessRegistry, sys.Root
	ww.mbox = mailbox.New(abortOnPost{ww})
	ww.mbox.SetRunner(runner)
	ww.mbox.RegisterHandlers(ww, writerDispatcher)
	ww.pid, _ = sys.ProcessRegistry.Add(ww, "eio-ws-"+sys.ProcessRegistry.NextId())
	ww.written = &actors.Written{Conn: ww.pid}
	ww.mbox.Start()
	return ww.pid
}

// SendUserMessage implements actor.Process.
func (ww *wsWriter) SendUserMessage(_ *actor.PID, m any) { ww.mbox.PostUserMessage(m) }

// SendSystemMessage implements actor.Process.
func (ww *wsWriter) SendSystemMessage(_ *actor.PID, m any) { ww.mbox.PostSystemMessage(m) }

// Stop implements actor.Process: the writer closes the connection and
// unregisters once what was posted before has been handled.
func (ww *wsWriter) Stop(*actor.PID) { ww.mbox.PostSystemMessage(stopWriter{}) }

// InvokeSystemMessage implements actor.MessageInvoker.
func (ww *wsWriter) InvokeSystemMessage(m any) {
	switch m := m.(type) {
	case stopWriter:
		ww.stop()
	case *actor.Watch:
		if ww.stopped {
			ww.root.Send(m.Watcher, &actor.Terminated{Who: ww.pid})
			return
		}
		ww.watchers = append(ww.watchers, m.Watcher)
	case *actor.Unwatch:
		for i, w := range ww.watchers {
			if w.Equal(m.Watcher) {
				ww.watchers = append(ww.watchers[:i], ww.watchers[i+1:]...)
				break
			}
		}
	}
}

// EscalateFailure implements actor.MessageInvoker: a panic while writing
// ends the connection; the reader then tells the session.
func (ww *wsWriter) EscalateFailure(reason any, m any) {
	ww.logger.Error("engineio: websocket writer failed", "panic", reason, "message", fmt.Sprintf("%T", m))
	ww.stop()
}

// InvokeUserMessage implements actor.MessageInvoker.
func (ww *wsWriter) InvokeUserMessage(msg any) {
	if env, ok := msg.(*actor.MessageEnvelope); ok {
		msg = env.Message
	}
	if ww.stopped {
		return
	}
	switch m := msg.(type) {
	case *actors.WriteFrames:
		paused := ww.pause()
		var err error
		if ww.closeSent.Load() {
			err = websocket.ErrCloseSent
		} else if ww.deflateThreshold < 0 {
			err = ww.writeFrames(nil, m.Packets)
		} else {
			err = ww.writeMessages(m.Packets)
		}
		if err != nil {
			// The reader sees the closed socket and tells the session.
			ww.shut()
		}
		// The session finds the batch finished when it next flushes; it
		// asked for an answer only if it waits for one.
		answer := m.Session != nil && m.Finish()
		if paused != nil {
			// Before the answer: the session then runs here again.
			paused.Resume()
		}
		if answer {
			ww.root.Send(m.Session, ww.written)
		}
	case *actors.CloseConn:
		if !ww.closed {
			paused := ww.pause()
			_ = ww.writeClose(closeCode(m), ww.timeout, true)
			ww.shut()
			if paused != nil {
				paused.Resume()
			}
		}
	}
}

// pause is called before a write that may block. On the reader's goroutine
// it pauses the reader's runner, so that a client that does not read holds
// no other mailbox (its session's, above all) hostage for the write
// timeout, and returns it for Resume; elsewhere it returns nil.
func (ww *wsWriter) pause() *mailbox.Runner {
	if r := ww.mbox.RunningOn(); r != nil && r.Pause() {
		return r
	}
	return nil
}

func (ww *wsWriter) stop() {
	if ww.stopped {
		return
	}
	ww.stopped = true
	ww.shut()
	ww.registry.Remove(ww.pid)
	for _, w := range ww.watchers {
		ww.root.Send(w, &actor.Terminated{Who: ww.pid})
	}
	ww.watchers = nil
}

// frameBuffers holds the buffers that batches of frames are assembled in:
// a connection keeps none between batches.
var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

const (
	// maxFrameBuffer bounds the buffers kept in frameBuffers.
	maxFrameBuffer = 64 << 10
	// flushAt is the size from which the frames assembled so far are
	// written, before the next one is added.
	flushAt = 32 << 10
	// ownWriteAt is the payload size from which a frame's payload is
	// written from where it is (after its header), not copied.
	ownWriteAt = 16 << 10
)

// writeFrames writes head (raw bytes, or nil) and then a batch of packets,
// one frame each, with as few writes as their size allows (one for a
// batch of small ones). The frames are assembled here rather than by
// gorilla, which would copy each into its own buffer, keep that buffer for
// the connection's whole life and write each frame alone. Each write is
// one call on the socket, which the runtime does not interleave with
// others: gorilla may write control frames (a pong, a close) from the
// reader's goroutine meanwhile.
func (ww *wsWriter) writeFrames(head []byte, packets []protocol.Packet) error {
	nc := ww.nc
	var w io.Writer = nc
	if ww.out != nil {
		w = ww.out
	}
	ww.extendDeadline()
	bp := frameBuffers.Get().(*[]byte)
	b := append((*bp)[:0], head...)
	var err error
	for _, p := range packets {
		var payload []byte
		b, payload = ww.appendFrame(b, p)
		switch {
		case payload != nil:
			bufs := net.Buffers{b, payload}
			_, err = bufs.WriteTo(nc)
			b = b[:0]
		case len(b) >= flushAt:
			_, err = w.Write(b)
			b = b[:0]
		}
		if err != nil {
			break
		}
	}
	if err == nil && len(b) > 0 {
		_, err = w.Write(b)
	}
	if cap(b) <= maxFrameBuffer {
		*bp = b[:0]
		frameBuffers.Put(bp)
	}
	return err
}

// extendDeadline gives the next write at least seven eighths of the write
// timeout. Moving the deadline costs more than a small write: it is moved
// only once an eighth of the timeout has passed.
func (ww *wsWriter) extendDeadline() {
	now := time.Now()
	if ww.deadlineMoved.Load() {
		ww.deadlineMoved.Store(false)
		ww.deadline = time.Time{}
	}
	if ww.deadline.Sub(now) >= ww.timeout-ww.timeout/8 {
		return
	}
	ww.deadline = now.Add(ww.timeout)
	_ = ww.nc.SetWriteDeadline(ww.deadline)
}

// pong answers a client's ping, as gorilla's default handler does.
func (ww *wsWriter) pong(data string) error {
	ww.control.Lock()
	defer ww.control.Unlock()
	if ww.closeSent.Load() {
		return nil
	}
	err := ww.writeControl(opPong, 0, data, ww.timeout)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

// answerClose answers a client's close frame with its status code, as
// gorilla's default handler does (without the timer and the buffer
// gorilla's WriteControl takes for it), and within the same second at
// most: the client is going away. The reader then ends.
func (ww *wsWriter) answerClose(code int, _ string) error {
	_ = ww.writeClose(code, min(ww.timeout, closeAnswerTimeout), true)
	return nil
}

// closeAnswerTimeout bounds the write of answerClose, as gorilla's
// default close handler bounds its own.
const closeAnswerTimeout = time.Second

// writeClose sends a close frame with code (no status at all for
// websocket.CloseNoStatusReceived), unless one has gone out already
// (websocket.ErrCloseSent). Without wait, it gives up at once
// (errControlBusy) if another control frame is being written.
func (ww *wsWriter) writeClose(code int, timeout time.Duration, wait bool) error {
	if wait {
		ww.control.Lock()
	} else if !ww.control.TryLock() {
		return errControlBusy
	}
	defer ww.control.Unlock()
	if ww.closeSent.Swap(true) {
		return websocket.ErrCloseSent
	}
	return ww.writeControl(opClose, code, "", timeout)
}

// errControlBusy is writeClose's answer when it may not wait.
var errControlBusy = errors.New("engineio: another control frame is being written")

// writeControl writes a control frame of type op in one write on the
// socket, under a write deadline of its own; the caller holds ww.control.
// The payload is data (at most 125 bytes: gorilla's ping handler gets no
// more), after a close frame's status code, if it has one (not
// websocket.CloseNoStatusReceived). Data frames go out in writes of their
// own (writeFrames), which the runtime does not interleave with this one.
func (ww *wsWriter) writeControl(op byte, code int, data string, timeout time.Duration) error {
	withCode := op == opClose && code != websocket.CloseNoStatusReceived
	n := len(data)
	if withCode {
		n += 2
	}
	bp := frameBuffers.Get().(*[]byte)
	b := appendFrameHeader((*bp)[:0], int(op), n)
	if withCode {
		b = append(b, byte(code>>8), byte(code))
	}
	b = append(b, data...)
	ww.deadlineMoved.Store(true)
	_ = ww.nc.SetWriteDeadline(time.Now().Add(timeout))
	var err error
	if op == opClose && ww.out != nil {
		// Nothing follows a close frame, and the connection closes
		// soon after: its FIN goes out with the frame.
		_, err = ww.out.WriteLast(b)
	} else {
		_, err = ww.nc.Write(b)
	}
	*bp = b[:0]
	frameBuffers.Put(bp)
	return err
}

// writeOpen writes the upgrade's response, if held (see hijackReader),
// and the open packet as the first frame, in one write; with per-message
// deflate, through gorilla. It runs before the writer starts.
func (ww *wsWriter) writeOpen(response []byte, open protocol.Packet) error {
	packets := [1]protocol.Packet{open}
	if ww.deflateThreshold >= 0 {
		return ww.writeMessages(packets[:])
	}
	return ww.writeFrames(response, packets[:])
}

// appendFrame appends the frame of one packet to b. A large payload is
// returned instead of appended (after its header), to be written from
// where it is.
func (ww *wsWriter) appendFrame(b []byte, p protocol.Packet) ([]byte, []byte) {
	switch {
	case ww.base64:
		// The text's length is known once it is written: it goes after
		// room for the longest header, which then moves down to it.
		start := len(b)
		b = protocol.AppendPacketV3(append(b, make([]byte, maxFrameHeader)...), p)
		var h [maxFrameHeader]byte
		hdr := appendFrameHeader(h[:0], websocket.TextMessage, len(b)-start-maxFrameHeader)
		gap := maxFrameHeader - len(hdr)
		copy(b[start+gap:], hdr)
		copy(b[start:], b[start+gap:])
		return b[:len(b)-gap], nil
	}
	var hb [1]byte
	head, typ := ww.frameHead(hb[:0], p)
	b = append(appendFrameHeader(b, typ, len(head)+len(p.Data)), head...)
	if len(p.Data) >= ownWriteAt {
		return b, p.Data
	}
	return append(b, p.Data...), nil
}

// frameHead appends to dst what goes before p.Data in p's WebSocket
// message, as protocol.AppendFrame (or AppendFrameV3) writes it: the type
// digit of a text message, the type byte of a revision 3 binary one,
// nothing for a revision 4 binary one; and returns the message's type.
func (ww *wsWriter) frameHead(dst []byte, p protocol.Packet) ([]byte, int) {
	bare := protocol.Packet{Type: p.Type, Binary: p.Binary}
	var binary bool
	if ww.rev == protocol.V3 {
		dst, binary = protocol.AppendFrameV3(dst, bare)
	} else {
		dst, binary = protocol.AppendFrame(dst, bare)
	}
	if binary {
		return dst, websocket.BinaryMessage
	}
	return dst, websocket.TextMessage
}

// maxFrameHeader is the longest header of a server's frame;
// maxClientFrameHeader of a client's, which adds a 4-byte mask.
const (
	maxFrameHeader       = 10
	maxClientFrameHeader = maxFrameHeader + 4
)

// appendFrameHeader appends the header of a final, unmasked frame (a
// server's, RFC 6455 section 5.2) of type typ with n bytes of payload.
func appendFrameHeader(b []byte, typ, n int) []byte {
	b = append(b, finBit|byte(typ))
	switch {
	case n < len16:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, len16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, len64), uint64(n))
}

// writeMessages writes a batch through gorilla, one message at a time:
// with per-message deflate, which gorilla compresses.
func (ww *wsWriter) writeMessages(packets []protocol.Packet) error {
	_ = ww.conn.SetWriteDeadline(time.Now().Add(ww.timeout))
	for _, p := range packets {
		if err := ww.writeMessage(p); err != nil {
			return err
		}
	}
	return nil
}

// writeMessage writes one packet as one message. WriteMessage is
// gorilla's allocation-free path, so the message is assembled in a scratch
// buffer, unless it is the packet's data alone (a revision 4 binary
// message).
func (ww *wsWriter) writeMessage(p protocol.Packet) error {
	ww.conn.EnableWriteCompression(len(p.Data) >= ww.deflateThreshold)
	if ww.base64 {
		ww.scratch = protocol.AppendPacketV3(ww.scratch[:0], p)
		return ww.conn.WriteMessage(websocket.TextMessage, ww.scratch)
	}
	head, typ := ww.frameHead(ww.scratch[:0], p)
	if len(head) == 0 {
		return ww.conn.WriteMessage(typ, p.Data)
	}
	ww.scratch = append(head, p.Data...)
	err := ww.conn.WriteMessage(typ, ww.scratch)
	if cap(ww.scratch) > 64<<10 {
		ww.scratch = nil // do not keep a large frame's buffer for an idle connection
	}
	return err
}

func (ww *wsWriter) shut() {
	if !ww.closed {
		ww.closed = true
		_ = ww.closer.Close()
	}
}

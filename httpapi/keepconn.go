package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/eioactor/engineio/internal/netpoll"
	"github.com/eioactor/engineio/internal/stack"
	"github.com/eioactor/engineio/internal/timers"
)

// An idle polling client keeps a GET pending, and every heartbeat brings
// an answer, a POST (the pong) and a new GET. When the handler holds the
// GET (see hold), net/http no longer has the connection; closing it after
// the answer sends each heartbeat's requests over new connections, each
// taken through net/http's goroutine and buffers, and those of the GETs
// left as garbage when they are held again. For 10,000 clients pinged
// together that burst, not the sessions, set the server's memory.
//
// When the handler is the http.Server's own Handler, every request on such
// a connection would reach it anyway, so it keeps the connection and reads
// the next requests itself: a keptConn. Between requests the connection
// waits without a buffer, on its goroutine while the client is busy and
// parked with the poller once it is quiet; a request is read with a pooled
// reader, served by the same handler as net/http would (Config.Root), and
// answered on the connection, which stays open. engineio.Server.Serve
// makes every connection it accepts a keptConn from its first request
// (ServeConn).
//
// A TLS connection is kept too, when net/http hands it over with a held
// poll: the requests read from it carry its TLS state, and while a poll is
// held it parks only once crypto/tls holds nothing whole (netpoll.ParkTLS).
// Serve leaves TLS connections to net/http until then; and with an
// application handler beside the engine (Config.Fallback) they stay with
// net/http, which would not know them for TLS once handed back.
//
// A kept connection honours its http.Server's MaxHeaderBytes,
// ReadHeaderTimeout, ReadTimeout and IdleTimeout, recovers a panicking
// handler as net/http does, and answers HTTP/1.1 keep-alive only: an
// HTTP/1.0 client or a "Connection: close" closes it after the response.

// keptConn is a connection the handler reads itself: taken from net/http
// for good, or accepted by the server's own listener.
type keptConn struct {
	h      *Handler
	conn   net.Conn // a *tls.Conn over TLS (see tlsConn)
	idle   *netpoll.Conn
	ctx    context.Context // of its requests: the first one's, without its end
	srv    *http.Server    // limits and timeouts
	remote string          // the client's address, as net/http gives it
	lim    limitedReader   // what the request reader reads
	// handoff takes the connection when a request for another path than
	// the engine's comes on it (Config.Fallback); nil without a fallback.
	handoff func(net.Conn)
	// connState is the http.Server's ConnState hook, for a connection
	// accepted by the server's own listener; nil otherwise (net/http told
	// it of the others until it let them go).
	connState func(net.Conn, http.ConnState)

	// Only the goroutine that serves the connection uses br and fresh.
	br *bufio.Reader // the request reader, while there is something to read or wait for

	mu        sync.Mutex
	stateDone bool // StateClosed or StateHijacked was reported
	pending   bool // it woke up while held: serve it after the answer
	serving   bool // a request is being read or served
	woken     bool // readable since it parked: await waits for the data
	lingering bool // the response is out and the connection about to close (linger)
	// fresh is beside the fields mu guards only to keep a kept connection
	// in the 176-byte size class.
	fresh     bool      // no request read yet: the first waits within the header timeout
	held      *heldPoll // the poll held on it, if any; with mu
	idleTimer timers.Timer
}

// tlsConn returns the connection as TLS, and whether it is.
func (kc *keptConn) tlsConn() (*tls.Conn, bool) {
	c, ok := kc.conn.(*tls.Conn)
	return c, ok
}

// keep makes conn, taken from net/http for a held poll of r, a kept
// connection, if it may be (keepable). It returns nil otherwise.
func (h *Handler) keep(r *http.Request, conn net.Conn) *keptConn {
	if !h.keepable(r) {
		return nil
	}
	srv := r.Context().Value(http.ServerContextKey).(*http.Server)
	return h.newKept(context.WithoutCancel(r.Context()), conn, srv, r.RemoteAddr)
}

// keepable reports whether the connection of r, a request net/http serves,
// could be kept: every request on it would reach this handler anyway (the
// handler is the server's own), and it may stay open.
func (h *Handler) keepable(r *http.Request) bool {
	if h.cfg.Root == nil || !r.ProtoAtLeast(1, 1) || r.Close {
		return false
	}
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil || srv.Handler != h.cfg.Root {
		return false
	}
	if h.cfg.Fallback != nil && (handoffFrom(r.Context()) == nil || r.TLS != nil) {
		return false // the application's requests on it need net/http
	}
	return true
}

// ServeConn serves conn, a connection accepted by the server's own
// listener (engineio.Server.Serve), as a kept connection from its first
// request on: with limits' timeouts and MaxHeaderBytes, and ctx as the
// context of its requests (with http.LocalAddrContextKey added, if ctx
// lacks it). It reports false, and leaves conn alone, when
// the connection cannot be served this way (not a plain TCP or Unix
// socket, or no poller on this system): the caller then hands it to
// net/http.
func (h *Handler) ServeConn(ctx context.Context, conn net.Conn, limits *http.Server) bool {
	if _, isTLS := conn.(*tls.Conn); isTLS || h.cfg.Root == nil || h.idlePoller() == nil {
		return false
	}
	kc := h.newKept(ctx, conn, limits, conn.RemoteAddr().String())
	if kc == nil {
		return false
	}
	kc.connState = limits.ConnState
	kc.setState(http.StateNew)
	// Like net/http, wait for the first request on a goroutine, within
	// the header timeout: a client sends it right after connecting.
	kc.fresh = true
	go kc.serveNew()
	return true
}

// serveNew is serve on the goroutine of a new connection. Its first
// request is most often a handshake, whose actor spawn goes deep: the
// stack grows for it now, while it is shallow (see package stack). The
// goroutines that resume a parked connection do not: a poll or a POST
// rarely needs the room.
func (kc *keptConn) serveNew() {
	stack.Grow()
	kc.serve()
}

// newKept registers conn with the poller as a kept connection; nil when it
// cannot be parked, or the handler is closed.
func (h *Handler) newKept(ctx context.Context, conn net.Conn, srv *http.Server, remote string) *keptConn {
	kc := &keptConn{h: h, conn: conn, ctx: ctx, srv: srv, remote: remote}
	kc.lim.r = conn
	if h.cfg.Fallback != nil {
		kc.handoff = handoffFrom(ctx)
	}
	if kc.idle = h.register(conn, kc); kc.idle == nil {
		return nil
	}
	h.keptMu.Lock()
	defer h.keptMu.Unlock()
	if h.keptClosed.Load() {
		kc.idle.Unregister()
		return nil
	}
	if h.kept == nil {
		h.kept = map[*keptConn]struct{}{}
	}
	h.kept[kc] = struct{}{}
	return kc
}

// closeKept closes the kept connections that wait for a request, and keeps
// no more: the others close after their response (a held poll's answer
// among them, as its session closes).
func (h *Handler) closeKept() {
	h.keptMu.Lock()
	h.keptClosed.Store(true)
	kept := make([]*keptConn, 0, len(h.kept))
	for kc := range h.kept {
		kept = append(kept, kc)
	}
	h.keptMu.Unlock()
	for _, kc := range kept {
		kc.mu.Lock()
		idle := (!kc.serving && kc.held == nil) || kc.lingering
		kc.mu.Unlock()
		if idle {
			kc.shut()
		}
	}
}

// KeptConnections returns how many connections the handler reads itself
// now (see keptConn).
func (h *Handler) KeptConnections() int {
	h.keptMu.Lock()
	defer h.keptMu.Unlock()
	return len(h.kept)
}

// Whoever has the connection in hand closes it for good (close): the
// goroutine serving it, the resumed watch of a held poll, or the poll's
// answer. Any other goroutine only shuts it: its holder then meets the
// closed connection, and a parked one resumes to do so.

// close closes the connection and forgets it. It may run more than once.
func (kc *keptConn) close() {
	kc.shut()
	kc.idle.Unregister()
	kc.forget()
	kc.setState(http.StateClosed)
}

// active reports StateActive once the next request has begun to come, as
// net/http does: not for a client that closed its idle connection.
func (kc *keptConn) active() {
	if kc.connState == nil {
		return
	}
	kc.limitHeader()
	if _, err := kc.br.Peek(1); err == nil {
		kc.setState(http.StateActive)
	}
}

// setState reports a state of the connection to the http.Server's
// ConnState hook, as net/http does for its connections: New, then Active
// and Idle for each request, and Closed, or Hijacked when the connection
// leaves the handler (a WebSocket, or net/http taking it for another
// path). Nothing is reported after Closed or Hijacked.
func (kc *keptConn) setState(state http.ConnState) {
	if kc.connState == nil {
		return
	}
	if state == http.StateClosed || state == http.StateHijacked {
		kc.mu.Lock()
		done := kc.stateDone
		kc.stateDone = true
		kc.mu.Unlock()
		if done {
			return
		}
	}
	kc.connState(kc.conn, state)
}

// shut closes the connection, from any goroutine.
func (kc *keptConn) shut() {
	kc.mu.Lock()
	kc.idleTimer.Stop()
	kc.mu.Unlock()
	_ = kc.idle.Close()
}

// forget removes the connection from the handler's set.
func (kc *keptConn) forget() {
	kc.h.keptMu.Lock()
	delete(kc.h.kept, kc)
	kc.h.keptMu.Unlock()
}

// hold parks the connection while hp, a poll read from it, waits.
func (kc *keptConn) hold(hp *heldPoll) {
	kc.mu.Lock()
	kc.held, kc.pending, kc.serving = hp, false, false
	kc.mu.Unlock()
	if _, isTLS := kc.tlsConn(); !isTLS {
		if !kc.idle.Park(false) {
			go kc.Resume() // closed: the poll is abandoned
		}
		return
	}
	switch parked, err := kc.parkTLS(); {
	case parked:
	case err == nil:
		kc.early(hp) // the next request has begun to come
	default:
		go kc.Resume() // the poll is abandoned
	}
}

// parkTLS parks a TLS connection whose poll is held, if crypto/tls holds
// nothing whole (netpoll.ParkTLS). Otherwise the client's next request has
// begun to come, and the request reader holds it (err is nil), or the
// connection failed or the client closed it.
func (kc *keptConn) parkTLS() (parked bool, err error) {
	kc.takeReader()
	parked, err = kc.idle.ParkTLS()
	if !parked && err != nil {
		kc.dropReader()
	}
	return parked, err
}

// tlsRecordWait bounds the read of a TLS connection that became readable
// while its poll is held: what came may be part of a record.
const tlsRecordWait = time.Second

// readTLS reads a TLS connection that became readable while its poll is
// held, as parkTLS tells: with the data of the client's next request in the
// request reader, the connection's error, or parked again when what came
// carries nothing for the reader (part of a record, say).
func (kc *keptConn) readTLS() (parked bool, err error) {
	kc.takeReader()
	_ = kc.conn.SetReadDeadline(time.Now().Add(tlsRecordWait))
	_, err = kc.br.Peek(1)
	_ = kc.conn.SetReadDeadline(time.Time{})
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return kc.parkTLS()
	}
	kc.dropReader()
	return false, err
}

// early is called when the client's next request came while its poll hp
// was held: it is served after the answer, or now if the answer went out
// meanwhile.
func (kc *keptConn) early(hp *heldPoll) {
	kc.mu.Lock()
	waiting := kc.held == hp
	kc.pending = waiting
	kc.mu.Unlock()
	if !waiting {
		kc.serve() // answered meanwhile
	}
}

// Resume runs when the parked connection becomes readable or closes
// (netpoll.Reader).
func (kc *keptConn) Resume() {
	kc.mu.Lock()
	hp := kc.held
	kc.mu.Unlock()
	if hp == nil {
		kc.woken = true
		kc.serve()
		return
	}
	// The poll waits: a client that went away abandons it; one that sent
	// its next request early is served after the answer. The socket tells
	// which, unless crypto/tls is in between: a TLS connection is read.
	var err error
	if _, isTLS := kc.tlsConn(); isTLS {
		var parked bool
		if parked, err = kc.readTLS(); parked {
			return
		}
	} else {
		var data bool
		if data, err = kc.idle.Peek(); data {
			err = nil
		}
	}
	if err != nil && hp.abandon() {
		return
	}
	kc.early(hp)
}

// answered writes the answer of the poll hp, held on the connection, and
// keeps the connection for the client's next request.
func (kc *keptConn) answered(hp *heldPoll, rw *bufferedResponse) {
	rw.keep = !kc.h.isKeptClosed()
	if err := kc.write(rw); err != nil || !rw.keep {
		kc.close()
		return
	}
	kc.setState(http.StateIdle)
	kc.mu.Lock()
	pending := kc.pending
	kc.held, kc.pending = nil, false
	// closeKept passes over a connection with a held poll: if it ran
	// since the check above, it is this goroutine's to close.
	if kc.h.isKeptClosed() {
		kc.mu.Unlock()
		kc.close()
		return
	}
	if !pending {
		kc.startIdleTimer(idleTimeout(kc.srv))
	}
	kc.mu.Unlock()
	if pending {
		kc.woken = true
		kc.serve() // still parked otherwise: the next request resumes it
	}
}

// write writes a whole response, within the write timeout.
func (kc *keptConn) write(rw *bufferedResponse) error {
	timeout := kc.h.cfg.WriteTimeout
	if timeout <= 0 {
		timeout = kc.srv.WriteTimeout
	}
	if timeout > 0 {
		_ = kc.conn.SetWriteDeadline(time.Now().Add(timeout))
	}
	var w io.Writer = kc.conn
	switch {
	case kc.idle != nil && !rw.keep:
		w = lastWrite{kc.idle} // the connection closes after it
	case kc.idle != nil:
		w = kc.idle // its Write makes fewer calls into the runtime
	}
	_, err := rw.WriteTo(w)
	return err
}

// lastWrite writes the last bytes of a connection (netpoll.Conn.WriteLast):
// the end of the stream goes out with them.
type lastWrite struct{ c *netpoll.Conn }

func (w lastWrite) Write(p []byte) (int, error) { return w.c.WriteLast(p) }

// startIdleTimer closes the connection if no request comes within d (no
// limit when d <= 0). Called with kc.mu.
func (kc *keptConn) startIdleTimer(d time.Duration) {
	if d > 0 {
		kc.idleTimer.Start(d, kc)
	}
}

// idleTimeout is how long a connection may wait for its next request, as
// net/http has it: IdleTimeout, or else ReadTimeout.
func idleTimeout(srv *http.Server) time.Duration {
	if srv.IdleTimeout > 0 {
		return srv.IdleTimeout
	}
	return srv.ReadTimeout
}

// headerTimeout bounds the reading of a request's header: ReadHeaderTimeout,
// or else ReadTimeout.
func headerTimeout(srv *http.Server) time.Duration {
	if srv.ReadHeaderTimeout > 0 {
		return srv.ReadHeaderTimeout
	}
	return srv.ReadTimeout
}

// Expire implements timers.Expirer: no request came in time.
func (kc *keptConn) Expire() {
	kc.mu.Lock()
	idle := !kc.serving && kc.held == nil
	kc.mu.Unlock()
	if idle {
		kc.shut()
	}
}

// maxDrain is how much of a request body the handler left unread is read
// to keep the connection: net/http's bound too.
const maxDrain = 256 << 10

// serve reads and serves the requests on the connection. Between requests
// it waits for the next one (await); it holds a request reader only while
// there is something to read.
func (kc *keptConn) serve() {
	again := false // a request was served on this goroutine
	for {
		if (kc.br == nil || kc.br.Buffered() == 0) && kc.await() {
			return // parked
		}
		if kc.br == nil {
			kc.br = getRequestReader(&kc.lim)
		}
		if kc.handoff != nil && !kc.forEngine() {
			kc.handOver()
			return
		}
		kc.active()
		req, scratch, err := kc.readRequest(kc.br)
		if err != nil {
			kc.refuse(err)
			kc.dropReader()
			kc.close()
			return
		}
		kc.fresh = false
		var w *keptResponse
		if scratch != nil {
			w = scratch.response(kc)
		} else {
			w = &keptResponse{bufferedResponse: bufferedResponse{header: http.Header{}, head: req.Method == http.MethodHead}, kc: kc}
		}
		if again {
			// A busy connection's POSTs run its session on this
			// goroutine, deep below, and the collector halves the stack
			// of a goroutine that waited shallow for its request: it
			// grows back here, where a copy is cheap, rather than there.
			stack.Grow()
		}
		again = true
		served := kc.handle(w, req)
		if w.hijacked {
			kc.doneWith(w, scratch)
			return // held again, or a WebSocket now: see keptResponse
		}
		keep := served && !req.Close && !strings.EqualFold(w.header.Get("Connection"), "close")
		unread := false // the client may still be sending the body
		if req.Body != nil && req.Body != http.NoBody {
			unread = !drained(req.Body)
			keep = !unread && keep
			_ = req.Body.Close()
		}
		if served {
			keep = keep && !kc.h.isKeptClosed()
			w.keep = keep
			if kc.write(&w.bufferedResponse) != nil {
				keep, unread = false, false
			}
		}
		kc.doneWith(w, scratch)
		if !keep {
			if unread && served {
				kc.linger()
			}
			kc.dropReader()
			kc.close()
			return
		}
		kc.setState(http.StateIdle)
	}
}

// doneWith puts back the scratch that w and its request were built in
// (nil: none), if the handler said that nothing refers to the request
// (requestDone) and no callback of the application could have seen it.
// By then w has been written, or has handed its connection to a held poll,
// which keeps a copy of its header.
func (kc *keptConn) doneWith(w *keptResponse, scratch *requestScratch) {
	if scratch != nil && w.requestDone && !kc.h.requestContext.Load() {
		putScratch(scratch)
	}
}

func putScratch(s *requestScratch) {
	s.reset()
	requestScratches.Put(s)
}

// handoffKey is the context key of WithHandoff.
type handoffKey struct{}

// WithHandoff returns ctx with handoff, which takes a connection that a
// kept connection gives up to serve the requests for other paths than the
// engine's (Config.Fallback) with net/http: what handoff is given reads
// first what the connection had buffered.
func WithHandoff(ctx context.Context, handoff func(net.Conn)) context.Context {
	return context.WithValue(ctx, handoffKey{}, handoff)
}

func handoffFrom(ctx context.Context) func(net.Conn) {
	f, _ := ctx.Value(handoffKey{}).(func(net.Conn))
	return f
}

// forEngine peeks at the request line of the next request and reports
// whether its path is the engine's, or the request cannot be read (the
// next read meets the error). A request line it cannot tell, being longer
// than the reader's buffer, is not the engine's.
func (kc *keptConn) forEngine() bool {
	if d := headerTimeout(kc.srv); d > 0 {
		_ = kc.conn.SetReadDeadline(time.Now().Add(d))
	}
	kc.limitHeader()
	br := kc.br
	for {
		buf, _ := br.Peek(br.Buffered())
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			path, ok := requestPath(buf[:i])
			return !ok || kc.h.IsEnginePath(path)
		}
		if br.Buffered() == br.Size() {
			return false
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			return true
		}
	}
}

// requestPath returns the path of a request line ("GET /p?q HTTP/1.1"),
// unescaped as http.Request.URL.Path has it; ok is false when the line is
// malformed.
func requestPath(line []byte) (path string, ok bool) {
	_, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, _, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 {
		return "", false
	}
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if len(target) > 0 && target[0] == '/' && bytes.IndexByte(target, '%') < 0 {
		return string(target), true
	}
	u, err := url.ParseRequestURI(string(target))
	if err != nil {
		return "", false
	}
	return u.Path, true
}

// handOver gives the connection, with what its reader had buffered, to the
// handoff: net/http serves it from now on.
func (kc *keptConn) handOver() {
	buffered, _ := kc.br.Peek(kc.br.Buffered())
	pending := bytes.Clone(buffered)
	kc.dropReader()
	kc.mu.Lock()
	kc.idleTimer.Stop()
	kc.mu.Unlock()
	kc.idle.Unregister()
	kc.forget()
	kc.setState(http.StateHijacked)
	_ = kc.conn.SetDeadline(time.Time{})
	kc.handoff(&replayConn{Conn: kc.conn, pending: pending})
}

// replayConn is a connection whose reads return pending before what comes
// from the socket.
type replayConn struct {
	net.Conn
	pending []byte
}

// Read implements net.Conn.
func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return n, nil
}

// CloseWrite shuts the writing side of a TCP connection, as net/http does
// before it closes one.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// unwrapReplay returns the connection under a replayConn that has
// replayed everything (one that a kept connection handed to net/http and
// that came back in a hijack), which the poller can watch; other
// connections as they are.
func unwrapReplay(c net.Conn) net.Conn {
	if rc, ok := c.(*replayConn); ok && len(rc.pending) == 0 {
		return rc.Conn
	}
	return c
}

// drained reads what the handler left of a request body, up to maxDrain,
// and reports whether it got to its end.
func drained(body io.Reader) bool {
	if cb, ok := body.(*contentBody); ok && cb.body.N == 0 {
		return true // read by the handler, and known to be without a read
	}
	var one [1]byte
	if n, err := body.Read(one[:]); n == 0 && err == io.EOF {
		return true // read by the handler: the usual case
	}
	_, err := io.CopyN(io.Discard, body, maxDrain)
	return err == io.EOF
}

// MaxAwaiting is how many kept connections may wait for their next
// request on a goroutine at a time; the others park at once (see await).
// Tests lower it to see connections park after their request.
var MaxAwaiting int32 = 256

// await waits for the next request: on this goroutine, reading into the
// request reader, while the client is busy, and parked, without the
// goroutine or the reader, once it is quiet (see netpoll.Conn.Wait; a
// client that had been parked for an interval parks again right after its
// request). It reports whether the connection was parked: the caller then
// returns and touches nothing. Otherwise the request began to come, or an
// error the next read meets.
//
// Waiting in a read, not in a readiness check without a buffer, saves a
// system call per request: the read that finds the socket empty, then the
// one that brings the request, as net/http does; a check would take one
// more to see the data before reading it. At most MaxAwaiting connections
// hold a reader while they wait.
func (kc *keptConn) await() bool {
	if kc.srv.ReadTimeout > 0 {
		_ = kc.conn.SetReadDeadline(time.Time{}) // the last request's: the idle timer bounds the wait
	}
	wait := idleTimeout(kc.srv)
	if kc.fresh {
		wait = headerTimeout(kc.srv) // as net/http waits for a first request
	}
	kc.mu.Lock()
	kc.serving = false
	if kc.h.isKeptClosed() {
		// closeKept passes over a connection being served.
		kc.mu.Unlock()
		kc.dropReader()
		kc.close()
		return true
	}
	kc.startIdleTimer(wait)
	kc.mu.Unlock()
	// A connection waits on its goroutine for a quiet interval, unless
	// many already do (thousands of clients connecting, or answering a
	// heartbeat, together): it then parks at once. Each goroutine up at a
	// storm's peak would leave its g behind for good (the runtime never
	// frees one), and its stack would raise the collector's goal for as
	// long as the server stays idle. A connection that woke up waits for
	// what woke it.
	woken := kc.woken
	kc.woken = false
	if !woken && kc.h.awaiting.Load() >= MaxAwaiting && kc.idle.Park(true) {
		return true
	}
	kc.takeReader()
	kc.h.awaiting.Add(1)
	parked := kc.idle.Wait()
	kc.h.awaiting.Add(-1)
	if parked {
		return true
	}
	kc.mu.Lock()
	kc.serving = true
	kc.idleTimer.Stop()
	kc.mu.Unlock()
	return false
}

// takeReader gives the connection a request reader, if it has none, to
// read the next request's header with, within MaxHeaderBytes.
func (kc *keptConn) takeReader() {
	if kc.br == nil {
		kc.br = getRequestReader(&kc.lim)
	}
	kc.limitHeader()
}

// Await waits until a byte of the next request is buffered, the
// connection fails or its read deadline passes (the poller's kick). With
// Resume and Release it makes the connection its poller registration's
// netpoll.Reader.
func (kc *keptConn) Await() error {
	_, err := kc.br.Peek(1)
	return err
}

// Release gives the request reader back as the connection parks
// (netpoll.Reader).
func (kc *keptConn) Release() { kc.dropReader() }

// dropReader gives the request reader back to the pool.
func (kc *keptConn) dropReader() {
	if kc.br != nil {
		putRequestReader(kc.br)
		kc.br = nil
	}
}

// limitHeader lets the request reader read what is left of a request
// header within the server's MaxHeaderBytes.
func (kc *keptConn) limitHeader() {
	maxHeader := kc.srv.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = http.DefaultMaxHeaderBytes
	}
	// net/http's slack for the request line; what is buffered counts.
	kc.lim.n = max(0, int64(maxHeader)+4096-int64(kc.br.Buffered()))
}

// errHeaderTooLarge is a request header over the server's MaxHeaderBytes.
var errHeaderTooLarge = errors.New("engineio: request header too large")

// errBadRequest is a request net/http would refuse with 400.
var errBadRequest = errors.New("engineio: malformed request")

// readRequest reads the next request, within the server's limits. scratch
// is what readSimpleRequest built it in, for the response too and for
// doneWith to put back; nil when net/http read it.
func (kc *keptConn) readRequest(br *bufio.Reader) (req *http.Request, scratch *requestScratch, err error) {
	if kc.h.isKeptClosed() {
		return nil, nil, net.ErrClosed
	}
	kc.limitHeader()
	scratch = requestScratches.Get().(*requestScratch)
	req, simple := readSimpleRequest(br, scratch)
	if !simple {
		putScratch(scratch)
		scratch = nil
		if req, err = kc.readNetHTTP(br); err != nil {
			return nil, nil, err
		}
		if !validHeader(req.Header) {
			return nil, nil, errBadRequest
		}
	} else if d := kc.srv.ReadTimeout; d > 0 {
		// The header was there whole: no read, so no header timeout.
		_ = kc.conn.SetReadDeadline(time.Now().Add(d))
	} else if kc.handoff != nil && headerTimeout(kc.srv) > 0 {
		_ = kc.conn.SetReadDeadline(time.Time{}) // forEngine's
	}
	kc.lim.n = math.MaxInt64 // the body: the handler bounds it
	if err := kc.admit(req); err != nil {
		if scratch != nil {
			putScratch(scratch)
		}
		return nil, nil, err
	}
	if kc.h.requestContext.Load() {
		// The application's callbacks see the request: doneWith does not
		// put its scratch back.
		return req.WithContext(kc.requestContext()), scratch, nil
	}
	return req, scratch, nil
}

// admit checks what net/http checks of a request besides parsing it,
// answers its Expect: 100-continue, and completes it with what the
// connection knows.
func (kc *keptConn) admit(req *http.Request) error {
	hosts := req.Header["Host"]
	if req.ProtoMajor != 1 || len(hosts) > 1 || (req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Host == "") || !validHost(req.Host) {
		return errBadRequest
	}
	delete(req.Header, "Host")
	if expect := req.Header.Get("Expect"); expect != "" {
		if !strings.EqualFold(expect, "100-continue") || !req.ProtoAtLeast(1, 1) {
			return errBadRequest
		}
		req.Header.Del("Expect")
		if req.ContentLength != 0 {
			if _, err := io.WriteString(kc.conn, "HTTP/1.1 100 Continue\r\n\r\n"); err != nil {
				return err
			}
		}
	}
	req.RemoteAddr = kc.remote
	if tc, isTLS := kc.tlsConn(); isTLS {
		state := tc.ConnectionState()
		req.TLS = &state
	}
	return nil
}

// readNetHTTP reads a request with http.ReadRequest, within the server's
// ReadHeaderTimeout, and leaves the read deadline at its ReadTimeout.
func (kc *keptConn) readNetHTTP(br *bufio.Reader) (*http.Request, error) {
	hdrTimeout := headerTimeout(kc.srv)
	var start time.Time
	if hdrTimeout > 0 || kc.srv.ReadTimeout > 0 {
		start = time.Now()
	}
	if hdrTimeout > 0 {
		_ = kc.conn.SetReadDeadline(start.Add(hdrTimeout))
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		if kc.lim.n <= 0 {
			return nil, errHeaderTooLarge
		}
		var ne net.Error
		if err == io.EOF || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) {
			return nil, err
		}
		return nil, errBadRequest
	}
	if d := kc.srv.ReadTimeout; d > 0 {
		_ = kc.conn.SetReadDeadline(start.Add(d))
	} else if hdrTimeout > 0 {
		_ = kc.conn.SetReadDeadline(time.Time{})
	}
	return req, nil
}

// requestContext is the context of the connection's requests: its own,
// with the local address as net/http gives it if that is not there yet
// (ServeConn).
func (kc *keptConn) requestContext() context.Context {
	if kc.ctx.Value(http.LocalAddrContextKey) != nil {
		return kc.ctx
	}
	return context.WithValue(kc.ctx, http.LocalAddrContextKey, kc.conn.LocalAddr())
}

// validHeader checks what net/http's server checks of a header that
// ReadRequest parsed: every name a token, no value with a control byte. A
// name with a space before its colon passes ReadRequest; taken as another
// header than the one a proxy in front may have read, it could smuggle a
// request in the body.
func validHeader(h http.Header) bool {
	for k, vs := range h {
		if _, ok := headerName(k); !ok {
			return false
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// validHost reports whether a Host header has no byte that a host, a port
// or an IPv6 literal cannot have.
func validHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"<>\\^`+"`"+`{|}`, c) >= 0 {
			return false
		}
	}
	return true
}

// refuse answers a request that could not be read, as net/http would; a
// connection that closed or timed out gets nothing.
func (kc *keptConn) refuse(err error) {
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, errHeaderTooLarge):
		status = http.StatusRequestHeaderFieldsTooLarge
	case errors.Is(err, errBadRequest):
	default:
		return
	}
	rw := &bufferedResponse{header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, status: status}
	rw.body = append(rw.body, http.StatusText(status)...)
	if kc.write(rw) == nil {
		kc.linger() // what the client sent beyond the refused header
	}
}

// lingerTime is how long linger leaves a client to read its response:
// net/http's wait before it closes such a connection.
const lingerTime = 500 * time.Millisecond

// linger makes ready to close a connection that the client may still be
// sending on, after its response. What it sent unread would make the close
// reset the connection, and the client could meet the reset before the
// response. So the sending side closes first, and what comes is read and
// dropped until the client closes, for up to lingerTime, as net/http
// leaves a client that long; closing the server (closeKept) ends the wait.
func (kc *keptConn) linger() {
	cw, ok := kc.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	kc.mu.Lock()
	kc.lingering = true
	kc.mu.Unlock()
	if kc.h.isKeptClosed() {
		return // closeKept may have passed it by
	}
	_ = kc.conn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.Copy(io.Discard, kc.conn)
}

// handle runs the handler chain on a request; it reports false when the
// handler panicked, which closes the connection without a response, as
// net/http does.
func (kc *keptConn) handle(w *keptResponse, req *http.Request) (served bool) {
	defer func() {
		if v := recover(); v != nil {
			served = false
			if v != http.ErrAbortHandler {
				kc.h.cfg.Logger.Error("engineio: panic serving a request", "remote", kc.remote, "panic", v)
			}
		}
	}()
	kc.h.cfg.Root.ServeHTTP(w, req)
	return true
}

func (h *Handler) isKeptClosed() bool { return h.keptClosed.Load() }

// keptResponse is the http.ResponseWriter of a request read from a kept
// connection: the response is written whole after the handler returns.
type keptResponse struct {
	bufferedResponse
	kc       *keptConn
	hijacked bool
	// requestDone: the handler keeps nothing of the request (requestDone).
	requestDone bool
}

// release hands the connection to a poll that is held on it: the handler
// stops reading it. It reports false, and keeps it, when a pipelined
// request is buffered.
func (w *keptResponse) release() bool {
	if w.hijacked || (w.kc.br != nil && w.kc.br.Buffered() > 0) {
		return false
	}
	w.hijacked = true
	w.kc.dropReader()
	return true
}

// Hijack implements http.Hijacker: the connection leaves the handler's
// kept set (a WebSocket upgrade, say).
func (w *keptResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	kc := w.kc
	kc.idle.Unregister()
	kc.forget()
	kc.setState(http.StateHijacked)
	br := kc.br
	if br == nil || br.Buffered() == 0 {
		kc.dropReader()
		br = bufio.NewReaderSize(kc.conn, 16)
	} else {
		// What is buffered is the new owner's now; so is the reader.
		kc.br = nil
		kc.lim.n = math.MaxInt64
	}
	_ = kc.conn.SetDeadline(time.Time{})
	return kc.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(kc.conn, 512)), nil
}

// limitedReader reads a connection up to n bytes; the request reader reads
// through it, so that a header cannot grow without bound.
type limitedReader struct {
	r net.Conn
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// requestReaders are the buffered readers of kept connections, 4 KB as
// net/http's: a connection holds one only while it reads a request.
var requestReaders sync.Pool

func getRequestReader(r io.Reader) *bufio.Reader {
	if br, ok := requestReaders.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 4096)
}

func putRequestReader(br *bufio.Reader) {
	br.Reset(nil)
	requestReaders.Put(br)
}

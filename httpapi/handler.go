package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/internal/netpoll"
	"github.com/eioactor/engineio/internal/reply"
	"github.com/eioactor/engineio/internal/stack"
	"github.com/eioactor/engineio/metrics"
	"github.com/eioactor/engineio/protocol"
	"github.com/eioactor/engineio/supervisor"
)

// Config configures a Handler.
type Config struct {
	// Path is the engine path, e.g. "/engine.io/"; it is served with and
	// without its trailing slash.
	Path string
	// Polling and WebSocket say which transports are enabled.
	Polling, WebSocket bool
	// AllowEIO3 accepts protocol revision 3 clients besides revision 4.
	AllowEIO3 bool
	// MaxPayload bounds a POST body and a WebSocket frame, in bytes.
	MaxPayload int64
	// WriteTimeout bounds each WebSocket write.
	WriteTimeout time.Duration
	// ReplyTimeout is a safety net for waiting on an actor's reply. A parked
	// long-poll is answered by its session within the ping interval, so it
	// should be longer than that.
	ReplyTimeout time.Duration
	// Origins decides which cross-origin requests, polling and WebSocket,
	// are allowed; the zero value allows same-origin requests only.
	Origins OriginPolicy
	// Compression compresses polling responses.
	Compression Compression
	// PerMessageDeflate negotiates permessage-deflate on WebSockets and
	// compresses messages of at least DeflateThreshold bytes.
	PerMessageDeflate bool
	DeflateThreshold  int
	// Cookie, when not nil, is the template of the cookie that carries the
	// sid on the handshake response (for sticky load balancing).
	Cookie *http.Cookie
	// AllowRequest, when set, sees every handshake request before a
	// session exists; an error rejects it (see RequestError).
	AllowRequest func(r *http.Request) error
	// InitialHeaders adds headers to handshake responses; Headers to every
	// response.
	InitialHeaders func(h http.Header, r *http.Request)
	Headers        func(h http.Header, r *http.Request)
	Logger         *slog.Logger
	// Metrics counts error responses; nil means none.
	Metrics metrics.Recorder
	// Refused, when set, sees every request answered with the protocol's
	// JSON error, with the status, code and message of the answer, before
	// the answer is written.
	Refused func(r *http.Request, status int, code protocol.ErrorCode, message string)
	// Root is the handler that serves this one; when it is the
	// http.Server's own Handler, the connection of a held poll is kept
	// after the answer, and the handler reads the next requests on it
	// itself (see keptConn). Nil: such connections close after the answer.
	Root http.Handler
	// Fallback serves the requests for other paths than the engine's (the
	// application's pages and API); nil answers them 404. A kept
	// connection hands such a request, and itself with it, to net/http: to
	// the handoff of its context (WithHandoff), without which a connection
	// that may carry such requests is not kept.
	Fallback http.Handler
	// RequestContext says that something which sees the requests (the
	// application's callbacks above, a Root that is more than this
	// handler) may read their context: a request read from a kept
	// connection then carries the connection's (ConnContext's values,
	// http.LocalAddrContextKey), at the cost of a copy of the request.
	// Without it, such requests carry none, and the engine's are built in
	// memory that the connection's next request reuses (see requestDone).
	RequestContext bool
}

// RequestError rejects a handshake with its Status (403 when zero), Code
// (4, Forbidden, when zero) and Message.
type RequestError struct {
	Status  int
	Code    protocol.ErrorCode
	Message string
}

// Error implements error.
func (e *RequestError) Error() string {
	return fmt.Sprintf("engineio: request rejected (%d): %s", e.Status, e.Message)
}

// Session is how the HTTP layer reaches a session: its actor, and whether
// it has closed. A request sent to the actor is always answered: by the
// session, by its mailbox's stop guard once the actor is stopping, or by
// the actor system (*actor.DeadLetterResponse) once it is gone; so waiting
// for the answer needs nothing but the request's own inbox.
type Session struct {
	PID   *actor.PID
	State SessionState
}

// SessionState tells whether a session has closed.
type SessionState interface {
	// Closed reports whether the session has closed.
	Closed() bool
}

// Lookup finds the open session with a sid. It is the only way the HTTP
// layer reaches a session.
type Lookup func(sid string) (Session, bool)

// Handler is the http.Handler of the engine path.
type Handler struct {
	cfg        Config
	sys        *actor.ActorSystem
	supervisor *actor.PID
	lookup     Lookup
	upgrader   websocket.Upgrader
	altPath    string
	inboxes    *reply.Pool
	polls      *reply.Router // the reply target of long-polls

	pollerOnce sync.Once
	poller     *netpoll.Poller // parks quiet connections; started with the first one
	held       atomic.Int64    // long-polls held without a goroutine (see hold)
	awaiting   atomic.Int32    // kept connections waiting for a request on their goroutine

	keptMu     sync.Mutex
	kept       map[*keptConn]struct{} // connections read by the handler itself
	keptClosed atomic.Bool            // Close has run: no more kept connections; set with keptMu

	requestContext atomic.Bool // Config.RequestContext, or KeepRequestContext was called
}

// KeepRequestContext gives the requests read from kept connections their
// connection's context from now on, as Config.RequestContext does, and
// stops their reuse: for a callback that sees the requests and is set after
// the handler was made. Call it before the callback can run.
func (h *Handler) KeepRequestContext() { h.requestContext.Store(true) }

// idlePoller returns the handler's poller, starting it on first use; nil
// where connections cannot be parked.
func (h *Handler) idlePoller() *netpoll.Poller {
	h.pollerOnce.Do(func() { h.poller = netpoll.New(netpoll.IdleAfter) })
	return h.poller
}

// register watches conn with the handler's poller (see netpoll): a TLS
// connection through RegisterTLS, any other through Register. It returns
// nil when the connection cannot be parked.
func (h *Handler) register(conn net.Conn, r netpoll.Reader) *netpoll.Conn {
	if tc, ok := conn.(*tls.Conn); ok {
		return h.idlePoller().RegisterTLS(tc, r)
	}
	return h.idlePoller().Register(conn, r)
}

// maxIdleInboxes bounds the reply inboxes kept for reuse: about the
// requests in flight at a time.
const maxIdleInboxes = 4096

// New returns a handler that opens sessions through the supervisor and
// finds them with lookup.
func New(cfg Config, sys *actor.ActorSystem, supervisorPID *actor.PID, lookup Lookup) *Handler {
	h := &Handler{cfg: cfg, sys: sys, supervisor: supervisorPID, lookup: lookup, inboxes: reply.NewPool(sys, maxIdleInboxes), polls: reply.NewRouter(sys, maxIdleInboxes)}
	h.requestContext.Store(cfg.RequestContext)
	h.altPath = strings.TrimSuffix(cfg.Path, "/")
	// Small buffers: they are most of what an idle WebSocket costs. A
	// message larger than the read buffer is not slower for it: gorilla
	// reads a large payload straight into the caller's buffer. The read
	// buffer is ours (see hijackReader), and a parked connection lets it
	// go. Without per-message deflate the writer frames messages itself,
	// in pooled buffers (see wsWriter.writeFrames); with it, gorilla
	// frames them by its write buffer's size, so that gets larger.
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:    0, // the hijacked connection's reader: see hijackReader
		WriteBufferSize:   256,
		EnableCompression: cfg.PerMessageDeflate,
		// The origin policy has been applied before the upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			h.writeError(w, r, http.StatusBadRequest, protocol.CodeBadRequest, protocol.CodeBadRequest.Message(), true)
		},
	}
	if cfg.PerMessageDeflate {
		h.upgrader.WriteBufferSize = 4096
	}
	// Without deflate the writer frames messages itself (see
	// wsWriter.writeFrames) and gorilla's write buffer would go unused:
	// with a pool, gorilla allocates none.
	h.upgrader.WriteBufferPool = &sync.Pool{}
	return h
}

// Refuse answers r with the protocol's JSON error, as the handler answers
// the requests it refuses itself: Config.Metrics and Config.Refused see it.
func (h *Handler) Refuse(w http.ResponseWriter, r *http.Request, status int, code protocol.ErrorCode, message string) {
	h.writeError(w, r, status, code, message, false)
}

// IsEnginePath reports whether a request for path is the engine's.
func (h *Handler) IsEnginePath(path string) bool {
	return path == h.cfg.Path || path == h.altPath
}

// inFallback marks the context of a request passed to Config.Fallback.
type inFallback struct{}

// serveOther serves a request for another path than the engine's: with the
// fallback, or 404. A fallback that passes the request back to this
// handler (a mux that mounts the engine at its root, say) gets 404 then,
// not a loop.
func (h *Handler) serveOther(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Fallback == nil || r.Context().Value(inFallback{}) != nil {
		http.NotFound(w, r)
		return
	}
	h.cfg.Fallback.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), inFallback{}, true)))
}

// request is one parsed engine request.
type request struct {
	w         http.ResponseWriter
	r         *http.Request
	rev       protocol.Revision
	transport actors.Transport
	jsonp     string // the JSONP index, "" when not JSONP
	base64    bool   // binary as base64 in polling payloads (v3)
	ws        bool   // transport=websocket was asked for
	accept    string // for a held poll (see hold), whose r is nil: its Accept-Encoding, as negotiated
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.IsEnginePath(r.URL.Path) {
		h.serveOther(w, r)
		return
	}
	q := parseEngineQuery(r.URL.RawQuery)
	req := &request{w: w, r: r, ws: q.transport == "websocket"}
	if h.cfg.Headers != nil {
		h.cfg.Headers(w.Header(), r)
	}
	allowed, malformed := h.cfg.Origins.Check(r)
	if malformed || !allowed {
		h.fail(req, http.StatusBadRequest, protocol.CodeBadRequest)
		return
	}
	if r.Method == http.MethodOptions {
		h.cfg.Origins.Preflight(w, r)
		return
	}
	h.cfg.Origins.SetHeaders(w.Header(), r)
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		w.Header().Set("X-XSS-Protection", "0")
	}

	rev, ok := protocol.ParseRevision(q.eio)
	if !ok || (rev == protocol.V3 && !h.cfg.AllowEIO3) {
		h.fail(req, http.StatusBadRequest, protocol.CodeUnsupportedProtocolVersion)
		return
	}
	req.rev = rev
	switch q.transport {
	case "polling":
		if h.cfg.Polling {
			req.transport = actors.TransportPolling
		}
	case "websocket":
		if h.cfg.WebSocket {
			req.transport = actors.TransportWebSocket
		}
	}
	if req.transport == 0 {
		h.fail(req, http.StatusBadRequest, protocol.CodeUnknownTransport)
		return
	}
	if q.hasJ && req.transport == actors.TransportPolling {
		if !protocol.ValidJSONPIndex(q.j) {
			h.writeError(w, r, http.StatusBadRequest, protocol.CodeBadRequest, "Invalid JSONP index number", false)
			return
		}
		req.jsonp, req.base64 = q.j, true
	}
	if q.b64 != "" {
		req.base64 = true
	}

	sid := q.sid
	if sid == "" {
		h.handshake(req)
		return
	}
	sess, ok := h.lookup(sid)
	if !ok {
		h.fail(req, http.StatusBadRequest, protocol.CodeUnknownSID)
		return
	}
	switch {
	case req.transport == actors.TransportWebSocket:
		h.serveWebSocket(req, sess, nil)
		requestDone(w)
	case r.Method == http.MethodGet:
		h.poll(req, sess)
		requestDone(w)
	case r.Method == http.MethodPost:
		h.post(req, sess)
		requestDone(w)
	default:
		h.fail(req, http.StatusBadRequest, protocol.CodeBadRequest)
	}
}

// requestDone tells the kept connection that read the request of w, if
// one did, that nothing refers to the request any more: the connection may
// build its next request in the same memory (requestScratch). A poll and
// a POST keep nothing of theirs: a held poll keeps copies of what its
// answer needs, and a POST's body is read into a buffer of its own. Nor
// does a handshake that its session answered, or a WebSocket upgrade, once
// its reader and writer run: they read the connection, not the request.
func requestDone(w http.ResponseWriter) {
	if kw, ok := w.(*keptResponse); ok {
		kw.requestDone = true
	}
}

func (h *Handler) handshake(req *request) {
	// The supervisor spawns the session on this goroutine, deep below:
	// grow the stack now (see package stack). Under Serve the
	// connection's goroutine has grown already, and this costs a call.
	stack.Grow()
	r := req.r
	if r.Method != http.MethodGet {
		h.fail(req, http.StatusBadRequest, protocol.CodeBadHandshakeMethod)
		return
	}
	if req.transport == actors.TransportWebSocket && !websocket.IsWebSocketUpgrade(r) {
		h.fail(req, http.StatusBadRequest, protocol.CodeBadRequest)
		return
	}
	if h.cfg.AllowRequest != nil {
		if err := h.cfg.AllowRequest(r); err != nil {
			h.reject(req, err)
			return
		}
	}
	open := &supervisor.Open{
		Revision:   req.rev,
		Transport:  req.transport,
		Header:     r.Header,
		RawQuery:   r.URL.RawQuery,
		RemoteAddr: r.RemoteAddr,
	}
	answer, err := h.open(r.Context(), open)
	if err != nil {
		h.replyFailed(req, err)
		return
	}
	m, ok := answer.(*actors.Opened)
	if !ok {
		h.writeReply(req, answer)
		return
	}
	// The supervisor has answered: the session's Info holds copies of what
	// it took from the request (actors.NewInfo), and nothing else of the
	// request is kept past this handler.
	defer requestDone(req.w)
	if req.transport == actors.TransportPolling {
		h.handshakeHeaders(req.w.Header(), r, m.SID)
		h.writePayload(req, m.Payload, false)
		return
	}
	sess, ok := h.lookup(m.SID)
	if !ok {
		h.fail(req, http.StatusBadRequest, protocol.CodeUnknownSID)
		return
	}
	h.serveWebSocket(req, sess, m)
}

// handshakeHeaders adds what only a handshake response carries.
func (h *Handler) handshakeHeaders(hd http.Header, r *http.Request, sid string) {
	if h.cfg.InitialHeaders != nil {
		h.cfg.InitialHeaders(hd, r)
	}
	if h.cfg.Cookie != nil {
		c := *h.cfg.Cookie
		c.Value = sid
		if v := c.String(); v != "" {
			hd.Add("Set-Cookie", v)
		}
	}
}

func (h *Handler) reject(req *request, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		h.writeError(req.w, req.r, http.StatusForbidden, protocol.CodeForbidden, err.Error(), req.ws)
		return
	}
	status, code := re.Status, re.Code
	if status == 0 {
		status = http.StatusForbidden
	}
	if code == 0 {
		// Code 0 is "Transport unknown"; a rejection is a Forbidden.
		code = protocol.CodeForbidden
	}
	msg := re.Message
	if msg == "" {
		msg = code.Message()
	}
	h.writeError(req.w, req.r, status, code, msg, req.ws)
}

func (h *Handler) poll(req *request, sess Session) {
	// A poll's inbox is reached through the router: one that is held
	// keeps a table entry rather than a process in the registry.
	ib, reusable := h.polls.Get(), false
	defer func() {
		if ib != nil {
			h.polls.Put(ib, reusable)
		}
	}()
	holdable := h.holdable(req)
	ib.Ask(h.sys.Root, sess.PID, &actors.Poll{Base64: req.base64, Holdable: holdable, ID: ib.ID(), Lending: mailbox.Lending{Runner: ib.Runner()}})
	ctx, timeout := req.r.Context(), h.cfg.ReplyTimeout
	wait := timeout
	if holdable && PollHoldAfter > 0 && (timeout <= 0 || PollHoldAfter < timeout) {
		wait = PollHoldAfter
	}
	answer, err := ib.Wait(ctx, wait)
	if _, quiet := answer.(*actors.PollWaiting); quiet || (wait != timeout && errors.Is(err, reply.ErrTimeout)) {
		// The poll is likely to wait for the next ping: it is held
		// without this goroutine (see hold).
		if timeout > 0 && !quiet {
			timeout -= wait
		}
		if h.hold(req, sess, ib, timeout) {
			ib = nil // the held poll puts it back
			return
		}
		answer, err = ib.Wait(ctx, timeout)
		if _, late := answer.(*actors.PollWaiting); late {
			// It came after the wait above had timed out.
			answer, err = ib.Wait(ctx, timeout)
		}
	}
	if err != nil {
		// The client went away (or the session never answered): the spec
		// makes that a transport error, and the session closes.
		h.sys.Root.Send(sess.PID, &actors.PollAbandoned{ReplyTo: ib.PID(), Poll: ib.ID()})
		h.replyFailed(req, err)
		return
	}
	reusable = settled(answer, sess)
	h.writeReply(req, answer)
}

// settled reports whether a request that got answer can get no other, so
// that its inbox may serve the next request. A session that is stopping
// may answer a request twice (its stop guard, then itself), always with a
// failure first; a regular answer from a session that is not closed is the
// only one.
func settled(answer any, sess Session) bool {
	switch answer.(type) {
	case *actors.PollResult, *actors.PostReady, *actors.PostResult, *actors.Opened:
	default:
		return false
	}
	return !sess.State.Closed()
}

func (h *Handler) post(req *request, sess Session) {
	r, pid := req.r, sess.PID
	ib, reusable := h.inboxes.Get(), false
	defer func() { h.inboxes.Put(ib, reusable) }()
	ib.Ask(h.sys.Root, pid, &actors.PostBegin{Lending: mailbox.Lending{Runner: ib.Runner()}})
	answer, err := ib.Wait(r.Context(), h.cfg.ReplyTimeout)
	if err != nil {
		h.sys.Root.RequestWithCustomSender(pid, &actors.PostAborted{Reason: actors.ReasonTransportError}, ib.PID())
		h.replyFailed(req, err)
		return
	}
	if _, ok := answer.(*actors.PostReady); !ok {
		h.writeReply(req, answer)
		return
	}
	abort := func(reason actors.Reason, status int) {
		h.sys.Root.RequestWithCustomSender(pid, &actors.PostAborted{Reason: reason}, ib.PID())
		if status == http.StatusRequestEntityTooLarge {
			h.writeError(req.w, req.r, status, protocol.CodeBadRequest, "Payload too large", false)
			return
		}
		h.fail(req, status, protocol.CodeBadRequest)
	}
	if r.ContentLength > h.cfg.MaxPayload {
		abort(actors.ReasonMessageTooLarge, http.StatusRequestEntityTooLarge)
		return
	}
	body, err := readBody(r.Body, h.cfg.MaxPayload, r.ContentLength)
	switch {
	case errors.Is(err, errTooLarge):
		abort(actors.ReasonMessageTooLarge, http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		abort(actors.ReasonTransportError, http.StatusBadRequest)
		return
	}
	binary := strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream")
	if req.jsonp != "" {
		if body, err = protocol.DecodeJSONPBody(body); err != nil {
			abort(actors.ReasonParseError, http.StatusBadRequest)
			return
		}
		binary = false
	}
	ib.Ask(h.sys.Root, pid, &actors.Post{Payload: body, Binary: binary, Lending: mailbox.Lending{Runner: ib.Runner()}})
	answer, err = ib.Wait(r.Context(), h.cfg.ReplyTimeout)
	if err != nil {
		h.replyFailed(req, err)
		return
	}
	reusable = settled(answer, sess)
	h.writeReply(req, answer)
}

var errTooLarge = errors.New("engineio: body larger than max payload")

// readBody reads at most limit bytes; the body belongs to the session
// afterwards, so it is not pooled.
func readBody(body io.Reader, limit, contentLength int64) ([]byte, error) {
	size := int64(512)
	if contentLength > 0 {
		size = contentLength
	}
	buf := make([]byte, 0, min(size, limit)+1)
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// open asks the supervisor for a session and waits for the handshake
// answer, lending this goroutine to the supervisor and the new session.
func (h *Handler) open(ctx context.Context, open *supervisor.Open) (any, error) {
	ib := h.inboxes.Get()
	open.Runner = ib.Runner()
	ib.Ask(h.sys.Root, h.supervisor, open)
	answer, err := ib.Wait(ctx, h.cfg.ReplyTimeout)
	// A handshake is answered once, by the supervisor or the new session.
	h.inboxes.Put(ib, err == nil)
	return answer, err
}

// Close releases what the handler keeps registered in the actor system and
// stops its poller: connections still parked resume on reader goroutines.
func (h *Handler) Close() {
	h.closeKept()
	h.inboxes.Close()
	h.polls.Close()
	h.pollerOnce.Do(func() {}) // no poller from now on
	h.poller.Close()
}

func (h *Handler) replyFailed(req *request, err error) {
	switch {
	case errors.Is(err, reply.ErrTimeout):
		h.cfg.Logger.Warn("engineio: request timed out", "path", req.r.URL.Path, "query", req.r.URL.RawQuery)
		h.writeError(req.w, req.r, http.StatusServiceUnavailable, protocol.CodeBadRequest, protocol.CodeBadRequest.Message(), false)
	}
	// A cancelled request has nobody left to answer.
}

func (h *Handler) writeReply(req *request, answer any) {
	switch m := answer.(type) {
	case *actors.PollResult:
		h.writePayload(req, m.Payload, m.Binary)
	case *actors.PostResult:
		hd := req.w.Header()
		hd["Content-Type"] = headerTextHTML
		hd["Content-Length"] = headerLength2
		hd["Cache-Control"] = headerNoStore
		if m.Heartbeat {
			// An idle client's POST, whose next comes a ping interval
			// later: its connection would wait idle until then, with
			// net/http's goroutine and buffers, or kept and parked, with
			// a socket, a poller entry and a file descriptor per idle
			// session (the client polls on a connection of its own).
			// The JavaScript server's keep-alive timeout ends it too.
			closeAfter(hd, req.r)
		}
		req.w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(req.w, "ok")
	case *actors.Failure:
		h.writeError(req.w, req.r, m.Status, m.Code, m.Message, req.ws)
	case *actor.DeadLetterResponse, *actors.SessionClosed:
		// The session stopped, or began to, between the lookup and the
		// request.
		h.fail(req, http.StatusBadRequest, protocol.CodeUnknownSID)
	default:
		h.cfg.Logger.Error("engineio: unexpected reply", "type", fmt.Sprintf("%T", answer))
		h.fail(req, http.StatusInternalServerError, protocol.CodeBadRequest)
	}
}

func (h *Handler) fail(req *request, status int, code protocol.ErrorCode) {
	h.writeError(req.w, req.r, status, code, code.Message(), req.ws)
}

// writePayload writes a polling response: JSONP-wrapped when asked for, and
// compressed when the client accepts it and the body is large enough.
func (h *Handler) writePayload(req *request, payload []byte, binary bool) {
	hd := req.w.Header()
	switch {
	case req.jsonp != "":
		payload = protocol.AppendJSONP(nil, req.jsonp, payload)
		hd["Content-Type"] = headerJavaScript
	case binary:
		hd["Content-Type"] = headerOctetStream
	default:
		hd["Content-Type"] = headerTextPlain
	}
	hd["Cache-Control"] = headerNoStore
	accept := req.accept
	if req.r != nil {
		accept = req.r.Header.Get("Accept-Encoding")
	}
	if enc := h.cfg.Compression.Encoding(accept, len(payload)); enc != "" {
		if compressed, err := Compress(nil, enc, payload); err == nil {
			payload = compressed
			hd.Set("Content-Encoding", enc)
			addVary(hd, "Accept-Encoding")
		}
	}
	if len(payload) >= smallBody {
		hd.Set("Content-Length", strconv.Itoa(len(payload)))
	}
	req.w.WriteHeader(http.StatusOK)
	_, _ = req.w.Write(payload)
}

// closeAfter asks, in the response headers hd, that the connection of r
// close after the response (r nil: a held poll's, which is HTTP/1). Over
// HTTP/1 only: net/http's HTTP/2 server takes the header as a GOAWAY, which
// would end the client's other streams, its polls among them.
func closeAfter(hd http.Header, r *http.Request) {
	if r == nil || r.ProtoMajor == 1 {
		hd["Connection"] = headerClose
	}
}

// writeError writes the protocol's JSON error body, in answer to r (nil
// for a held poll, whose request is gone: Config.Refused does not see it).
// A failed WebSocket handshake also closes the connection, as the
// reference server does (closeAfter).
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, status int, code protocol.ErrorCode, msg string, closeConn bool) {
	if h.cfg.Metrics != nil {
		h.cfg.Metrics.HTTPError(status, int(code))
	}
	if h.cfg.Refused != nil && r != nil {
		h.cfg.Refused(r, status, code, msg)
	}
	body := protocol.AppendErrorJSON(nil, code, msg)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	if closeConn {
		closeAfter(hd, r)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// smallBody: net/http sets the Content-Length of a body shorter than this
// itself (the whole body is still in its buffer when the handler returns),
// without the two allocations of ours.
const smallBody = 2048

// Header values the responses share: assigning one of these costs no
// allocation where Header.Set makes a slice. They are never modified
// (Header.Add on such a key appends past their length, into a new array).
var (
	headerTextHTML    = []string{"text/html"}
	headerTextPlain   = []string{"text/plain; charset=UTF-8"}
	headerJavaScript  = []string{"text/javascript; charset=UTF-8"}
	headerOctetStream = []string{"application/octet-stream"}
	headerNoStore     = []string{"no-store"}
	headerLength2     = []string{"2"}
	headerClose       = []string{"close"}
)

// ParkedWebSockets returns how many WebSocket connections are parked now:
// quiet long enough that their reader goroutine ended, to be started again
// when data arrives.
func (h *Handler) ParkedWebSockets() int {
	// Not pollerOnce.Do(func() {}): asked before the first WebSocket, that
	// would leave the handler without a poller.
	return h.idlePoller().Parked()
}

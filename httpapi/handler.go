package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/internal/reply"
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
	// MaxPayload bounds a POST body and a WebSocket frame, in bytes.
	MaxPayload int64
	// WriteTimeout bounds each WebSocket write.
	WriteTimeout time.Duration
	// ReplyTimeout is a safety net for waiting on an actor's reply. A parked
	// long-poll is answered by its session within the ping interval, so it
	// should be longer than that.
	ReplyTimeout time.Duration
	Logger       *slog.Logger
}

// Session is how the HTTP layer reaches a session: its actor, and a channel
// closed when it has closed (requests sent after that may go unanswered).
type Session struct {
	PID  *actor.PID
	Done <-chan struct{}
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
	writer     *actor.Props
	altPath    string
}

// New returns a handler that opens sessions through the supervisor and
// finds them with lookup.
func New(cfg Config, sys *actor.ActorSystem, supervisorPID *actor.PID, lookup Lookup) *Handler {
	h := &Handler{cfg: cfg, sys: sys, supervisor: supervisorPID, lookup: lookup}
	h.altPath = strings.TrimSuffix(cfg.Path, "/")
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		// Origin policy is the server's CORS setting; by default the
		// WebSocket handshake, like polling, is open to any origin.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, http.StatusBadRequest, protocol.CodeBadRequest, protocol.CodeBadRequest.Message(), true)
		},
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.cfg.Path && r.URL.Path != h.altPath {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("EIO") != "4" {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeUnsupportedProtocolVersion)
		return
	}
	var transport actors.Transport
	switch q.Get("transport") {
	case "polling":
		if h.cfg.Polling {
			transport = actors.TransportPolling
		}
	case "websocket":
		if h.cfg.WebSocket {
			transport = actors.TransportWebSocket
		}
	}
	if transport == 0 {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeUnknownTransport)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		h.handshake(w, r, transport)
		return
	}
	sess, ok := h.lookup(sid)
	if !ok {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeUnknownSID)
		return
	}
	switch {
	case transport == actors.TransportWebSocket:
		h.serveWebSocket(w, r, sess, nil)
	case r.Method == http.MethodGet:
		h.poll(w, r, sess)
	case r.Method == http.MethodPost:
		h.post(w, r, sess)
	default:
		h.fail(w, r, http.StatusBadRequest, protocol.CodeBadRequest)
	}
}

func (h *Handler) handshake(w http.ResponseWriter, r *http.Request, transport actors.Transport) {
	if r.Method != http.MethodGet {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeBadHandshakeMethod)
		return
	}
	if transport == actors.TransportWebSocket && !websocket.IsWebSocketUpgrade(r) {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeBadRequest)
		return
	}
	open := &supervisor.Open{
		Transport:  transport,
		Header:     r.Header.Clone(),
		Query:      r.URL.Query(),
		RemoteAddr: r.RemoteAddr,
	}
	answer, err := h.request(r.Context(), h.supervisor, open)
	if err != nil {
		h.replyFailed(w, r, err)
		return
	}
	switch m := answer.(type) {
	case *actors.Opened:
		if transport == actors.TransportPolling {
			writePayload(w, m.Payload)
			return
		}
		sess, ok := h.lookup(m.SID)
		if !ok {
			h.fail(w, r, http.StatusBadRequest, protocol.CodeUnknownSID)
			return
		}
		h.serveWebSocket(w, r, sess, m)
	default:
		h.writeReply(w, r, answer)
	}
}

func (h *Handler) poll(w http.ResponseWriter, r *http.Request, sess Session) {
	pid := sess.PID
	ib := reply.New(h.sys)
	defer ib.Release()
	h.sys.Root.RequestWithCustomSender(pid, &actors.Poll{}, ib.PID())
	answer, err := ib.Wait(r.Context(), h.cfg.ReplyTimeout, sess.Done)
	if err != nil {
		// The client went away (or the session never answered): the spec
		// makes that a transport error, and the session closes.
		h.sys.Root.Send(pid, &actors.PollAbandoned{ReplyTo: ib.PID()})
		h.replyFailed(w, r, err)
		return
	}
	h.writeReply(w, r, answer)
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (h *Handler) post(w http.ResponseWriter, r *http.Request, sess Session) {
	pid := sess.PID
	ib := reply.New(h.sys)
	defer ib.Release()
	h.sys.Root.RequestWithCustomSender(pid, &actors.PostBegin{}, ib.PID())
	answer, err := ib.Wait(r.Context(), h.cfg.ReplyTimeout, sess.Done)
	if err != nil {
		h.sys.Root.RequestWithCustomSender(pid, &actors.PostAborted{Reason: actors.ReasonTransportError}, ib.PID())
		h.replyFailed(w, r, err)
		return
	}
	if _, ok := answer.(*actors.PostReady); !ok {
		h.writeReply(w, r, answer)
		return
	}
	abort := func(reason actors.Reason, status int) {
		h.sys.Root.RequestWithCustomSender(pid, &actors.PostAborted{Reason: reason}, ib.PID())
		if status == http.StatusRequestEntityTooLarge {
			writeError(w, status, protocol.CodeBadRequest, "Payload too large", false)
			return
		}
		h.fail(w, r, status, protocol.CodeBadRequest)
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
		// Binary POST bodies belong to protocol 3; a v4 payload is text.
		abort(actors.ReasonTransportError, http.StatusBadRequest)
		return
	}
	if r.ContentLength > h.cfg.MaxPayload {
		abort(actors.ReasonMessageTooLarge, http.StatusRequestEntityTooLarge)
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r.Body, h.cfg.MaxPayload+1))
	switch {
	case err != nil:
		abort(actors.ReasonTransportError, http.StatusBadRequest)
		return
	case n > h.cfg.MaxPayload:
		abort(actors.ReasonMessageTooLarge, http.StatusRequestEntityTooLarge)
		return
	}
	h.sys.Root.RequestWithCustomSender(pid, &actors.Post{Payload: buf.Bytes()}, ib.PID())
	answer, err = ib.Wait(r.Context(), h.cfg.ReplyTimeout, sess.Done)
	if err != nil {
		// The session may still be reading the body: it is not reused.
		h.replyFailed(w, r, err)
		return
	}
	// The session has dispatched the payload and kept no reference to it.
	if buf.Cap() <= 64<<10 {
		bodyPool.Put(buf)
	}
	h.writeReply(w, r, answer)
}

// request sends msg to pid and waits for the reply.
func (h *Handler) request(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	ib := reply.New(h.sys)
	defer ib.Release()
	h.sys.Root.RequestWithCustomSender(pid, msg, ib.PID())
	return ib.Wait(ctx, h.cfg.ReplyTimeout, nil)
}

func (h *Handler) replyFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, reply.ErrGone) {
		h.fail(w, r, http.StatusBadRequest, protocol.CodeUnknownSID)
		return
	}
	if errors.Is(err, reply.ErrTimeout) {
		h.cfg.Logger.Warn("engineio: request timed out", "path", r.URL.Path, "query", r.URL.RawQuery)
		writeError(w, http.StatusServiceUnavailable, protocol.CodeBadRequest, protocol.CodeBadRequest.Message(), false)
	}
	// A cancelled request has nobody left to answer.
}

func (h *Handler) writeReply(w http.ResponseWriter, r *http.Request, answer any) {
	switch m := answer.(type) {
	case *actors.PollResult:
		writePayload(w, m.Payload)
	case *actors.PostResult:
		hd := w.Header()
		hd.Set("Content-Type", "text/html")
		hd.Set("Content-Length", "2")
		hd.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ok")
	case *actors.Failure:
		writeError(w, m.Status, m.Code, m.Message, isWebSocket(r))
	case *actor.DeadLetterResponse:
		// The session stopped between the lookup and the request.
		h.fail(w, r, http.StatusBadRequest, protocol.CodeUnknownSID)
	default:
		h.cfg.Logger.Error("engineio: unexpected reply", "type", fmt.Sprintf("%T", answer))
		h.fail(w, r, http.StatusInternalServerError, protocol.CodeBadRequest)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, code protocol.ErrorCode) {
	writeError(w, status, code, code.Message(), isWebSocket(r))
}

func writePayload(w http.ResponseWriter, payload []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=UTF-8")
	hd.Set("Content-Length", strconv.Itoa(len(payload)))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// writeError writes the protocol's JSON error body. A failed WebSocket
// handshake also closes the connection, as the reference server does.
func writeError(w http.ResponseWriter, status int, code protocol.ErrorCode, msg string, closeConn bool) {
	body := protocol.AppendErrorJSON(nil, code, msg)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set("Cache-Control", "no-store")
	if closeConn {
		hd.Set("Connection", "close")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func isWebSocket(r *http.Request) bool {
	return r.URL.Query().Get("transport") == "websocket"
}

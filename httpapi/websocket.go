package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

// serveWebSocket upgrades the request and starts the connection: a reader
// goroutine sends the frames to the session; a writer actor does all the
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
	conn, err := h.upgrader.Upgrade(req.w, r, respHeader)
	if err != nil {
		// The upgrader has answered 400.
		if opened != nil {
			h.sys.Root.Send(sess.PID, &actors.Close{Reason: actors.ReasonTransportError})
		}
		return
	}
	conn.SetReadLimit(h.cfg.MaxPayload)
	ww := &wsWriter{conn: conn, rev: req.rev, base64: req.rev == protocol.V3 && req.base64, timeout: h.cfg.WriteTimeout, deflateThreshold: -1}
	if h.cfg.PerMessageDeflate {
		ww.deflateThreshold = h.cfg.DeflateThreshold
		conn.EnableWriteCompression(false)
	}
	writer := h.sys.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return ww },
		actor.WithMailbox(actor.Unbounded(abortOnPost{conn}))), "eio-ws-")
	h.sys.Root.Send(sess.PID, &actors.WebSocketOpened{Conn: writer})
	select {
	case <-sess.Done:
		// The session closed before it could take this connection (it
		// answers what it had queued before closing, nothing after).
		_ = conn.Close()
	default:
	}
	decode := protocol.DecodeFrame
	if req.rev == protocol.V3 {
		decode = protocol.DecodeFrameV3
	}
	// The reader gets a goroutine of its own and this handler returns: the
	// HTTP server then lets go of the request, its headers and its
	// buffers, which an idle connection would otherwise hold for its
	// whole life.
	go h.readFrames(conn, sess.PID, writer, decode)
}

// readFrames reads the connection until it fails or closes, sending each
// frame to the session; then it stops the writer.
func (h *Handler) readFrames(conn *websocket.Conn, session, writer *actor.PID, decode func([]byte, bool) (protocol.Packet, error)) {
	defer h.sys.Root.Stop(writer)
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			h.sys.Root.Send(session, &actors.WebSocketClosed{Conn: writer, Reason: closeReason(err)})
			return
		}
		pkt, err := decode(data, typ == websocket.BinaryMessage)
		h.sys.Root.Send(session, &actors.Frame{Conn: writer, Packet: pkt, Err: err})
	}
}

// abortOnPost closes the connection as soon as a CloseConn{Abort: true} is
// posted to the writer: the writer itself may be blocked writing to a
// client that does not read. gorilla allows WriteControl and Close
// concurrently with a write.
type abortOnPost struct{ conn *websocket.Conn }

func (a abortOnPost) MailboxStarted() {}
func (a abortOnPost) MessagePosted(m any) {
	if c, ok := m.(*actors.CloseConn); ok && c.Abort {
		// A close frame if the socket takes it at once, then the close;
		// off the sender's goroutine, which must not wait on a client.
		go func() {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = a.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
			_ = a.conn.Close()
		}()
	}
}
func (a abortOnPost) MessageReceived(any) {}
func (a abortOnPost) MailboxEmpty()       {}

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
// one concurrent writer). Writes block this actor's mailbox only.
type wsWriter struct {
	conn             *websocket.Conn
	rev              protocol.Revision
	base64           bool // a v3 client that asked for binary as base64 text
	timeout          time.Duration
	deflateThreshold int // compress messages at least this long; -1: never
	closed           bool
	written          *actors.Written
	scratch          []byte // a text frame is assembled here
}

func (ww *wsWriter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ww.written = &actors.Written{Conn: ctx.Self()}
	case *actors.WriteFrames:
		_ = ww.conn.SetWriteDeadline(time.Now().Add(ww.timeout))
		for _, p := range m.Packets {
			if ww.closed {
				break
			}
			if err := ww.write(p); err != nil {
				// The reader sees the closed socket and tells the session.
				ww.shut()
			}
		}
		// One batch is in flight at a time, so one answer serves all.
		if to := m.Session; to != nil {
			ctx.Send(to, ww.written)
		} else if ctx.Sender() != nil {
			ctx.Send(ctx.Sender(), ww.written)
		}
	case *actors.CloseConn:
		if !ww.closed {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			_ = ww.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(ww.timeout))
			ww.shut()
		}
	case *actor.Stopping:
		ww.shut()
	}
}

// write writes one packet as one frame. WriteMessage is gorilla's
// allocation-free path, so the frame is assembled in a scratch buffer:
// text frames start with the type digit, a v3 binary frame with the type as
// a raw byte, and a v4 binary frame is the message alone.
func (ww *wsWriter) write(p protocol.Packet) error {
	if ww.deflateThreshold >= 0 {
		ww.conn.EnableWriteCompression(len(p.Data) >= ww.deflateThreshold)
	}
	switch {
	case p.Binary && ww.base64:
		ww.scratch = protocol.AppendPacketV3(ww.scratch[:0], p)
		return ww.conn.WriteMessage(websocket.TextMessage, ww.scratch)
	case p.Binary && ww.rev != protocol.V3:
		return ww.conn.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	typ, lead := websocket.TextMessage, byte('0'+p.Type)
	if p.Binary {
		typ, lead = websocket.BinaryMessage, byte(p.Type)
	}
	ww.scratch = append(append(ww.scratch[:0], lead), p.Data...)
	err := ww.conn.WriteMessage(typ, ww.scratch)
	if cap(ww.scratch) > 64<<10 {
		ww.scratch = nil // do not keep a large frame's buffer for an idle connection
	}
	return err
}

func (ww *wsWriter) shut() {
	if !ww.closed {
		ww.closed = true
		_ = ww.conn.Close()
	}
}

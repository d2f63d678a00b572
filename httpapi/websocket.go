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

// serveWebSocket upgrades the request and runs the connection: this
// goroutine reads frames and sends them to the session; a writer actor does
// all the writing. opened is the handshake answer of a session opened over
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
	ww := &wsWriter{conn: conn, rev: req.rev, timeout: h.cfg.WriteTimeout, deflateThreshold: -1}
	if h.cfg.PerMessageDeflate {
		ww.deflateThreshold = h.cfg.DeflateThreshold
		conn.EnableWriteCompression(false)
	}
	writer := h.sys.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return ww }), "eio-ws-")
	defer h.sys.Root.Stop(writer)
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
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			h.sys.Root.Send(sess.PID, &actors.WebSocketClosed{Conn: writer, Reason: closeReason(err)})
			return
		}
		pkt, err := decode(data, typ == websocket.BinaryMessage)
		h.sys.Root.Send(sess.PID, &actors.Frame{Conn: writer, Packet: pkt, Err: err})
	}
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
// one concurrent writer). Writes block this actor's mailbox only.
type wsWriter struct {
	conn             *websocket.Conn
	rev              protocol.Revision
	timeout          time.Duration
	deflateThreshold int // compress messages at least this long; -1: never
	closed           bool
}

func (ww *wsWriter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
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
		if ctx.Sender() != nil {
			// As a request, so that the session sees which writer answers.
			ctx.Request(ctx.Sender(), &actors.Written{})
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

var digits = [...][]byte{{'0'}, {'1'}, {'2'}, {'3'}, {'4'}, {'5'}, {'6'}}

func (ww *wsWriter) write(p protocol.Packet) error {
	if ww.deflateThreshold >= 0 {
		ww.conn.EnableWriteCompression(len(p.Data) >= ww.deflateThreshold)
	}
	typ := websocket.TextMessage
	if p.Binary {
		typ = websocket.BinaryMessage
	}
	fw, err := ww.conn.NextWriter(typ)
	if err != nil {
		return err
	}
	// Text frames start with the type digit; a v3 binary frame with the
	// type as a raw byte; a v4 binary frame is the message alone.
	switch {
	case !p.Binary && int(p.Type) < len(digits):
		_, _ = fw.Write(digits[p.Type])
	case p.Binary && ww.rev == protocol.V3:
		_, _ = fw.Write([]byte{byte(p.Type)})
	}
	if _, err := fw.Write(p.Data); err != nil {
		return err
	}
	return fw.Close()
}

func (ww *wsWriter) shut() {
	if !ww.closed {
		ww.closed = true
		_ = ww.conn.Close()
	}
}

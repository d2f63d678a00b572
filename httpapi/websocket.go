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
func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request, sess Session, opened *actors.Opened) {
	session := sess.PID
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered 400.
		if opened != nil {
			h.sys.Root.Send(session, &actors.Close{Reason: actors.ReasonTransportError})
		}
		return
	}
	conn.SetReadLimit(h.cfg.MaxPayload)
	writer := h.sys.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor {
		return &wsWriter{conn: conn, timeout: h.cfg.WriteTimeout}
	}), "eio-ws-")
	defer h.sys.Root.Stop(writer)
	h.sys.Root.Send(session, &actors.WebSocketOpened{Conn: writer})
	select {
	case <-sess.Done:
		// The session closed before it could take this connection (it
		// answers what it had queued before closing, nothing after).
		_ = conn.Close()
	default:
	}
	for {
		typ, data, err := conn.ReadMessage()
		if err != nil {
			h.sys.Root.Send(session, &actors.WebSocketClosed{Conn: writer, Reason: closeReason(err)})
			return
		}
		pkt, err := protocol.DecodeFrame(data, typ == websocket.BinaryMessage)
		h.sys.Root.Send(session, &actors.Frame{Conn: writer, Packet: pkt, Err: err})
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
	conn    *websocket.Conn
	timeout time.Duration
	closed  bool
}

func (ww *wsWriter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actors.WriteFrames:
		if ww.closed {
			return
		}
		_ = ww.conn.SetWriteDeadline(time.Now().Add(ww.timeout))
		for _, p := range m.Packets {
			if err := ww.write(p); err != nil {
				// The reader sees the closed socket and tells the session.
				ww.shut()
				return
			}
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
	if p.Binary {
		return ww.conn.WriteMessage(websocket.BinaryMessage, p.Data)
	}
	fw, err := ww.conn.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	if int(p.Type) < len(digits) {
		_, _ = fw.Write(digits[p.Type])
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

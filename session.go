package engineio

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

// Session is one client's Engine.IO session, as handlers see it. Its methods
// may be called from any goroutine, also after the session closed (sends are
// then dropped).
type Session struct {
	info *actors.Info
	srv  *Server
}

// ID returns the session id (the sid).
func (s *Session) ID() string { return s.info.SID }

// Transport returns the current transport: "polling" or "websocket".
func (s *Session) Transport() string { return s.info.Transport().String() }

// Header returns the headers of the handshake request, without those of
// the WebSocket handshake itself (Connection, Upgrade, Sec-WebSocket-*): a
// new map at each call.
func (s *Session) Header() http.Header { return s.info.Header() }

// Query returns the query of the handshake request, parsed at each call.
func (s *Session) Query() url.Values { return s.info.Query() }

// Protocol returns the Engine.IO protocol revision the client speaks:
// protocol.V4, or protocol.V3 for the clients that WithAllowEIO3 admits
// (the JavaScript server's socket.protocol). A layer above, such as
// Socket.IO, picks its own protocol version by it.
func (s *Session) Protocol() protocol.Revision { return s.info.Revision }

// RemoteAddr returns the network address of the handshake request.
func (s *Session) RemoteAddr() string { return s.info.RemoteAddr }

// PID returns the session's actor.
func (s *Session) PID() *actor.PID { return s.info.PID }

// Send queues a text message.
func (s *Session) Send(text string) error { return s.srv.sendTo(s.info, protocol.TextMessage(text)) }

// SendBinary queues a binary message; the server owns data from then on.
func (s *Session) SendBinary(data []byte) error {
	return s.srv.sendTo(s.info, protocol.BinaryMessage(data))
}

// SendMessage queues msg as it is, text or binary; an echo is
// s.SendMessage(msg). The server owns msg.Data from then on.
func (s *Session) SendMessage(msg Message) error {
	return s.srv.sendTo(s.info, protocol.Packet{Type: protocol.Message, Data: msg.Data, Binary: msg.Binary})
}

// SendJSON queues v, encoded as JSON, as a text message.
func (s *Session) SendJSON(v any) error {
	b, err := s.srv.cfg.marshalJSON(v)
	if err != nil {
		return fmt.Errorf("engineio: encode message: %w", err)
	}
	return s.srv.sendTo(s.info, protocol.Packet{Type: protocol.Message, Data: b})
}

// Close closes the session gracefully, as Server.Disconnect does.
func (s *Session) Close() error {
	s.info.Close(s.srv.system.Root, &actors.Close{Reason: actors.ReasonServerClose})
	return nil
}

// Message is one message from a client.
type Message struct {
	// Data is the message's content: UTF-8 text, or bytes when Binary.
	Data []byte
	// Binary says the client sent binary data.
	Binary bool
}

// Text returns the data as a string.
func (m Message) Text() string { return string(m.Data) }

// Reason says why a session closed.
type Reason = actors.Reason

// Close reasons reported to the disconnect handler.
const (
	ReasonClientClose     = actors.ReasonClientClose
	ReasonServerClose     = actors.ReasonServerClose
	ReasonPingTimeout     = actors.ReasonPingTimeout
	ReasonParseError      = actors.ReasonParseError
	ReasonTransportError  = actors.ReasonTransportError
	ReasonTransportClose  = actors.ReasonTransportClose
	ReasonMessageTooLarge = actors.ReasonMessageTooLarge
	ReasonBackpressure    = actors.ReasonBackpressure
	ReasonHandlerPanic    = actors.ReasonHandlerPanic
	ReasonInternalError   = actors.ReasonInternalError
	ReasonServerShutdown  = actors.ReasonServerShutdown
)

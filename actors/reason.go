package actors

// Reason says why a session closed. The text is what logs and disconnect
// handlers see.
type Reason string

// Close reasons.
const (
	// ReasonClientClose: the client sent a close packet.
	ReasonClientClose Reason = "client close"
	// ReasonServerClose: the application closed the session.
	ReasonServerClose Reason = "server close"
	// ReasonPingTimeout: no pong arrived within the ping timeout.
	ReasonPingTimeout Reason = "ping timeout"
	// ReasonParseError: the client sent something that is not a valid packet.
	ReasonParseError Reason = "parse error"
	// ReasonTransportError: the transport failed or broke the protocol
	// (an aborted long-poll, overlapping requests, a read error).
	ReasonTransportError Reason = "transport error"
	// ReasonTransportClose: the client closed the connection.
	ReasonTransportClose Reason = "transport close"
	// ReasonMessageTooLarge: a request or frame exceeded the max payload.
	ReasonMessageTooLarge Reason = "message too large"
	// ReasonBackpressure: the outbound queue overflowed.
	ReasonBackpressure Reason = "backpressure"
	// ReasonHandlerPanic: an application handler panicked.
	ReasonHandlerPanic Reason = "handler panic"
	// ReasonInternalError: the session actor itself failed.
	ReasonInternalError Reason = "internal error"
	// ReasonServerShutdown: the server is shutting down.
	ReasonServerShutdown Reason = "server shutdown"
)

// String returns the reason's text.
func (r Reason) String() string { return string(r) }

package engineio

import "errors"

// Errors returned by the Server and Session methods; test with errors.Is.
var (
	// ErrUnknownSession: no open session has that id.
	ErrUnknownSession = errors.New("engineio: unknown session")
	// ErrServerClosed: the server has been closed.
	ErrServerClosed = errors.New("engineio: server closed")
	// ErrMessageTooLarge: the message is larger than the max payload.
	ErrMessageTooLarge = errors.New("engineio: message larger than max payload")
	// ErrQueueFull: the session's outbound queue is full and the overflow
	// policy is OverflowReject.
	ErrQueueFull = errors.New("engineio: outbound queue full")
)

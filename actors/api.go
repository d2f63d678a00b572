package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/protocol"
)

// The messages in this file are the session's API for other actors: any
// actor may send them to a session's PID (engineio.Server.PID) with
// ctx.Send, or with ctx.Request to get the reply named in each doc comment.
// A request to a session that has stopped gets *actor.DeadLetterResponse
// from protoactor; one that reaches a session that is closing, or its
// mailbox once the actor has stopped, gets *SessionClosed (a Poll: a
// *Failure). Every request gets an answer.

// SendText returns a Send of a text message.
func SendText(text string) *Send { return &Send{Packet: protocol.TextMessage(text)} }

// SendBinary returns a Send of a binary message; the session owns data.
func SendBinary(data []byte) *Send { return &Send{Packet: protocol.BinaryMessage(data)} }

// Sent answers a Send sent as a request: the packet is queued.
type Sent struct{}

// QueueFull answers a Send sent as a request when the session's outbound
// queue is full and the overflow policy rejects new packets.
type QueueFull struct{ SID string }

// SessionClosed answers a request that reached a session that is closing
// or closed.
type SessionClosed struct {
	SID    string
	Reason Reason
}

// GetInfo asks a session for a *SessionInfo.
type GetInfo struct{}

// SessionInfo answers GetInfo.
type SessionInfo struct {
	SID           string
	Transport     string // "polling" or "websocket"
	Revision      protocol.Revision
	RemoteAddr    string
	QueuedPackets int
	QueuedBytes   int
}

// Subscribe adds Subscriber to the actors that get the session's events as
// messages: *MessageReceived, *Upgraded, *Drained and, last, *Disconnected.
// The session watches the subscriber and forgets it when it stops.
// Reply: *Subscribed, or *SessionClosed.
type Subscribe struct{ Subscriber *actor.PID }

// Subscribed answers Subscribe.
type Subscribed struct{ SID string }

// Unsubscribe removes Subscriber from the session's subscribers.
type Unsubscribe struct{ Subscriber *actor.PID }

// MessageReceived tells a subscriber that the client sent a message. The
// packet's Data must not be modified: the application's handler sees the
// same bytes.
type MessageReceived struct {
	SID    string
	Packet protocol.Packet
}

// Upgraded tells a subscriber that the session moved to WebSocket.
type Upgraded struct{ SID string }

// Drained tells a subscriber that the session's outbound queue is empty:
// every queued packet has been handed to the transport.
type Drained struct{ SID string }

// Disconnected tells a subscriber that the session closed; it is the last
// event of a session.
type Disconnected struct {
	SID    string
	Reason Reason
}

// Unhandled answers a request of a type the session does not know.
type Unhandled struct{ Type string }

// Written is a WebSocket writer's answer to WriteFrames, sent to its
// session: the frames are written (or the connection failed, which the
// reader reports). Conn is the writer (when nil, the envelope's sender is).
// A session hands its writer one batch at a time, so its own queue is where
// packets wait and where the queue limits apply.
type Written struct{ Conn *actor.PID }

// Answers to callers that may have stopped waiting (the application's
// Ask timed out) are no dead-letter news: IgnoreDeadLetterLogging keeps
// protoactor from logging them.
func (*Sent) IgnoreDeadLetterLogging()          {}
func (*QueueFull) IgnoreDeadLetterLogging()     {}
func (*SessionClosed) IgnoreDeadLetterLogging() {}
func (*Written) IgnoreDeadLetterLogging()       {}
func (*Unhandled) IgnoreDeadLetterLogging()     {}

// OverflowPolicy says what a session does when a send would exceed its
// outbound queue limits.
type OverflowPolicy uint8

// Overflow policies.
const (
	// OverflowClose closes the session with ReasonBackpressure.
	OverflowClose OverflowPolicy = iota
	// OverflowReject drops the new packet; the sender learns it (an error
	// from Server.Send, *QueueFull to a request).
	OverflowReject
	// OverflowDropOldest drops the oldest queued packets to make room.
	OverflowDropOldest
)

package actors

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/internal/mailbox"
	"github.com/eioactor/engineio/protocol"
)

// Messages from the HTTP layer. Those that get a reply are sent with the
// reply target as the envelope's sender (RequestWithCustomSender). Those
// that embed mailbox.Lending may carry the waiting request's goroutine, on
// which the session then runs; code outside this module leaves it zero.

// Poll is a long-poll GET. The session answers at once with *PollResult when
// packets are queued; otherwise it parks the reply target and answers when
// packets arrive, when an upgrade starts (a noop) or when the session closes.
// A second Poll while one is parked gets *Failure and closes the session.
// Base64 says a protocol 3 client wants binary packets as base64 text (the
// b64 query parameter, or JSONP); v4 payloads are always text.
//
// Holdable says the HTTP layer can hold the poll without a goroutine of its
// own (see PollWaiting).
//
// ID, when not 0, names the poll for a reply target that serves many (a
// reply.Router): every reply to the poll carries it (PollResult.Poll,
// PollWaiting.Poll, Failure.Poll).
type Poll struct {
	Base64   bool
	Holdable bool
	ID       uint64
	mailbox.Lending
}

// PollWaiting is sent, before the answer, to the sender of a holdable Poll
// that the session parks while it is quiet: none of its polls since the
// last message went out has carried one (or none was answered yet). Such a
// poll is likely to wait for the next ping, and is best held without a
// goroutine at once. The answer follows as usual.
type PollWaiting struct{ Poll uint64 }

// PollAbandoned says that the long-poll whose reply target is ReplyTo, and
// whose ID is Poll, ended before it was answered (the client went away).
// The spec treats that as a transport error: the session closes.
type PollAbandoned struct {
	ReplyTo *actor.PID
	Poll    uint64
}

// PostBegin announces a POST before its body is read, so that two
// overlapping POSTs are seen as such. Reply: *PostReady or *Failure. A second
// PostBegin before the first POST ends gets *Failure and closes the session.
type PostBegin struct{ mailbox.Lending }

// Post carries the body of the POST announced by PostBegin from the same
// sender. Reply: *PostResult once the packets are dispatched, or *Failure.
// Binary says the body is a protocol 3 binary payload
// (application/octet-stream); the session owns Payload from then on.
type Post struct {
	Payload []byte
	Binary  bool
	mailbox.Lending
}

// PostAborted ends the POST announced by the sender without a payload: the
// body was too large, of the wrong content type, or could not be read. The
// session closes with Reason.
type PostAborted struct{ Reason Reason }

// WebSocketOpened says that a WebSocket for this session was accepted; Conn
// is its writer (it accepts *WriteFrames and *CloseConn). The WebSocket of
// the handshake that opened the session (Handshake) becomes its transport;
// on a polling session a WebSocket starts an upgrade probe; otherwise the
// session tells it to close. (The client of a session opened over
// WebSocket learns its sid from the open packet, which it may have before
// the session has its connection: a second WebSocket for that sid is not
// the session's.)
type WebSocketOpened struct {
	Conn      *actor.PID
	Handshake bool
	// Lending's Runner, when not nil, is the reader goroutine of a
	// connection in this process: this message runs the session there,
	// and so does every frame while the reader waits for it to be handled
	// (see package internal/mailbox). A session that uses a configured
	// Dispatcher ignores it.
	mailbox.Lending
}

// Frame is one decoded frame read from the WebSocket Conn, or the decoding
// error in Err.
type Frame struct {
	Conn   *actor.PID
	Packet protocol.Packet
	Err    error
}

// WebSocketClosed says that the WebSocket Conn stopped reading: Reason is
// ReasonTransportClose for a clean close by the peer, ReasonMessageTooLarge
// for a frame over the limit, ReasonTransportError otherwise.
type WebSocketClosed struct {
	Conn   *actor.PID
	Reason Reason
}

// Messages from the application or any actor.

// Send queues one packet for the client. Packet is usually a message
// (protocol.TextMessage or protocol.BinaryMessage). Sends to a closing
// session are dropped.
type Send struct{ Packet protocol.Packet }

// Close closes the session gracefully: queued packets are delivered, then a
// close packet, then the transport closes. Reason is what the disconnect
// event reports; the zero value means ReasonServerClose. Timeout bounds the
// wait of a polling session for a GET to carry the close packet; zero means
// the configured CloseTimeout.
type Close struct {
	Reason  Reason
	Timeout time.Duration
	// Final, when not nil, is queued before the close packet.
	Final *protocol.Packet
}

// Messages from a session to a WebSocket writer.

// WriteFrames asks the writer to write each packet as one frame, in order,
// and then to answer *Written to Session. The session reuses the
// message and its Packets once the writer is done with them: a writer must
// not keep them.
//
// A writer in the session's process may instead call Finish when done,
// and answer *Written only if Finish asks for it: the session then learns
// that the batch is written from the batch itself, when it next has
// packets to hand over, and an echo costs no message back. A writer that
// answers every batch need not call Finish.
type WriteFrames struct {
	Packets []protocol.Packet
	// Session is where *Written goes; when nil, to the envelope's sender.
	Session *actor.PID

	state atomic.Uint32 // batchSent, batchAwaited or batchFinished
}

// The states of a batch, for Finish.
const (
	batchSent     uint32 = iota // with the writer; nobody waits for Written
	batchAwaited                // the session waits for Written
	batchFinished               // the writer is done, and sends no Written
)

// Finish tells the session that the writer is done with the batch and
// reports whether the session waits for *Written, which the writer must
// then send.
func (m *WriteFrames) Finish() (answer bool) {
	return !m.state.CompareAndSwap(batchSent, batchFinished)
}

// await makes the batch's writer answer *Written, and reports false if it
// has finished already without answering.
func (m *WriteFrames) await() bool {
	for {
		switch m.state.Load() {
		case batchFinished:
			return false
		case batchAwaited:
			return true
		}
		if m.state.CompareAndSwap(batchSent, batchAwaited) {
			return true
		}
	}
}

// CloseConn asks the writer to send a WebSocket close frame, after any
// frames already asked for, and close the connection. With Abort the
// connection is closed at once, even while a write to a client that does
// not read is blocked: the writer intercepts it as it is posted. Code is
// the close frame's status code; 0 is 1000, a normal closure.
type CloseConn struct {
	Abort bool
	Code  int
}

// ErrTextNotUTF8 is a Frame's error when its text message is not UTF-8,
// which RFC 6455 answers by failing the connection with status 1007.
var ErrTextNotUTF8 = errors.New("websocket: text message is not UTF-8")

// closeInvalidData is the WebSocket close status for data that does not
// match its message's type (RFC 6455, 7.4.1): text that is not UTF-8.
const closeInvalidData = 1007

// Replies.

// Opened answers a successful handshake. Payload is the body of a polling
// handshake response (the open packet). A session opened over WebSocket
// does not send its open packet itself: Open is that packet, which the
// HTTP layer sends as the WebSocket's first frame (with the upgrade's
// response, in one write), before it hands the connection over with
// WebSocketOpened; Payload is then nil.
type Opened struct {
	SID     string
	Payload []byte
	Open    protocol.Packet
}

// PollResult answers a Poll with a polling payload; Binary says it is a
// protocol 3 binary payload (application/octet-stream).
type PollResult struct {
	Payload []byte
	Binary  bool
	Poll    uint64 // the ID of the Poll answered
}

// PostReady answers PostBegin: the body may be read and sent as Post.
type PostReady struct{}

// PostResult answers a Post whose packets were all dispatched. Heartbeat
// says they were heartbeats only (pongs; pings in protocol 3): the client
// is idle, and the HTTP layer does not keep its connection alive.
type PostResult struct{ Heartbeat bool }

// Failure answers a request that the session refuses. Status is the HTTP
// status, Code and Message the Engine.IO error body.
type Failure struct {
	Status  int
	Code    protocol.ErrorCode
	Message string
	Poll    uint64 // the ID of the Poll answered, if a Poll
}

// RequestID returns the poll's ID, which its answers carry (see
// reply.Request).
func (m *Poll) RequestID() uint64 { return m.ID }

// ReplyID returns the ID of the Poll answered (see reply.Routed).
func (m *PollResult) ReplyID() uint64 { return m.Poll }

// ReplyID returns the ID of the Poll answered (see reply.Routed).
func (m *PollWaiting) ReplyID() uint64 { return m.Poll }

// ReplyID returns the ID of the Poll answered, 0 if not a Poll (see
// reply.Routed).
func (m *Failure) ReplyID() uint64 { return m.Poll }

// Late replies go to reply targets that may be gone already; that is normal
// and not worth a dead-letter log line.
func (*PollResult) IgnoreDeadLetterLogging()      {}
func (*PostReady) IgnoreDeadLetterLogging()       {}
func (*PostResult) IgnoreDeadLetterLogging()      {}
func (*PollWaiting) IgnoreDeadLetterLogging()     {}
func (*Failure) IgnoreDeadLetterLogging()         {}
func (*Opened) IgnoreDeadLetterLogging()          {}
func (*Frame) IgnoreDeadLetterLogging()           {}
func (*WebSocketClosed) IgnoreDeadLetterLogging() {}
func (*WriteFrames) IgnoreDeadLetterLogging()     {}
func (*CloseConn) IgnoreDeadLetterLogging()       {}

// So do the messages that may reach a session as it stops, with no sender
// to answer: the supervisor's Close to every session at shutdown, the HTTP
// layer's news of a client gone or of a WebSocket opened, the
// application's sends, which a closing session drops anyway. Each would
// otherwise start protoactor's throttle of dead-letter logging, a
// goroutine that lasts a second.
func (*Send) IgnoreDeadLetterLogging()            {}
func (*Close) IgnoreDeadLetterLogging()           {}
func (*PollAbandoned) IgnoreDeadLetterLogging()   {}
func (*WebSocketOpened) IgnoreDeadLetterLogging() {}

// Timer messages a session sends itself.

type timerKind uint8

const (
	timerPing    timerKind = iota // time to send a ping
	timerPong                     // the pong did not come in time
	timerUpgrade                  // the upgrade did not complete in time
	timerClose                    // a graceful close found no poll to deliver the close packet
)

type timerFired struct {
	kind timerKind
	gen  uint32
}

func (*timerFired) IgnoreDeadLetterLogging() {}

package protocol

import "strconv"

// PacketType is the kind of an Engine.IO packet. Its value is the digit that
// starts the packet on the wire, minus '0'.
type PacketType byte

// The packet types, numbered as on the wire.
const (
	Open    PacketType = iota // handshake, server to client
	Close                     // the session is closing
	Ping                      // heartbeat request (server to client in v4)
	Pong                      // heartbeat answer (client to server in v4)
	Message                   // application data
	Upgrade                   // completes the switch to WebSocket
	Noop                      // ends a pending poll during an upgrade
)

var packetTypeNames = [...]string{
	Open:    "open",
	Close:   "close",
	Ping:    "ping",
	Pong:    "pong",
	Message: "message",
	Upgrade: "upgrade",
	Noop:    "noop",
}

// String returns the name the specification uses ("open", "close", ...), or
// "PacketType(N)" for a value outside the protocol, so logs stay readable
// whatever a peer sent.
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types of the protocol.
func (t PacketType) Valid() bool { return t <= Noop }

// Packet is one Engine.IO packet, independent of how it is framed.
type Packet struct {
	// Type is the packet type.
	Type PacketType
	// Data holds the bytes after the type digit; for a binary message, the
	// raw (decoded) bytes. It is empty for most control packets, and "probe"
	// for the ping/pong exchanged during an upgrade.
	Data []byte
	// Binary marks Data as binary. Only a Message can be binary: the
	// encoders ignore Binary on any other type (see [Packet.Validate]).
	Binary bool
}

// TextMessage returns a text message packet. It copies s, because a string's
// bytes cannot be shared with a []byte.
func TextMessage(s string) Packet {
	return Packet{Type: Message, Data: []byte(s)}
}

// BinaryMessage returns a binary message packet. It does not copy b: the
// caller must not modify b until the packet has been encoded.
func BinaryMessage(b []byte) Packet {
	return Packet{Type: Message, Data: b, Binary: true}
}

// Validate reports whether the encoders can represent p exactly. It returns
// ErrUnknownPacketType for a type outside '0'..'6' and ErrBinaryNotMessage
// for a Binary packet that is not a Message; both are returned unwrapped,
// since there is no input offset to report. The encoders do not call it:
// they are meant for packets built from the constants of this package, and
// encoding never fails.
func (p Packet) Validate() error {
	if !p.Type.Valid() {
		return ErrUnknownPacketType
	}
	if p.Binary && p.Type != Message {
		return ErrBinaryNotMessage
	}
	return nil
}

// isBinary is the one place that decides whether p is encoded as binary, so
// that every encoder agrees on ignoring Binary for non-message types.
func (p Packet) isBinary() bool { return p.Binary && p.Type == Message }

package protocol

import (
	"errors"
	"strconv"
)

// Sentinel errors. Decoders wrap the first three in a [*SyntaxError] so the
// offset of the fault is kept; match them with errors.Is. The revision 3
// decoders add their own (see [ErrInvalidLength]).
var (
	// ErrEmptyPacket reports a packet with no bytes at all: an empty
	// payload, an empty record between separators, or an empty text frame.
	ErrEmptyPacket = errors.New("engineio/protocol: empty packet")

	// ErrUnknownPacketType reports a first byte that is not a packet type
	// digit '0'..'6' (or, in a polling payload, the binary marker 'b').
	ErrUnknownPacketType = errors.New("engineio/protocol: unknown packet type")

	// ErrInvalidBase64 reports binary data that is not standard, padded,
	// canonical base64.
	ErrInvalidBase64 = errors.New("engineio/protocol: invalid base64")

	// ErrBinaryNotMessage reports a packet marked Binary whose Type is not
	// Message, which revision 4 cannot express. It is returned unwrapped by
	// [Packet.Validate]; the encoders never fail and ignore Binary instead.
	// The revision 3 decoders, whose wire format has a type for binary
	// packets, wrap it in a [*SyntaxError] when that type is not message.
	ErrBinaryNotMessage = errors.New("engineio/protocol: binary packet must be a message")
)

// SyntaxError reports malformed input and where it was found, so that a
// server can log which part of a large payload was at fault.
type SyntaxError struct {
	// Offset is the byte offset of the fault from the start of the input
	// given to the decoder (the whole payload for DecodePayload).
	Offset int
	// Err is one of the sentinel errors of this package.
	Err error
}

// Error returns text such as "engineio/protocol: invalid base64 at offset 3".
func (e *SyntaxError) Error() string {
	msg := "engineio/protocol: syntax error"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return msg + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel error so errors.Is can match it.
func (e *SyntaxError) Unwrap() error { return e.Err }

func syntaxError(offset int, err error) error {
	return &SyntaxError{Offset: offset, Err: err}
}

package protocol

import (
	"bytes"
	"slices"
)

// RecordSeparator joins the packets of a revision 4 polling payload. The
// specification assumes it never occurs in text data; see [AppendPayload].
const RecordSeparator byte = 0x1e

// AppendPayload appends the revision 4 polling payload for pkts to dst: each
// packet's text form (see [AppendPacket]), joined by [RecordSeparator] with
// no trailing separator. It grows dst at most once.
//
// The separator is not escaped, exactly as in the reference implementations:
// a text packet whose Data contains 0x1e will be split by the receiver. A
// server that cannot rule such data out should reject it before queueing
// (bytes.IndexByte(p.Data, RecordSeparator) >= 0) or send it as binary.
// An empty pkts appends nothing; an empty body is not a valid payload, so
// callers must not send one.
func AppendPayload(dst []byte, pkts []Packet) []byte {
	if len(pkts) == 0 {
		return dst
	}
	n := len(pkts) - 1
	for _, p := range pkts {
		n += packetLen(p)
	}
	dst = slices.Grow(dst, n)
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}

// DecodePayload decodes a revision 4 polling payload and calls fn for each
// packet in order. If fn returns an error, decoding stops and that error is
// returned as is.
//
// The whole payload is validated before fn is first called, so a malformed
// payload delivers no packet at all: a server can close the session on the
// returned *SyntaxError without having acted on part of the request. An
// empty body and an empty record (two adjacent separators, or a leading or
// trailing one) are ErrEmptyPacket. Error offsets count from the start of b.
//
// As with [DecodePacket], the Data of text packets aliases b, and the data of
// binary messages is newly allocated. Decoding text allocates nothing.
func DecodePayload(b []byte, fn func(Packet) error) error {
	if err := checkPayload(b); err != nil {
		return err
	}
	for start := 0; ; {
		end := len(b)
		if i := bytes.IndexByte(b[start:], RecordSeparator); i >= 0 {
			end = start + i
		}
		p, err := decodePacket(b[start:end], start)
		if err != nil {
			return err // unreachable after checkPayload, kept for safety
		}
		if err := fn(p); err != nil {
			return err
		}
		if end == len(b) {
			return nil
		}
		start = end + 1
	}
}

// checkPayload reports the first syntax error in b without allocating.
func checkPayload(b []byte) error {
	for start := 0; ; {
		end := len(b)
		if i := bytes.IndexByte(b[start:], RecordSeparator); i >= 0 {
			end = start + i
		}
		if err := checkPacket(b[start:end], start); err != nil {
			return err
		}
		if end == len(b) {
			return nil
		}
		start = end + 1
	}
}

// checkPacket is decodePacket without the decoding.
func checkPacket(b []byte, base int) error {
	if len(b) == 0 {
		return syntaxError(base, ErrEmptyPacket)
	}
	if b[0] == binaryMarker {
		if off := checkBase64(b[1:]); off >= 0 {
			return syntaxError(base+1+off, ErrInvalidBase64)
		}
		return nil
	}
	if !PacketType(b[0] - '0').Valid() {
		return syntaxError(base, ErrUnknownPacketType)
	}
	return nil
}

package protocol

import (
	"errors"
	"testing"
)

// collectV3 decodes a revision 3 text payload into a slice.
func collectV3(b []byte) ([]Packet, error) {
	var out []Packet
	err := DecodePayloadV3(b, func(p Packet) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// collectBinaryV3 decodes a revision 3 XHR2 binary payload into a slice.
func collectBinaryV3(b []byte) ([]Packet, error) {
	var out []Packet
	err := DecodeBinaryPayloadV3(b, func(p Packet) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// v3Sentinels are the errors a revision 3 decoder may wrap.
var v3Sentinels = []error{
	ErrEmptyPacket, ErrUnknownPacketType, ErrInvalidBase64, ErrBinaryNotMessage,
	ErrInvalidLength, ErrInvalidUTF8, ErrInvalidJSONP,
}

// checkSyntaxErrorV3 holds a revision 3 decoding error to the documented
// shape: a *SyntaxError wrapping a sentinel, at an offset inside (or just
// past) b.
func checkSyntaxErrorV3(t *testing.T, b []byte, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	known := false
	for _, s := range v3Sentinels {
		known = known || se.Err == s
	}
	if !known {
		t.Fatalf("error %v wraps no sentinel", err)
	}
	if se.Offset < 0 || se.Offset > len(b) {
		t.Fatalf("error %v: offset outside the %d-byte input", err, len(b))
	}
}

// sanitized is what AppendPayloadV3 makes of p: text with invalid UTF-8
// replaced, Binary dropped on non-messages.
func sanitized(p Packet) Packet {
	if p.isBinary() {
		return p
	}
	return Packet{Type: p.Type, Data: appendValidUTF8(nil, p.Data)}
}

// wantError is one row of a decoding error table.
type wantError struct {
	wire   string
	err    error
	offset int
}

// checkDecodeErrors runs an error table through a payload decoder, checking
// that fn is never called on a malformed payload.
func checkDecodeErrors(t *testing.T, name string, decode func([]byte, func(Packet) error) error, tests []wantError) {
	t.Helper()
	for _, tt := range tests {
		calls := 0
		err := decode([]byte(tt.wire), func(Packet) error {
			calls++
			return nil
		})
		if !errors.Is(err, tt.err) {
			t.Errorf("%s(%q) = %v, want %v", name, tt.wire, err, tt.err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.offset {
			t.Errorf("%s(%q) = %v, want offset %d", name, tt.wire, err, tt.offset)
		}
		if calls != 0 {
			t.Errorf("%s(%q) called fn %d times before failing", name, tt.wire, calls)
		}
	}
}

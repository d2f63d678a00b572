package protocol

import (
	"bytes"
	"errors"
	"testing"
)

// checkSyntaxError holds every decoding error to the documented shape: a
// *SyntaxError wrapping a sentinel, at an offset inside (or just past) b.
func checkSyntaxError(t *testing.T, b []byte, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	if !errors.Is(err, ErrEmptyPacket) && !errors.Is(err, ErrUnknownPacketType) && !errors.Is(err, ErrInvalidBase64) {
		t.Fatalf("error %v wraps no sentinel", err)
	}
	if se.Offset < 0 || se.Offset > len(b) {
		t.Fatalf("error %v: offset outside the %d-byte input", err, len(b))
	}
}

func FuzzDecodePacket(f *testing.F) {
	for _, tt := range packetTests {
		f.Add([]byte(tt.wire))
	}
	for _, tt := range packetErrorTests {
		f.Add([]byte(tt.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 && b[0] == binaryMarker {
			checkBase64Agrees(t, b[1:])
		}
		p, err := DecodePacket(b)
		if err != nil {
			checkSyntaxError(t, b, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded %s does not validate: %v", describe(p), err)
		}
		// Decoding is strict enough that the input is the one encoding
		// of its packet.
		re := AppendPacket(nil, p)
		if !bytes.Equal(re, b) {
			t.Fatalf("DecodePacket(%q) = %s, which encodes to %q", b, describe(p), re)
		}
		p2, err := DecodePacket(re)
		if err != nil || !samePacket(p, p2) {
			t.Fatalf("re-decoding %q = %s, %v; want %s", re, describe(p2), err, describe(p))
		}
	})
}

func FuzzDecodePayload(f *testing.F) {
	for _, tt := range payloadTests {
		f.Add([]byte(tt.wire))
	}
	for _, tt := range payloadErrorTests {
		f.Add([]byte(tt.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := collect(b)
		if err != nil {
			checkSyntaxError(t, b, err)
			if len(pkts) != 0 {
				t.Fatalf("DecodePayload(%q) delivered %d packets before failing", b, len(pkts))
			}
			return
		}
		if len(pkts) == 0 {
			t.Fatalf("DecodePayload(%q) succeeded with no packets", b)
		}
		re := AppendPayload(nil, pkts)
		if !bytes.Equal(re, b) {
			t.Fatalf("DecodePayload(%q) = [%s], which encodes to %q", b, describe(pkts...), re)
		}
		pkts2, err := collect(re)
		if err != nil || !samePackets(pkts, pkts2) {
			t.Fatalf("re-decoding %q = [%s], %v; want [%s]", re, describe(pkts2...), err, describe(pkts...))
		}
	})
}

func FuzzDecodeFrame(f *testing.F) {
	for _, tt := range frameTests {
		f.Add([]byte(tt.frame), tt.binary)
	}
	for _, tt := range packetTests {
		f.Add([]byte(tt.wire), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		p, err := DecodeFrame(b, binary)
		if binary {
			if err != nil || !p.Binary || p.Type != Message || !bytes.Equal(p.Data, b) {
				t.Fatalf("DecodeFrame(%q, true) = %s, %v", b, describe(p), err)
			}
		}
		// A text frame is a polling packet without the base64 form.
		if !binary {
			pp, perr := DecodePacket(b)
			if len(b) > 0 && b[0] == binaryMarker {
				if !errors.Is(err, ErrUnknownPacketType) {
					t.Fatalf("DecodeFrame(%q, false) = %v, want ErrUnknownPacketType", b, err)
				}
			} else if (err == nil) != (perr == nil) || err == nil && !samePacket(p, pp) {
				t.Fatalf("DecodeFrame(%q, false) = %s, %v but DecodePacket = %s, %v", b, describe(p), err, describe(pp), perr)
			}
		}
		if err != nil {
			checkSyntaxError(t, b, err)
			return
		}
		frame, bin := AppendFrame(nil, p)
		if bin != binary || !bytes.Equal(frame, b) {
			t.Fatalf("DecodeFrame(%q, %v) = %s, which encodes to %q, %v", b, binary, describe(p), frame, bin)
		}
		p2, err := DecodeFrame(frame, bin)
		if err != nil || !samePacket(p, p2) {
			t.Fatalf("re-decoding %q = %s, %v; want %s", frame, describe(p2), err, describe(p))
		}
	})
}

// packetsFromFuzz builds a packet list from fuzz input: each control byte
// picks a type (low three bits, modulo 7), a Binary flag (bit 3, on any type,
// to exercise the encoders' handling of binary non-messages) and a data
// length (high four bits); the last packet takes the rest of data.
func packetsFromFuzz(ctl, data []byte) []Packet {
	pkts := make([]Packet, 0, len(ctl))
	for i, c := range ctl {
		n := min(int(c>>4), len(data))
		if i == len(ctl)-1 {
			n = len(data)
		}
		pkts = append(pkts, Packet{Type: PacketType(c&7) % 7, Binary: c&8 != 0, Data: data[:n:n]})
		data = data[n:]
	}
	return pkts
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0x54}, []byte("hello"))                        // 4hello
	f.Add([]byte{0x5c, 0x4c}, []byte("hello\x01\x02\x03\x04"))  // binary messages
	f.Add([]byte{0x52, 0x03, 0x06, 0x01}, []byte("probe"))      // control packets
	f.Add([]byte{0x0a, 0x0c}, []byte("probe"))                  // binary ping: sent as text
	f.Add([]byte{0x14, 0x14}, []byte("a\x1eb"))                 // separator in text
	f.Add([]byte{0x0c}, []byte{})                               // empty binary message
	f.Add([]byte{0x04, 0x0c, 0x04}, []byte("\xff\x00\x1e\xfe")) // arbitrary bytes
	f.Fuzz(func(t *testing.T, ctl, data []byte) {
		pkts := packetsFromFuzz(ctl, data)
		want := make([]Packet, len(pkts))
		separatorInText := false
		for i, p := range pkts {
			// Binary is meaningful only for a message; the encoders drop it.
			want[i] = Packet{Type: p.Type, Data: p.Data, Binary: p.isBinary()}
			if err := p.Validate(); (err != nil) != (p.Binary && p.Type != Message) {
				t.Fatalf("Validate(%s) = %v", describe(p), err)
			}
			if !want[i].Binary && bytes.IndexByte(p.Data, RecordSeparator) >= 0 {
				separatorInText = true
			}

			enc := AppendPacket(nil, p)
			got, err := DecodePacket(enc)
			if err != nil || !samePacket(got, want[i]) {
				t.Fatalf("packet %s encodes to %q, decodes to %s, %v", describe(p), enc, describe(got), err)
			}
			if n := packetLen(p); n != len(enc) {
				t.Fatalf("packetLen(%s) = %d, encoded %d bytes", describe(p), n, len(enc))
			}

			frame, binary := AppendFrame([]byte("prefix"), p)
			got, err = DecodeFrame(frame[len("prefix"):], binary)
			if err != nil || !samePacket(got, want[i]) {
				t.Fatalf("packet %s frames as %q, %v, decodes to %s, %v", describe(p), frame, binary, describe(got), err)
			}
		}
		// A payload cannot carry an empty packet list, nor text holding the
		// separator (the protocol does not escape it).
		if len(pkts) == 0 || separatorInText {
			return
		}
		enc := AppendPayload([]byte("prefix"), pkts)
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatalf("AppendPayload lost dst: %q", enc)
		}
		got, err := collect(enc[len("prefix"):])
		if err != nil || !samePackets(got, want) {
			t.Fatalf("payload [%s] encodes to %q, decodes to [%s], %v", describe(pkts...), enc, describe(got...), err)
		}
	})
}

package protocol

import (
	"bytes"
	"errors"
	"testing"
)

// canonicalPayloadV3 is the encoding DecodePayloadV3's result must re-encode
// to: b without its zero-length records, or "0:" if nothing is left. Every
// other record must come back byte for byte, since lengths and base64 are
// canonical and text is valid UTF-8.
func canonicalPayloadV3(t *testing.T, b []byte) []byte {
	var out []byte
	for start := 0; start < len(b); {
		ps, pe, err := nextRecordV3(b, start)
		if err != nil {
			t.Fatalf("nextRecordV3(%q, %d) fails on an accepted payload: %v", b, start, err)
		}
		if ps < pe {
			out = append(out, b[start:pe]...)
		}
		start = pe
	}
	if out == nil {
		return []byte(emptyPayloadV3)
	}
	return out
}

func FuzzDecodePayloadV3(f *testing.F) {
	for _, tt := range payloadV3Tests {
		f.Add([]byte(tt.wire))
	}
	for _, tt := range payloadV3ErrorTests {
		f.Add([]byte(tt.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := collectV3(b)
		if err != nil {
			checkSyntaxErrorV3(t, b, err)
			if len(pkts) != 0 {
				t.Fatalf("DecodePayloadV3(%q) delivered %d packets before failing", b, len(pkts))
			}
			return
		}
		for _, p := range pkts {
			if err := p.Validate(); err != nil {
				t.Fatalf("decoded %s does not validate: %v", describe(p), err)
			}
		}
		re := AppendPayloadV3(nil, pkts)
		if want := canonicalPayloadV3(t, b); !bytes.Equal(re, want) {
			t.Fatalf("DecodePayloadV3(%q) = [%s], which encodes to %q, want %q", b, describe(pkts...), re, want)
		}
		pkts2, err := collectV3(re)
		if err != nil || !samePackets(pkts, pkts2) {
			t.Fatalf("re-decoding %q = [%s], %v; want [%s]", re, describe(pkts2...), err, describe(pkts...))
		}
	})
}

func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	for _, tt := range binaryPayloadV3Tests {
		f.Add(tt.wire)
	}
	for _, tt := range binaryPayloadV3ErrorTests {
		f.Add([]byte(tt.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := collectBinaryV3(b)
		if err != nil {
			checkSyntaxErrorV3(t, b, err)
			if len(pkts) != 0 {
				t.Fatalf("DecodeBinaryPayloadV3(% x) delivered %d packets before failing", b, len(pkts))
			}
			return
		}
		if len(pkts) == 0 {
			t.Fatalf("DecodeBinaryPayloadV3(% x) succeeded with no packets", b)
		}
		base64InString := false
		for start := 0; start < len(b); {
			ps, pe, err := nextBinaryRecordV3(b, start)
			if err != nil {
				t.Fatalf("nextBinaryRecordV3(% x, %d) fails on an accepted payload: %v", b, start, err)
			}
			base64InString = base64InString || b[start] == 0 && b[ps] == binaryMarker
			start = pe
		}
		for _, p := range pkts {
			if err := p.Validate(); err != nil {
				t.Fatalf("decoded %s does not validate: %v", describe(p), err)
			}
		}
		// A base64 string record comes back as a binary record; anything
		// else is the one encoding of its packets.
		re := AppendBinaryPayloadV3(nil, pkts)
		if !base64InString && !bytes.Equal(re, b) {
			t.Fatalf("DecodeBinaryPayloadV3(% x) = [%s], which encodes to % x", b, describe(pkts...), re)
		}
		pkts2, err := collectBinaryV3(re)
		if err != nil || !samePackets(pkts, pkts2) {
			t.Fatalf("re-decoding % x = [%s], %v; want [%s]", re, describe(pkts2...), err, describe(pkts...))
		}
	})
}

func FuzzDecodeFrameV3(f *testing.F) {
	for _, tt := range frameV3Tests {
		f.Add([]byte(tt.frame), tt.binary)
	}
	for _, tt := range packetV3Tests {
		f.Add([]byte(tt.wire), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		p, err := DecodeFrameV3(b, binary)
		// A text frame is the text form of a packet, as in a text payload.
		if !binary {
			pp, perr := decodePacketV3(b, 0)
			if (err == nil) != (perr == nil) || err == nil && !samePacket(p, pp) {
				t.Fatalf("DecodeFrameV3(%q, false) = %s, %v but decodePacketV3 = %s, %v", b, describe(p), err, describe(pp), perr)
			}
		}
		if err != nil {
			checkSyntaxErrorV3(t, b, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("decoded %s does not validate: %v", describe(p), err)
		}
		frame, bin := AppendFrameV3(nil, p)
		base64Text := !binary && b[0] == binaryMarker
		if base64Text {
			// A b64=1 client's frame: binary frames carry it back, and
			// AppendPacketV3 reproduces it.
			if re := AppendPacketV3(nil, p); !bytes.Equal(re, b) {
				t.Fatalf("DecodeFrameV3(%q, false) = %s, which AppendPacketV3 encodes to %q", b, describe(p), re)
			}
		} else if bin != binary || !bytes.Equal(frame, b) {
			t.Fatalf("DecodeFrameV3(%q, %v) = %s, which encodes to %q, %v", b, binary, describe(p), frame, bin)
		}
		p2, err := DecodeFrameV3(frame, bin)
		if err != nil || !samePacket(p, p2) {
			t.Fatalf("re-decoding %q = %s, %v; want %s", frame, describe(p2), err, describe(p))
		}
	})
}

func FuzzDecodeJSONPBody(f *testing.F) {
	for _, tt := range jsonpBodyTests {
		f.Add([]byte(tt.body))
	}
	f.Add([]byte(jsonpClientBody("6:4hello10:b4AQIDBA==")))
	f.Add([]byte(jsonpClientBody("20:4{\"a\":\"x\\ny\"}\nz")))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeJSONPBody(body)
		if err != nil {
			checkSyntaxErrorV3(t, body, err)
			if !errors.Is(err, ErrInvalidJSONP) {
				t.Fatalf("DecodeJSONPBody(%q) = %v, want ErrInvalidJSONP", body, err)
			}
			return
		}
		// The client's escaping cannot express a backslash before a line
		// feed (see DecodeJSONPBody); anything else survives a round trip
		// through the JavaScript client's encoding.
		if bytes.Contains(d, []byte("\\\n")) {
			return
		}
		re := jsonpClientBody(string(d))
		d2, err := DecodeJSONPBody([]byte(re))
		if err != nil || !bytes.Equal(d2, d) {
			t.Fatalf("DecodeJSONPBody(%q) = %q, which the client sends as %q, which decodes to %q, %v", body, d, re, d2, err)
		}
		// If it is a payload, its packets survive the whole trip too.
		pkts, err := collectV3(d)
		if err != nil {
			return
		}
		payload := AppendPayloadV3(nil, pkts)
		if bytes.Contains(payload, []byte("\\\n")) {
			return
		}
		d3, err := DecodeJSONPBody([]byte(jsonpClientBody(string(payload))))
		if err != nil {
			t.Fatalf("re-encoded payload %q: %v", payload, err)
		}
		pkts2, err := collectV3(d3)
		if err != nil || !samePackets(pkts, pkts2) {
			t.Fatalf("re-decoding %q = [%s], %v; want [%s]", d3, describe(pkts2...), err, describe(pkts...))
		}
	})
}

// FuzzRoundTripV3 sends arbitrary packets through every revision 3 encoder
// and back.
func FuzzRoundTripV3(f *testing.F) {
	f.Add([]byte{0x54}, []byte("hello"))                        // 4hello
	f.Add([]byte{0x5c, 0x4c}, []byte("hello\x01\x02\x03\x04"))  // binary messages
	f.Add([]byte{0x52, 0x03, 0x06, 0x01}, []byte("probe"))      // control packets
	f.Add([]byte{0x24, 0x44}, []byte("€😀é"))                    // multibyte text
	f.Add([]byte{0x04, 0x0c, 0x04}, []byte("\xff\x00\x1e\xfe")) // invalid UTF-8
	f.Add([]byte{0x34}, []byte("a\\nb\nc"))                     // JSONP escapes
	f.Fuzz(func(t *testing.T, ctl, data []byte) {
		pkts := packetsFromFuzz(ctl, data)
		exact := make([]Packet, len(pkts)) // what byte-length formats keep
		text := make([]Packet, len(pkts))  // what the text payload keeps
		for i, p := range pkts {
			exact[i] = Packet{Type: p.Type, Data: p.Data, Binary: p.isBinary()}
			text[i] = sanitized(exact[i])

			frame, binary := AppendFrameV3([]byte("prefix"), p)
			got, err := DecodeFrameV3(frame[len("prefix"):], binary)
			if err != nil || !samePacket(got, exact[i]) {
				t.Fatalf("packet %s frames as %q, %v, decodes to %s, %v", describe(p), frame, binary, describe(got), err)
			}
			enc := AppendPacketV3(nil, p)
			got, err = DecodeFrameV3(enc, false)
			if err != nil || !samePacket(got, exact[i]) {
				t.Fatalf("packet %s encodes to %q, decodes to %s, %v", describe(p), enc, describe(got), err)
			}
		}

		enc := AppendPayloadV3([]byte("prefix"), pkts)
		got, err := collectV3(enc[len("prefix"):])
		if err != nil || !samePackets(got, text) {
			t.Fatalf("payload [%s] encodes to %q, decodes to [%s], %v", describe(pkts...), enc, describe(got...), err)
		}
		checkJSONP(t, "42", enc[len("prefix"):])

		if len(pkts) == 0 {
			return // an empty binary payload is not a payload
		}
		enc = AppendBinaryPayloadV3([]byte("prefix"), pkts)
		got, err = collectBinaryV3(enc[len("prefix"):])
		if err != nil || !samePackets(got, exact) {
			t.Fatalf("binary payload [%s] encodes to % x, decodes to [%s], %v", describe(pkts...), enc, describe(got...), err)
		}
	})
}

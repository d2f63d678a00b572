package protocol

import (
	"errors"
	"testing"
)

// Checklist item 49: a v3 binary frame carries a leading type byte, and
// [4,1,2,3,4] echoes as [4,1,2,3,4].
var frameV3Tests = []struct {
	frame  string
	binary bool
	pkt    Packet
}{
	{"4hello", false, text(Message, "hello")},
	{"2", false, text(Ping, "")}, // v3: the client pings
	{"3", false, text(Pong, "")},
	{"2probe", false, text(Ping, "probe")},
	{"3probe", false, text(Pong, "probe")},
	{"5", false, text(Upgrade, "")},
	{"4€😀", false, text(Message, "€😀")},
	{"\x04\x01\x02\x03\x04", true, bin(1, 2, 3, 4)},
	{"\x04", true, bin()},
	{"\x044hello", true, bin('4', 'h', 'e', 'l', 'l', 'o')},
}

func TestAppendFrameV3(t *testing.T) {
	for _, tt := range frameV3Tests {
		frame, binary := AppendFrameV3([]byte("x"), tt.pkt)
		if string(frame) != "x"+tt.frame || binary != tt.binary {
			t.Errorf("AppendFrameV3(%s) = %q, %v; want %q, %v", describe(tt.pkt), frame, binary, "x"+tt.frame, tt.binary)
		}
	}
	frame, binary := AppendFrameV3(nil, Packet{Type: Pong, Data: []byte("probe"), Binary: true})
	if string(frame) != "3probe" || binary {
		t.Errorf("binary pong = %q, %v; want a text frame", frame, binary)
	}
}

func TestDecodeFrameV3(t *testing.T) {
	for _, tt := range frameV3Tests {
		got, err := DecodeFrameV3([]byte(tt.frame), tt.binary)
		if err != nil || !samePacket(got, tt.pkt) {
			t.Errorf("DecodeFrameV3(%q, %v) = %s, %v; want %s", tt.frame, tt.binary, describe(got), err, describe(tt.pkt))
		}
	}
	// A b64=1 client sends binary as base64 text frames.
	for _, tt := range packetV3Tests {
		got, err := DecodeFrameV3([]byte(tt.wire), false)
		if err != nil || !samePacket(got, tt.pkt) {
			t.Errorf("DecodeFrameV3(%q, false) = %s, %v; want %s", tt.wire, describe(got), err, describe(tt.pkt))
		}
	}
}

func TestDecodeFrameV3Errors(t *testing.T) {
	for _, tt := range []struct {
		frame  string
		binary bool
		err    error
		offset int
	}{
		{"", true, ErrEmptyPacket, 0},
		{"\x02\x01", true, ErrBinaryNotMessage, 0},
		{"\x07", true, ErrUnknownPacketType, 0},
		{"4hello", true, ErrUnknownPacketType, 0}, // '4' is not the raw type byte
		{"", false, ErrEmptyPacket, 0},
		{"abc", false, ErrUnknownPacketType, 0},
		{"8", false, ErrUnknownPacketType, 0},
		{"b", false, ErrUnknownPacketType, 1},
		{"bAQIDBA==", false, ErrUnknownPacketType, 1}, // the v4 form has no type digit
		{"b2AQ==", false, ErrBinaryNotMessage, 1},
		{"b4AQ*D", false, ErrInvalidBase64, 4},
		{"b4AQIDBA=", false, ErrInvalidBase64, 9}, // truncated: at the end
	} {
		p, err := DecodeFrameV3([]byte(tt.frame), tt.binary)
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodeFrameV3(%q, %v) = %s, %v; want %v", tt.frame, tt.binary, describe(p), err, tt.err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.offset {
			t.Errorf("DecodeFrameV3(%q, %v) = %v, want offset %d", tt.frame, tt.binary, err, tt.offset)
		}
	}
}

func TestDecodeFrameV3NoCopy(t *testing.T) {
	in := []byte{4, 1, 2, 3}
	p, err := DecodeFrameV3(in, true)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[1] || len(p.Data) != 3 || cap(p.Data) != 3 {
		t.Error("binary frame Data is not the input after the type byte")
	}
}

func TestFrameV3Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	buf := make([]byte, 0, 64)
	for _, p := range []Packet{text(Message, "hello"), bin(1, 2, 3, 4)} {
		if n := testing.AllocsPerRun(100, func() { buf, _ = AppendFrameV3(buf[:0], p) }); n != 0 {
			t.Errorf("AppendFrameV3(%s): %v allocs, want 0", describe(p), n)
		}
	}
	for _, in := range []struct {
		b      []byte
		binary bool
	}{{[]byte("4hello"), false}, {[]byte{4, 1, 2}, true}} {
		if n := testing.AllocsPerRun(100, func() { _, _ = DecodeFrameV3(in.b, in.binary) }); n != 0 {
			t.Errorf("DecodeFrameV3(%q): %v allocs, want 0", in.b, n)
		}
	}
}

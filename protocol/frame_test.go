package protocol

import (
	"errors"
	"testing"
)

// Checklist items 25 and 26: one packet per frame, binary as raw bytes.
var frameTests = []struct {
	frame  string
	binary bool
	pkt    Packet
}{
	{"4hello", false, text(Message, "hello")},
	{"2probe", false, text(Ping, "probe")},
	{"3probe", false, text(Pong, "probe")},
	{"5", false, text(Upgrade, "")},
	{"1", false, text(Close, "")},
	{"0{\"sid\":\"x\"}", false, text(Open, `{"sid":"x"}`)},
	{"\x01\x02\x03\x04", true, bin(1, 2, 3, 4)},
	{"4hello", true, bin('4', 'h', 'e', 'l', 'l', 'o')}, // no type byte in v4
	{"", true, bin()},
}

func TestAppendFrame(t *testing.T) {
	for _, tt := range frameTests {
		frame, binary := AppendFrame(nil, tt.pkt)
		if string(frame) != tt.frame || binary != tt.binary {
			t.Errorf("AppendFrame(%s) = %q, %v; want %q, %v", describe(tt.pkt), frame, binary, tt.frame, tt.binary)
		}
	}
}

func TestDecodeFrame(t *testing.T) {
	for _, tt := range frameTests {
		got, err := DecodeFrame([]byte(tt.frame), tt.binary)
		if err != nil || !samePacket(got, tt.pkt) {
			t.Errorf("DecodeFrame(%q, %v) = %s, %v; want %s", tt.frame, tt.binary, describe(got), err, describe(tt.pkt))
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	for _, tt := range []struct {
		frame string
		err   error
	}{
		{"", ErrEmptyPacket},
		{"abc", ErrUnknownPacketType},       // checklist 27
		{"bAQIDBA==", ErrUnknownPacketType}, // no base64 marker on WebSocket
		{"8", ErrUnknownPacketType},
		{"4a\x1e4b", nil}, // no payloads on WebSocket: the separator is data
	} {
		p, err := DecodeFrame([]byte(tt.frame), false)
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodeFrame(%q, false) = %s, %v; want %v", tt.frame, describe(p), err, tt.err)
		}
		var se *SyntaxError
		if tt.err != nil && (!errors.As(err, &se) || se.Offset != 0) {
			t.Errorf("DecodeFrame(%q, false) = %v, want a *SyntaxError at offset 0", tt.frame, err)
		}
	}
}

func TestDecodeFrameBinaryNoCopy(t *testing.T) {
	in := []byte{1, 2, 3}
	p, err := DecodeFrame(in, true)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[0] || len(p.Data) != 3 {
		t.Error("binary frame Data is not the input")
	}
}

func TestFrameAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	buf := make([]byte, 0, 64)
	p := text(Message, "hello")
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendFrame(buf[:0], p) }); n != 0 {
		t.Errorf("AppendFrame: %v allocs, want 0", n)
	}
	in := []byte("4hello")
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeFrame(in, false) }); n != 0 {
		t.Errorf("DecodeFrame: %v allocs, want 0", n)
	}
}

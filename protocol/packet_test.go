package protocol

import (
	"errors"
	"testing"
)

func TestPacketTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	for i, w := range want {
		if got := PacketType(i).String(); got != w {
			t.Errorf("PacketType(%d).String() = %q, want %q", i, got, w)
		}
		if !PacketType(i).Valid() {
			t.Errorf("PacketType(%d).Valid() = false", i)
		}
	}
	if got := PacketType(7).String(); got != "PacketType(7)" {
		t.Errorf("PacketType(7).String() = %q", got)
	}
	if PacketType(7).Valid() {
		t.Error("PacketType(7).Valid() = true")
	}
}

// Examples from the protocol specification, section 1.1 and 1.4.
var packetTests = []struct {
	wire string
	pkt  Packet
}{
	{"0", text(Open, "")},
	{"1", text(Close, "")},
	{"2", text(Ping, "")},
	{"2probe", text(Ping, "probe")},
	{"3", text(Pong, "")},
	{"3probe", text(Pong, "probe")},
	{"4hello", text(Message, "hello")},
	{"4", text(Message, "")},
	{"4€ and 😀", text(Message, "€ and 😀")},
	{"44", text(Message, "4")},
	{"4b", text(Message, "b")},
	{"5", text(Upgrade, "")},
	{"6", text(Noop, "")},
	{"bAQIDBA==", bin(1, 2, 3, 4)},
	{"b", bin()},
	{"bAA==", bin(0)},
	{"bAAA=", bin(0, 0)},
	{"bAAAA", bin(0, 0, 0)},
	{"b+/+/", bin(0xfb, 0xff, 0xbf)},
}

func TestAppendPacket(t *testing.T) {
	for _, tt := range packetTests {
		if got := string(AppendPacket(nil, tt.pkt)); got != tt.wire {
			t.Errorf("AppendPacket(%s) = %q, want %q", describe(tt.pkt), got, tt.wire)
		}
	}
}

func TestDecodePacket(t *testing.T) {
	for _, tt := range packetTests {
		got, err := DecodePacket([]byte(tt.wire))
		if err != nil || !samePacket(got, tt.pkt) {
			t.Errorf("DecodePacket(%q) = %s, %v; want %s", tt.wire, describe(got), err, describe(tt.pkt))
		}
	}
}

func TestAppendPacketAppends(t *testing.T) {
	got := AppendPacket([]byte("prefix:"), TextMessage("hi"))
	if string(got) != "prefix:4hi" {
		t.Errorf("got %q", got)
	}
	got = AppendPacket([]byte("prefix:"), BinaryMessage([]byte{1}))
	if string(got) != "prefix:bAQ==" {
		t.Errorf("got %q", got)
	}
}

// Revision 4 cannot express a binary non-message: the encoder writes it as
// text, and Validate is how a caller finds out beforehand.
func TestBinaryNotMessage(t *testing.T) {
	p := Packet{Type: Ping, Data: []byte("probe"), Binary: true}
	if err := p.Validate(); !errors.Is(err, ErrBinaryNotMessage) {
		t.Errorf("Validate() = %v, want ErrBinaryNotMessage", err)
	}
	if got := string(AppendPacket(nil, p)); got != "2probe" {
		t.Errorf("AppendPacket = %q, want %q", got, "2probe")
	}
	frame, binary := AppendFrame(nil, p)
	if string(frame) != "2probe" || binary {
		t.Errorf("AppendFrame = %q, %v; want %q, false", frame, binary, "2probe")
	}
	if err := (Packet{Type: 9}).Validate(); !errors.Is(err, ErrUnknownPacketType) {
		t.Errorf("Validate(type 9) = %v, want ErrUnknownPacketType", err)
	}
	for _, ok := range []Packet{TextMessage("x"), BinaryMessage([]byte{1}), text(Noop, "")} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%s) = %v", describe(ok), err)
		}
	}
}

func TestMessageConstructors(t *testing.T) {
	if p := TextMessage("hi"); p.Type != Message || p.Binary || string(p.Data) != "hi" {
		t.Errorf("TextMessage = %s", describe(p))
	}
	b := []byte{1, 2}
	p := BinaryMessage(b)
	if p.Type != Message || !p.Binary || &p.Data[0] != &b[0] {
		t.Errorf("BinaryMessage = %s, want b itself", describe(p))
	}
}

var packetErrorTests = []struct {
	wire   string
	err    error
	offset int
}{
	{"", ErrEmptyPacket, 0},
	{"7", ErrUnknownPacketType, 0},
	{"/", ErrUnknownPacketType, 0},
	{"abc", ErrUnknownPacketType, 0},
	{"B", ErrUnknownPacketType, 0},
	{"\x1e", ErrUnknownPacketType, 0},
	{"bA", ErrInvalidBase64, 2},          // truncated: the fault is the missing end
	{"bAQ=", ErrInvalidBase64, 4},        // one pad short
	{"bAQIDBA", ErrInvalidBase64, 7},     // unpadded
	{"bAQ*D", ErrInvalidBase64, 3},       // not in the alphabet
	{"bAQ-_", ErrInvalidBase64, 3},       // URL alphabet is not accepted
	{"bAR==", ErrInvalidBase64, 3},       // non-canonical: dropped bits set
	{"bAAB=", ErrInvalidBase64, 4},       // non-canonical, one pad
	{"b=AAA", ErrInvalidBase64, 1},       // padding first
	{"bA===", ErrInvalidBase64, 2},       // padding after one character
	{"bAA=A", ErrInvalidBase64, 4},       // data after padding
	{"bAA==AAAA", ErrInvalidBase64, 5},   // data after padding
	{"bAAA==", ErrInvalidBase64, 5},      // too much padding
	{"bAQID\nBA==", ErrInvalidBase64, 5}, // encoding/base64 skips newlines; we do not
	{"bAQIDBA==\r", ErrInvalidBase64, 9},
	{"b AQID", ErrInvalidBase64, 1},
}

func TestDecodePacketErrors(t *testing.T) {
	for _, tt := range packetErrorTests {
		p, err := DecodePacket([]byte(tt.wire))
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodePacket(%q) = %s, %v; want %v", tt.wire, describe(p), err, tt.err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("DecodePacket(%q) error %T is not a *SyntaxError", tt.wire, err)
			continue
		}
		if se.Offset != tt.offset {
			t.Errorf("DecodePacket(%q) offset = %d, want %d", tt.wire, se.Offset, tt.offset)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := DecodePacket([]byte("bAQ*D"))
	if got, want := err.Error(), "engineio/protocol: invalid base64 at offset 3"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = DecodePacket(nil)
	if got, want := err.Error(), "engineio/protocol: empty packet at offset 0"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&SyntaxError{Offset: 1}).Error(); got != "engineio/protocol: syntax error at offset 1" {
		t.Errorf("Error() without Err = %q", got)
	}
}

// Text data aliases the input but must not let an append by the caller
// overwrite what follows it.
func TestDecodePacketAliasing(t *testing.T) {
	in := []byte("4hello")
	p, err := DecodePacket(in)
	if err != nil {
		t.Fatal(err)
	}
	if &p.Data[0] != &in[1] {
		t.Error("text Data does not alias the input")
	}
	if cap(p.Data) != len(p.Data) {
		t.Errorf("cap(Data) = %d, want %d", cap(p.Data), len(p.Data))
	}

	in = []byte("bAQIDBA==")
	p, err = DecodePacket(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'B'
	if p.Data[0] != 1 {
		t.Error("binary Data changed with the input")
	}
}

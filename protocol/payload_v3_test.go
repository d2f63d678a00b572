package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Text payloads from the protocol notes (section 1.4) and the checklist
// (items 47, 48 and 50). Each wire form is the one AppendPayloadV3 writes.
var payloadV3Tests = []struct {
	name string
	wire string
	pkts []Packet
}{
	{"spec text", "6:4hello2:4€", []Packet{text(Message, "hello"), text(Message, "€")}},
	{"checklist 47: € counts 1", "2:4€", []Packet{text(Message, "€")}},
	{"non-BMP counts 2", "3:4😀", []Packet{text(Message, "😀")}},
	{"mixed widths", "5:4€😀é", []Packet{text(Message, "€😀é")}},
	{"checklist 48: base64", "10:b4AQIDBA==", []Packet{bin(1, 2, 3, 4)}},
	{"text and base64", "6:4hello10:b4AQIDBA==", []Packet{text(Message, "hello"), bin(1, 2, 3, 4)}},
	{"checklist 50: noop", "1:6", []Packet{text(Noop, "")}},
	{"v3 heartbeat", "1:26:3probe", []Packet{text(Ping, ""), text(Pong, "probe")}},
	{"empty message", "1:4", []Packet{text(Message, "")}},
	{"empty binary", "2:b4", []Packet{bin()}},
	{"two-digit length", "12:4hello world", []Packet{text(Message, "hello world")}},
	{"digits and colons are data", "5:41:4a", []Packet{text(Message, "1:4a")}},
	{"separator is data", "3:4a\x1e", []Packet{text(Message, "a\x1e")}},
	{"open", `14:0{"sid":"abc"}`, []Packet{text(Open, `{"sid":"abc"}`)}},
	{"empty list", "0:", nil},
}

func TestAppendPayloadV3(t *testing.T) {
	for _, tt := range payloadV3Tests {
		if got := string(AppendPayloadV3([]byte("x"), tt.pkts)); got != "x"+tt.wire {
			t.Errorf("%s: AppendPayloadV3 = %q, want %q", tt.name, got, "x"+tt.wire)
		}
	}
}

func TestAppendPayloadV3Long(t *testing.T) {
	data := strings.Repeat("€", 1000) + strings.Repeat("😀", 500)
	got := string(AppendPayloadV3(nil, []Packet{TextMessage(data)}))
	if want := "2001:4" + data; got != want {
		t.Errorf("AppendPayloadV3(long) header %q, want %q", got[:6], want[:6])
	}
}

// Invalid UTF-8 has no UTF-16 length: each bad byte is sent as U+FFFD and
// counted as one unit, so the payload stays decodable.
func TestAppendPayloadV3InvalidUTF8(t *testing.T) {
	pkts := []Packet{text(Message, "a\xffb"), text(Message, "\xe2\x82"), bin(0xff)}
	want := "4:4a\uFFFDb3:4\uFFFD\uFFFD6:b4/w=="
	got := AppendPayloadV3(nil, pkts)
	if string(got) != want {
		t.Fatalf("AppendPayloadV3 = %q, want %q", got, want)
	}
	dec, err := collectV3(got)
	if wantPkts := []Packet{text(Message, "a\uFFFDb"), text(Message, "\uFFFD\uFFFD"), bin(0xff)}; err != nil || !samePackets(dec, wantPkts) {
		t.Errorf("decoded [%s], %v; want [%s]", describe(dec...), err, describe(wantPkts...))
	}
}

func TestDecodePayloadV3(t *testing.T) {
	for _, tt := range payloadV3Tests {
		got, err := collectV3([]byte(tt.wire))
		if err != nil || !samePackets(got, tt.pkts) {
			t.Errorf("%s: DecodePayloadV3(%q) = [%s], %v; want [%s]", tt.name, tt.wire, describe(got...), err, describe(tt.pkts...))
		}
	}
	// Zero-length records carry nothing and are skipped, as in the
	// JavaScript parser.
	for _, tt := range []struct {
		wire string
		pkts []Packet
	}{
		{"0:0:", nil},
		{"0:1:40:", []Packet{text(Message, "")}},
		{"1:20:1:3", []Packet{text(Ping, ""), text(Pong, "")}},
	} {
		got, err := collectV3([]byte(tt.wire))
		if err != nil || !samePackets(got, tt.pkts) {
			t.Errorf("DecodePayloadV3(%q) = [%s], %v; want [%s]", tt.wire, describe(got...), err, describe(tt.pkts...))
		}
	}
}

var payloadV3ErrorTests = []wantError{
	{"", ErrEmptyPacket, 0},
	// Lengths that lie.
	{"6:4hell", ErrInvalidLength, 0},                // too long
	{"6:4hello3:4€", ErrInvalidLength, 8},           // too long, later on
	{"5:4hello", ErrInvalidLength, 7},               // too short: "o" is no header
	{"2:4😀", ErrInvalidLength, 0},                   // ends inside a surrogate pair
	{"3:4a😀", ErrInvalidLength, 0},                  // ... after other text
	{"99999999999999999999:4", ErrInvalidLength, 0}, // huge
	{"18446744073709551617:4", ErrInvalidLength, 0}, // 2^64+1, would wrap
	// Headers that are not numbers.
	{"x:4", ErrInvalidLength, 0},
	{"-1:4", ErrInvalidLength, 0},
	{"+1:4", ErrInvalidLength, 0},
	{" 1:4", ErrInvalidLength, 0},
	{"1 :4", ErrInvalidLength, 1},
	{"0x1:4", ErrInvalidLength, 1},
	{":4", ErrInvalidLength, 0},        // no digits
	{"06:4hello", ErrInvalidLength, 0}, // leading zero
	{"00:", ErrInvalidLength, 0},
	{"1", ErrInvalidLength, 1},         // no ':'
	{"6:4hello2", ErrInvalidLength, 8}, // trailing garbage that claims too much
	{"6:4hello1", ErrInvalidLength, 9}, // ... or fits but has no ':'
	{"1:4\xff", ErrInvalidLength, 3},   // a stray byte after a packet
	{"4hello", ErrInvalidLength, 1},    // a v4 payload ('h' ends the length)
	{"\x1e1:4", ErrInvalidLength, 0},   // v4 separator
	{"6:4hello\x1e1:4", ErrInvalidLength, 8},
	// Packets that are malformed.
	{"3:4a\xff", ErrInvalidUTF8, 4},
	{"3:4\xed\xa0\x80", ErrInvalidUTF8, 3}, // a surrogate half is not UTF-8
	{"1:9", ErrUnknownPacketType, 2},
	{"1:b", ErrUnknownPacketType, 3},
	{"2:bb", ErrUnknownPacketType, 3},
	{"2:b2", ErrBinaryNotMessage, 3}, // binary ping
	{"6:b4AQ*D", ErrInvalidBase64, 6},
	{"5:b4AQ=", ErrInvalidBase64, 7},             // truncated base64
	{"5:b4AR=", ErrInvalidBase64, 6},             // non-canonical
	{"9:bAQIDBA==", ErrUnknownPacketType, 3},     // v4 base64 has no type digit
	{"1:41:4x:4", ErrInvalidLength, 6},           // nothing delivered before
	{"10:b4AQIDBA==3:4\xff", ErrInvalidUTF8, 16}, // after a valid packet
}

func TestDecodePayloadV3Errors(t *testing.T) {
	checkDecodeErrors(t, "DecodePayloadV3", DecodePayloadV3, payloadV3ErrorTests)
}

// A lying length must not cost more than the body: a header claiming
// gigabytes is rejected after reading it, without allocating.
func TestDecodePayloadV3HugeLengthIsCheap(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	body := []byte("99999999999999999999999999999999999999:4hello")
	var err error
	if n := testing.AllocsPerRun(100, func() { err = DecodePayloadV3(body, func(Packet) error { return nil }) }); n > 1 {
		t.Errorf("DecodePayloadV3 of a huge length: %v allocs", n)
	}
	if !errors.Is(err, ErrInvalidLength) {
		t.Errorf("err = %v", err)
	}
}

func TestDecodePayloadV3StopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var seen []Packet
	err := DecodePayloadV3([]byte("2:4a2:4b2:4c"), func(p Packet) error {
		seen = append(seen, p)
		if string(p.Data) == "b" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("err = %v, want the callback's error unwrapped", err)
	}
	if want := []Packet{text(Message, "a"), text(Message, "b")}; !samePackets(seen, want) {
		t.Errorf("seen [%s], want [%s]", describe(seen...), describe(want...))
	}
}

func TestDecodePayloadV3Aliasing(t *testing.T) {
	in := []byte("3:4ab3:4cd")
	got, err := collectV3(in)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0].Data[0] != &in[3] {
		t.Error("text Data does not alias the payload")
	}
	_ = append(got[0].Data, 'X')
	if in[5] != '3' {
		t.Errorf("append to Data overwrote the payload: %q", in)
	}
}

// The XHR2 example of the v3 suite (checklist 48): text "4hello" then the
// binary message 01 02 03 04.
var xhr2Example = []byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4}

var binaryPayloadV3Tests = []struct {
	name string
	wire []byte
	pkts []Packet
}{
	{"v3 suite example", xhr2Example, []Packet{text(Message, "hello"), bin(1, 2, 3, 4)}},
	{"noop", []byte{0, 1, 255, '6'}, []Packet{text(Noop, "")}},
	{"empty binary", []byte{1, 1, 255, 4}, []Packet{bin()}},
	{"utf-8 counts bytes", []byte{0, 4, 255, '4', 0xe2, 0x82, 0xac}, []Packet{text(Message, "€")}},
	{"non-BMP counts bytes", []byte{0, 5, 255, '4', 0xf0, 0x9f, 0x98, 0x80}, []Packet{text(Message, "😀")}},
	{"two digits", append([]byte{1, 1, 1, 255, 4}, "0123456789"...), []Packet{bin([]byte("0123456789")...)}},
	{"digit bytes are data", []byte{1, 3, 255, 4, 255, 0}, []Packet{bin(255, 0)}},
	{"binary ping is text", []byte{0, 6, 255, '2', 'p', 'r', 'o', 'b', 'e'}, []Packet{text(Ping, "probe")}},
}

func TestAppendBinaryPayloadV3(t *testing.T) {
	for _, tt := range binaryPayloadV3Tests {
		got := AppendBinaryPayloadV3([]byte("x"), tt.pkts)
		if want := append([]byte("x"), tt.wire...); !bytes.Equal(got, want) {
			t.Errorf("%s: AppendBinaryPayloadV3 = % x, want % x", tt.name, got, want)
		}
	}
	if got := AppendBinaryPayloadV3([]byte("x"), nil); string(got) != "x" {
		t.Errorf("AppendBinaryPayloadV3(no packets) = %q, want dst unchanged", got)
	}
	// Binary is meaningful only on a message: a binary ping goes as text.
	got := AppendBinaryPayloadV3(nil, []Packet{{Type: Ping, Data: []byte("probe"), Binary: true}})
	if want := binaryPayloadV3Tests[len(binaryPayloadV3Tests)-1].wire; !bytes.Equal(got, want) {
		t.Errorf("binary ping = % x, want % x", got, want)
	}
	long := bytes.Repeat([]byte{7}, 12345)
	got = AppendBinaryPayloadV3(nil, []Packet{BinaryMessage(long)})
	if want := []byte{1, 1, 2, 3, 4, 6, 255, 4}; !bytes.Equal(got[:8], want) {
		t.Errorf("header of a 12345-byte message = % x, want % x", got[:8], want)
	}
}

func TestDecodeBinaryPayloadV3(t *testing.T) {
	for _, tt := range binaryPayloadV3Tests {
		got, err := collectBinaryV3(tt.wire)
		if err != nil || !samePackets(got, tt.pkts) {
			t.Errorf("%s: DecodeBinaryPayloadV3(% x) = [%s], %v; want [%s]", tt.name, tt.wire, describe(got...), err, describe(tt.pkts...))
		}
	}
	// A string record may hold the base64 form, as the JavaScript parser
	// allows.
	got, err := collectBinaryV3(append([]byte{0, 1, 0, 255}, "b4AQIDBA=="...))
	if want := []Packet{bin(1, 2, 3, 4)}; err != nil || !samePackets(got, want) {
		t.Errorf("base64 in a string record = [%s], %v", describe(got...), err)
	}
}

var binaryPayloadV3ErrorTests = []wantError{
	{"", ErrEmptyPacket, 0},
	{"\x02\x01\xff4", ErrInvalidLength, 0},          // kind is neither 0 nor 1
	{"\x00\x0a\xff4hello6789", ErrInvalidLength, 1}, // digit byte 10
	{"\x00\x064hello", ErrInvalidLength, 2},         // no 0xFF: '4' is no digit
	{"\x00\x01", ErrInvalidLength, 2},               // no 0xFF at all
	{"\x00", ErrInvalidLength, 1},                   // nothing after the kind
	{"\x00\xff4", ErrInvalidLength, 1},              // no digits
	{"\x00\x00\x06\xff4hello", ErrInvalidLength, 1}, // leading zero
	{"\x00\x07\xff4hello", ErrInvalidLength, 1},     // beyond the body
	{"\x01\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\x09\xff\x04", ErrInvalidLength, 1}, // huge
	{"\x00\x00\xff", ErrEmptyPacket, 3}, // length zero
	{"\x01\x00\xff", ErrEmptyPacket, 3},
	{"\x01\x01\xff\x02", ErrBinaryNotMessage, 3},  // binary ping
	{"\x01\x01\xff\x07", ErrUnknownPacketType, 3}, // no type 7
	{"\x01\x01\xff4", ErrUnknownPacketType, 3},    // ASCII '4' is not the raw type
	{"\x00\x01\xff9", ErrUnknownPacketType, 3},
	{"\x00\x03\xffb4*", ErrInvalidBase64, 5},
	{"\x00\x01\xff4\x07", ErrInvalidLength, 4},                         // nothing delivered before
	{"\x00\x01\xff4\x01\x05\xff\x04\x01\x02\x03", ErrInvalidLength, 5}, // last record short
}

func TestDecodeBinaryPayloadV3Errors(t *testing.T) {
	checkDecodeErrors(t, "DecodeBinaryPayloadV3", DecodeBinaryPayloadV3, binaryPayloadV3ErrorTests)
}

func TestDecodeBinaryPayloadV3StopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := DecodeBinaryPayloadV3(append(xhr2Example, xhr2Example...), func(Packet) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("err = %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func TestDecodeBinaryPayloadV3Aliasing(t *testing.T) {
	in := append([]byte{}, xhr2Example...)
	got, err := collectBinaryV3(in)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0].Data[0] != &in[4] || &got[1].Data[0] != &in[13] {
		t.Error("Data does not alias the payload")
	}
	_ = append(got[0].Data, 'X')
	if in[9] != 1 {
		t.Errorf("append to Data overwrote the payload: % x", in)
	}
}

func TestPayloadV3Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	pkts := []Packet{text(Message, "hello €😀"), text(Ping, ""), bin(1, 2, 3, 4), text(Message, "bad \xff")}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendPayloadV3(buf[:0], pkts) }); n != 0 {
		t.Errorf("AppendPayloadV3 with capacity: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendBinaryPayloadV3(buf[:0], pkts) }); n != 0 {
		t.Errorf("AppendBinaryPayloadV3 with capacity: %v allocs, want 0", n)
	}
	fn := func(Packet) error { return nil }
	wire := []byte("6:4hello2:4€1:26:3probe")
	if n := testing.AllocsPerRun(100, func() { _ = DecodePayloadV3(wire, fn) }); n != 0 {
		t.Errorf("DecodePayloadV3 of text: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = DecodeBinaryPayloadV3(xhr2Example, fn) }); n != 0 {
		t.Errorf("DecodeBinaryPayloadV3: %v allocs, want 0", n)
	}
}

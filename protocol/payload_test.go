package protocol

import (
	"errors"
	"testing"
)

// Examples from the protocol specification (section 1.4) and the conformance
// checklist (items 14, 16 and 17).
var payloadTests = []struct {
	name string
	wire string
	pkts []Packet
}{
	{"spec text", "4hello\x1e2\x1e4world", []Packet{text(Message, "hello"), text(Ping, ""), text(Message, "world")}},
	{"spec binary", "4hello\x1ebAQIDBA==", []Packet{text(Message, "hello"), bin(1, 2, 3, 4)}},
	{"checklist 16 echo", "4test1\x1e4test2\x1e4test3", []Packet{text(Message, "test1"), text(Message, "test2"), text(Message, "test3")}},
	{"single packet", "4hello", []Packet{text(Message, "hello")}},
	{"control packets", "2probe\x1e6\x1e1", []Packet{text(Ping, "probe"), text(Noop, ""), text(Close, "")}},
	{"binary only", "bAQ==\x1eb\x1ebAAA=", []Packet{bin(1), bin(), bin(0, 0)}},
	{"empty messages", "4\x1e4", []Packet{text(Message, ""), text(Message, "")}},
	{"utf-8", "4€\x1e4😀", []Packet{text(Message, "€"), text(Message, "😀")}},
}

func TestAppendPayload(t *testing.T) {
	for _, tt := range payloadTests {
		if got := string(AppendPayload(nil, tt.pkts)); got != tt.wire {
			t.Errorf("%s: AppendPayload = %q, want %q", tt.name, got, tt.wire)
		}
	}
	if got := AppendPayload([]byte("x"), nil); string(got) != "x" {
		t.Errorf("AppendPayload(no packets) = %q, want dst unchanged", got)
	}
}

func TestDecodePayload(t *testing.T) {
	for _, tt := range payloadTests {
		got, err := collect([]byte(tt.wire))
		if err != nil || !samePackets(got, tt.pkts) {
			t.Errorf("%s: DecodePayload(%q) = [%s], %v; want [%s]", tt.name, tt.wire, describe(got...), err, describe(tt.pkts...))
		}
	}
}

var payloadErrorTests = []struct {
	wire   string
	err    error
	offset int
}{
	{"", ErrEmptyPacket, 0},                   // an empty body is not a payload
	{"4a\x1e\x1e4b", ErrEmptyPacket, 3},       // empty record between separators
	{"\x1e4a", ErrEmptyPacket, 0},             // leading separator
	{"4a\x1e", ErrEmptyPacket, 3},             // trailing separator
	{"abc", ErrUnknownPacketType, 0},          // checklist 20
	{"4hello\x1e9", ErrUnknownPacketType, 7},  // offsets count from the payload start
	{"4hello\x1ebAQ*D", ErrInvalidBase64, 10}, // ... into the base64 too
	{"4a\x1ebAQ=\x1e4b", ErrInvalidBase64, 7}, // truncated base64 ends at the record end
	{"4a\x1ebAQIDBA==\x1e7", ErrUnknownPacketType, 13},
}

func TestDecodePayloadErrors(t *testing.T) {
	for _, tt := range payloadErrorTests {
		calls := 0
		err := DecodePayload([]byte(tt.wire), func(Packet) error {
			calls++
			return nil
		})
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodePayload(%q) = %v, want %v", tt.wire, err, tt.err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Offset != tt.offset {
			t.Errorf("DecodePayload(%q) = %v, want offset %d", tt.wire, err, tt.offset)
		}
		// A malformed payload delivers nothing, so the server never acts
		// on half a request it is about to reject.
		if calls != 0 {
			t.Errorf("DecodePayload(%q) called fn %d times before failing", tt.wire, calls)
		}
	}
}

func TestDecodePayloadStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var seen []Packet
	err := DecodePayload([]byte("4a\x1e4b\x1e4c"), func(p Packet) error {
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

func TestDecodePayloadAliasing(t *testing.T) {
	in := []byte("4ab\x1e4cd")
	got, err := collect(in)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0].Data[0] != &in[1] {
		t.Error("text Data does not alias the payload")
	}
	// Appending to the first packet's data must not eat the separator.
	_ = append(got[0].Data, 'X')
	if in[3] != RecordSeparator {
		t.Errorf("append to Data overwrote the payload: %q", in)
	}
}

// The separator is not escaped (as in every reference implementation); this
// documents what a caller gets if it sends 0x1e inside text.
func TestAppendPayloadSeparatorInText(t *testing.T) {
	wire := AppendPayload(nil, []Packet{text(Message, "a\x1e4b")})
	got, err := collect(wire)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Packet{text(Message, "a"), text(Message, "b")}; !samePackets(got, want) {
		t.Errorf("got [%s], want [%s]", describe(got...), describe(want...))
	}
}

func TestPayloadAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	pkts := []Packet{text(Message, "hello"), text(Ping, ""), bin(1, 2, 3, 4)}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendPayload(buf[:0], pkts) }); n != 0 {
		t.Errorf("AppendPayload with capacity: %v allocs, want 0", n)
	}
	wire := []byte("4hello\x1e2\x1e4world\x1e3probe")
	count := 0
	fn := func(Packet) error { count++; return nil }
	if n := testing.AllocsPerRun(100, func() { _ = DecodePayload(wire, fn) }); n != 0 {
		t.Errorf("DecodePayload of text: %v allocs, want 0", n)
	}
}

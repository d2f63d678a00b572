package protocol

import (
	"math"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// The revision 3 text form of one packet: the type digit follows 'b'.
var packetV3Tests = []struct {
	wire string
	pkt  Packet
}{
	{"4hello", text(Message, "hello")},
	{"2probe", text(Ping, "probe")},
	{"3", text(Pong, "")},
	{"6", text(Noop, "")},
	{"4€😀", text(Message, "€😀")},
	{"b4AQIDBA==", bin(1, 2, 3, 4)},
	{"b4", bin()},
	{"b4+/+/", bin(0xfb, 0xff, 0xbf)},
}

func TestAppendPacketV3(t *testing.T) {
	for _, tt := range packetV3Tests {
		if got := string(AppendPacketV3([]byte("x"), tt.pkt)); got != "x"+tt.wire {
			t.Errorf("AppendPacketV3(%s) = %q, want %q", describe(tt.pkt), got, "x"+tt.wire)
		}
	}
	// Binary is meaningful only on a message.
	if got := string(AppendPacketV3(nil, Packet{Type: Ping, Data: []byte("probe"), Binary: true})); got != "2probe" {
		t.Errorf("binary ping = %q, want text", got)
	}
}

// utf16Units is the definition utf16Len must agree with: the length of the
// JavaScript string the bytes decode to, each invalid byte becoming U+FFFD.
func utf16Units(s []byte) int {
	return len(utf16.Encode([]rune(string(s))))
}

var utf16Tests = []string{
	"", "a", "hello", "€", "😀", "a😀b€c", "0123456789abcdef€0123456789😀",
	"é", "\u2028", "\U0010FFFF", "\xff", "a\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"long ascii run before a multibyte char: €",
}

func TestUTF16Len(t *testing.T) {
	for _, s := range utf16Tests {
		checkUTF16(t, []byte(s))
	}
}

func checkUTF16(t *testing.T, s []byte) {
	t.Helper()
	units, size := utf16Len(s)
	if want := utf16Units(s); units != want {
		t.Fatalf("utf16Len(%q) units = %d, want %d", s, units, want)
	}
	fixed := appendValidUTF8(nil, s)
	if size != len(fixed) || !utf8.Valid(fixed) || (size == len(s)) != utf8.Valid(s) {
		t.Fatalf("utf16Len(%q) size = %d, appendValidUTF8 = %q", s, size, fixed)
	}
	if string(fixed) != string([]rune(string(s))) {
		t.Fatalf("appendValidUTF8(%q) = %q, want U+FFFD per invalid byte", s, fixed)
	}
	// utf16Span inverts utf16Len on valid text, whatever follows it.
	withTail := append(append([]byte{}, fixed...), "9:tail"...)
	n, fault := utf16Span(withTail, units)
	if fault != spanOK || n != len(fixed) {
		t.Fatalf("utf16Span(%q, %d) = %d, %d; want %d", withTail, units, n, fault, len(fixed))
	}
	if _, fault := utf16Span(fixed, units+1); fault != spanShort {
		t.Fatalf("utf16Span(%q, %d) = %d, want spanShort", fixed, units+1, fault)
	}
}

func TestUTF16SpanFaults(t *testing.T) {
	for _, tt := range []struct {
		in    string
		n     int
		size  int
		fault spanFault
	}{
		{"4😀", 2, 1, spanSplit},
		{"4😀", 3, 5, spanOK},
		{"😀", 1, 0, spanSplit},
		{"4abc", 5, 4, spanShort},
		{"4a\xffb", 4, 2, spanBadUTF8},
		{"4a\xffb", 2, 2, spanOK}, // the invalid byte is past the span
		{"0123456789\xe2\x82", 12, 10, spanBadUTF8},
		{"", 0, 0, spanOK},
	} {
		size, fault := utf16Span([]byte(tt.in), tt.n)
		if size != tt.size || fault != tt.fault {
			t.Errorf("utf16Span(%q, %d) = %d, %d; want %d, %d", tt.in, tt.n, size, fault, tt.size, tt.fault)
		}
	}
}

func FuzzUTF16Len(f *testing.F) {
	for _, s := range utf16Tests {
		f.Add([]byte(s))
	}
	f.Fuzz(checkUTF16)
}

func TestDecimalLen(t *testing.T) {
	// The largest int is 19 digits long with 64 bits, 10 with 32.
	for _, n := range []int{0, 9, 10, 99, 100, math.MaxInt32, math.MaxInt} {
		if got, want := decimalLen(n), len(strconv.Itoa(n)); got != want {
			t.Errorf("decimalLen(%d) = %d, want %d", n, got, want)
		}
	}
}

package pack

import (
	"strings"
	"testing"
	"unsafe"
)

// The copies are equal to the strings and lie, one after the other, in
// one block that is not the one the strings came from.
func TestStrings(t *testing.T) {
	block := "Host: a\r\nOrigin: https://b\r\nX-Empty: \r\n"
	ss := []string{block[6:7], block[17:26], "", block[9:15]}
	want := append([]string(nil), ss...)
	Strings(ss)
	for i := range ss {
		if ss[i] != want[i] {
			t.Fatalf("ss[%d] = %q, want %q", i, ss[i], want[i])
		}
	}
	in := func(s, b string) bool {
		p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(b)))
		return p >= start && p < start+uintptr(len(b))
	}
	for i, s := range ss {
		if s != "" && in(s, block) {
			t.Fatalf("ss[%d] still points into the block it came from", i)
		}
	}
	joined := strings.Join(ss, "")
	first := unsafe.StringData(ss[0])
	if got := unsafe.String(first, len(joined)); got != joined {
		t.Fatalf("the copies are not one block: %q, want %q", got, joined)
	}
}

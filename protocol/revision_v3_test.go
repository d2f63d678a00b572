package protocol

import "testing"

func TestParseRevision(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Revision
		ok   bool
	}{
		{"3", V3, true},
		{"4", V4, true},
		{"", 0, false},
		{"2", 0, false},
		{"5", 0, false},
		{"03", 0, false},
		{"4 ", 0, false},
		{" 3", 0, false},
		{"4.0", 0, false},
		{"abc", 0, false},
		{"٣", 0, false}, // Arabic-Indic digit three
	} {
		if got, ok := ParseRevision(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("ParseRevision(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if V3 != 3 || V4 != 4 {
		t.Errorf("V3, V4 = %d, %d; want the EIO values 3, 4", V3, V4)
	}
}

package protocol

import (
	"bytes"
	"encoding/base64"
	"testing"
)

var base64Tests = []string{
	"", "AA==", "AAA=", "AAAA", "AQIDBA==", "+/+/",
	"A", "AA", "AAA", "AA=", "A===", "====", "AR==", "AAB=", "AA==AA==",
	"AQID\nBA==", "AQIDBA==\r\n", "AQ-_", "AQ*D", "=AAA", "AA=A",
}

func TestCheckBase64MatchesEncoding(t *testing.T) {
	for _, s := range base64Tests {
		checkBase64Agrees(t, []byte(s))
	}
}

// checkBase64Agrees holds checkBase64 to encoding/base64's strict decoder,
// except that line breaks, which the decoder skips, are rejected, and checks
// that accepted input re-encodes to itself.
func checkBase64Agrees(t *testing.T, s []byte) {
	t.Helper()
	off := checkBase64(s)
	_, err := strictBase64.DecodeString(string(s))
	stdOK := err == nil && !bytes.ContainsAny(s, "\r\n")
	if (off < 0) != stdOK {
		t.Fatalf("checkBase64(%q) = %d, encoding/base64 strict ok = %v (%v)", s, off, stdOK, err)
	}
	if off > len(s) {
		t.Fatalf("checkBase64(%q) = %d, beyond the input", s, off)
	}
	data, err := decodeBase64(s, 0)
	if (err == nil) != (off < 0) {
		t.Fatalf("decodeBase64(%q) = %v, checkBase64 = %d", s, err, off)
	}
	if err == nil {
		if re := base64.StdEncoding.EncodeToString(data); re != string(s) {
			t.Fatalf("decodeBase64(%q) re-encodes to %q", s, re)
		}
		if cap(data) != len(data) {
			t.Fatalf("decodeBase64(%q): cap %d, len %d", s, cap(data), len(data))
		}
	}
}

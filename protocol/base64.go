package protocol

import (
	"encoding/base64"
	"errors"
)

// strictBase64 is built once: Strict returns a pointer to a copy, which would
// otherwise allocate on every call.
var strictBase64 = base64.StdEncoding.Strict()

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// base64Value maps a byte to its 6-bit value, or 0xff outside the alphabet.
var base64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := range len(base64Alphabet) {
		t[base64Alphabet[i]] = byte(i)
	}
	return t
}()

// checkBase64 returns -1 if s is standard, padded, canonical base64, else the
// offset of the first byte that cannot start a valid continuation of s[:off]
// (len(s) when s is merely truncated).
//
// It exists so DecodePayload can validate a whole payload before delivering
// any packet without allocating, and so that offsets do not depend on how
// encoding/base64 reports them. encoding/base64 silently skips '\r' and '\n';
// this check does not, so accepted input re-encodes to exactly the same bytes.
func checkBase64(s []byte) int {
	n := len(s)
	i := 0
	for i < n && base64Value[s[i]] != 0xff {
		i++
	}
	if i == n {
		if n%4 != 0 {
			return n
		}
		return -1
	}
	if s[i] != '=' {
		return i
	}
	switch i % 4 {
	case 2: // one byte in the last group: "xx=="
		if base64Value[s[i-1]]&0x0f != 0 {
			return i // non-canonical: the dropped bits must be zero
		}
		if i+1 == n {
			return n
		}
		if s[i+1] != '=' {
			return i + 1
		}
		if i+2 != n {
			return i + 2
		}
		return -1
	case 3: // two bytes in the last group: "xxx="
		if base64Value[s[i-1]]&0x03 != 0 {
			return i
		}
		if i+1 != n {
			return i + 1
		}
		return -1
	default: // padding cannot start a group or follow a single character
		return i
	}
}

// decodeBase64 decodes s into a new slice of exactly the decoded length.
// base is the offset of s in the caller's input, for error reporting.
func decodeBase64(s []byte, base int) ([]byte, error) {
	if off := checkBase64(s); off >= 0 {
		return nil, syntaxError(base+off, ErrInvalidBase64)
	}
	size := len(s) / 4 * 3
	if len(s) > 0 {
		if s[len(s)-1] == '=' {
			size--
		}
		if s[len(s)-2] == '=' {
			size--
		}
	}
	dst := make([]byte, size)
	n, err := strictBase64.Decode(dst, s)
	if err != nil {
		// Unreachable while checkBase64 agrees with encoding/base64 (the
		// fuzz tests check that); kept so a disagreement is an error, not
		// corrupt data.
		off := 0
		var cie base64.CorruptInputError
		if errors.As(err, &cie) {
			off = int(cie)
		}
		return nil, syntaxError(base+off, ErrInvalidBase64)
	}
	return dst[:n:n], nil
}

package protocol

import "bytes"

// maxJSONPIndexLen bounds the JSONP index: ten digits cover every index a
// client's array of pending requests can reach, and keep the response head
// short.
const maxJSONPIndexLen = 10

// ValidJSONPIndex reports whether j, the value of the j query parameter of
// a revision 3 JSONP request, is an index this package will write back: 1
// to 10 ASCII digits, leading zeros allowed. A server should answer an
// invalid index with 400 rather than guess, as python-engineio does (the
// JavaScript server strips the non-digits instead).
func ValidJSONPIndex(j string) bool {
	if len(j) == 0 || len(j) > maxJSONPIndexLen {
		return false
	}
	for i := range len(j) {
		if j[i] < '0' || j[i] > '9' {
			return false
		}
	}
	return true
}

// AppendJSONP appends the JSONP response for a revision 3 polling GET to
// dst:
//
//	___eio[<index>]("<payload>");
//
// where payload, a text payload from [AppendPayloadV3], is written as a
// JSON string literal. The literal is escaped as encoding/json escapes it:
// double quote, backslash and control characters; '<', '>' and '&' (as
// \u003c and so on, where the JavaScript server leaves them raw: the script
// evaluates to the same string); U+2028 and U+2029, which JSON allows raw
// but older JavaScript engines end a string at; and each invalid UTF-8 byte,
// as \ufffd. The response must be served as text/javascript; charset=UTF-8.
//
// Only the ASCII digits of index are written, as the JavaScript server
// does, so that an index the caller forgot to check with [ValidJSONPIndex]
// cannot inject script.
func AppendJSONP(dst []byte, index string, payload []byte) []byte {
	dst = append(dst, "___eio["...)
	for i := range len(index) {
		if c := index[i]; c >= '0' && c <= '9' {
			dst = append(dst, c)
		}
	}
	dst = append(dst, "]("...)
	dst = appendJSONString(dst, payload)
	return append(dst, ");"...)
}

// DecodeJSONPBody returns the text payload carried by the body of a
// revision 3 JSONP POST, which the client submits as an HTML form
// (application/x-www-form-urlencoded) with the payload in the field d. Pass
// the result to [DecodePayloadV3].
//
// The body is split into fields at '&' and each field into name and value
// at the first '='. Names and values are percent-decoded, '+' standing for
// a space; a '%' that is not followed by two hex digits, in a name or in
// the d value, is ErrInvalidJSONP (the JavaScript server's querystring
// leaves it as is instead). Exactly one field must be named d; none, or
// more than one (which the JavaScript server silently ignores), is
// ErrInvalidJSONP too. Other fields' values are skipped unchecked.
//
// Then the newlines are restored. A form submission turns a line feed in a
// text field into CR LF, so the client escapes them before submitting: it
// first turns every backslash-n pair of its payload (the two characters \n,
// as in a JSON-escaped line break) into backslash, backslash, n, then every
// line feed into backslash-n. This function undoes that exactly as the
// JavaScript server's polling-jsonp transport does, in one left-to-right
// scan of the decoded value:
//
//   - the three bytes \\n (backslash, backslash, 'n') become \n
//     (backslash, 'n');
//   - any other two bytes \n (backslash, 'n') become a line feed (0x0A);
//   - every other byte is kept.
//
// So `a\nb` yields "a" LF "b" and `a\\nb` yields `a\nb`. The scheme cannot
// express a backslash followed by a line feed in the original payload: the
// client sends it as \\n too, and it comes back as backslash-n, as it does
// from the JavaScript server.
//
// The result is a new slice that does not alias body. Errors are
// [*SyntaxError] values with offsets into body; a missing d field is
// reported at len(body).
func DecodeJSONPBody(body []byte) ([]byte, error) {
	dField, valueOff := -1, 0 // where the d field starts, and its value
	var raw []byte
	for start := 0; start <= len(body); {
		end := len(body)
		if i := bytes.IndexByte(body[start:], '&'); i >= 0 {
			end = start + i
		}
		field := body[start:end]
		name, val, hasValue := bytes.Cut(field, []byte{'='})
		if off := checkFormEscapes(name); off >= 0 {
			return nil, syntaxError(start+off, ErrInvalidJSONP)
		}
		if isFormNameD(name) {
			if dField >= 0 {
				return nil, syntaxError(start, ErrInvalidJSONP) // a second d
			}
			dField, raw = start, val
			if hasValue {
				valueOff = start + len(name) + 1
			}
		}
		start = end + 1
	}
	if dField < 0 {
		return nil, syntaxError(len(body), ErrInvalidJSONP)
	}
	out, off := appendFormUnescaped(make([]byte, 0, len(raw)), raw)
	if off >= 0 {
		return nil, syntaxError(valueOff+off, ErrInvalidJSONP)
	}
	return unescapeJSONPNewlines(out), nil
}

// isFormNameD reports whether a form field name decodes to "d": "d" itself
// or its percent-encoding "%64" (the hex digits of 'd' have no case).
func isFormNameD(name []byte) bool {
	return string(name) == "d" || string(name) == "%64"
}

// checkFormEscapes returns the offset of the first '%' in s that is not
// followed by two hex digits, or -1.
func checkFormEscapes(s []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(s[i:], '%')
		if j < 0 {
			return -1
		}
		i += j
		if i+2 >= len(s) || hexValue[s[i+1]]|hexValue[s[i+2]] == 0xff {
			return i
		}
		i += 3
	}
}

// appendFormUnescaped appends s percent-decoded, with '+' as a space. It
// returns the offset in s of the first '%' not followed by two hex digits,
// or -1. Runs of plain bytes are copied whole.
func appendFormUnescaped(dst, s []byte) ([]byte, int) {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != '%' && s[j] != '+' {
			j++
		}
		dst = append(dst, s[i:j]...)
		switch {
		case j == len(s):
			return dst, -1
		case s[j] == '+':
			dst = append(dst, ' ')
			i = j + 1
		default:
			if j+2 >= len(s) {
				return dst, j
			}
			hi, lo := hexValue[s[j+1]], hexValue[s[j+2]]
			if hi|lo == 0xff {
				return dst, j
			}
			dst = append(dst, hi<<4|lo)
			i = j + 3
		}
	}
	return dst, -1
}

// hexValue maps a byte to its value as a hex digit, or 0xff. A valid value
// has its high nibble clear, so hi|lo == 0xff exactly when one is invalid.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
		if c >= 'a' {
			t[c-'a'+'A'] = byte(i)
		}
	}
	return t
}()

// unescapeJSONPNewlines undoes the JSONP client's newline escaping in place
// and returns the shortened s.
//
// The JavaScript server does it with two regular expressions applied in
// turn: /(\\)?\\n/g keeps \\n and turns \n into a line feed, then /\\\\n/g
// turns \\n into \n. The second pass can only match what the first kept
// (an 'n' the first pass left alone is never preceded by a backslash it
// left alone), so one scan that tries \\n before \n is equivalent; the
// tests check it against a literal transcription of the two passes.
func unescapeJSONPNewlines(s []byte) []byte {
	r := bytes.IndexByte(s, '\\')
	if r < 0 {
		return s[:len(s):len(s)]
	}
	w := r
	for r < len(s) {
		// s[r] is a backslash.
		switch {
		case r+2 < len(s) && s[r+1] == '\\' && s[r+2] == 'n':
			s[w], s[w+1] = '\\', 'n'
			w += 2
			r += 3
		case r+1 < len(s) && s[r+1] == 'n':
			s[w] = '\n'
			w++
			r += 2
		default:
			s[w] = '\\'
			w++
			r++
		}
		// Copy the run up to the next backslash.
		next := len(s)
		if i := bytes.IndexByte(s[r:], '\\'); i >= 0 {
			next = r + i
		}
		w += copy(s[w:], s[r:next])
		r = next
	}
	return s[:w:w]
}

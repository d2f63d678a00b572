package protocol

import (
	"encoding/base64"
	"slices"
	"strconv"
)

// emptyPayloadV3 is the text payload of no packets, as the JavaScript
// server writes it: one record of length zero.
const emptyPayloadV3 = "0:"

// AppendPayloadV3 appends the revision 3 text payload for pkts to dst: for
// each packet, its length, ':' and its text form (see [AppendPacketV3]),
// with nothing between records: "6:4hello2:4€". A binary message travels as
// base64 ("10:b4AQIDBA=="). This is the polling format for a client that
// sent b64=1, or when no packet is binary, and the body inside a JSONP
// response. It grows dst at most once.
//
// The length counts UTF-16 code units, as JavaScript's String.length does:
// one for each character of the Basic Multilingual Plane ("€" counts 1) and
// two for each character beyond it ("😀" counts 2). Because a length is
// only meaningful for valid UTF-8, each byte of text Data that is not part
// of a valid UTF-8 sequence is written as U+FFFD (one per byte, as
// utf8.DecodeRune reports them) and counted as one unit: the payload is
// always well formed, and [DecodePayloadV3] accepts it. Valid UTF-8 is
// written verbatim. No separator needs escaping, since lengths delimit the
// records.
//
// An empty pkts appends "0:", the empty payload of the JavaScript server.
func AppendPayloadV3(dst []byte, pkts []Packet) []byte {
	if len(pkts) == 0 {
		return append(dst, emptyPayloadV3...)
	}
	n := 0
	for _, p := range pkts {
		units, size := packetLenV3(p)
		n += decimalLen(units) + 1 + size
	}
	dst = slices.Grow(dst, n)
	for _, p := range pkts {
		if p.isBinary() {
			dst = strconv.AppendInt(dst, int64(2+base64.StdEncoding.EncodedLen(len(p.Data))), 10)
			dst = append(dst, ':')
			dst = AppendPacketV3(dst, p)
			continue
		}
		units, size := utf16Len(p.Data)
		dst = strconv.AppendInt(dst, int64(1+units), 10)
		dst = append(dst, ':', '0'+byte(p.Type))
		if size == len(p.Data) {
			dst = append(dst, p.Data...)
		} else {
			dst = appendValidUTF8(dst, p.Data)
		}
	}
	return dst
}

// packetLenV3 returns the length header AppendPayloadV3 writes for p, in
// UTF-16 code units, and the number of bytes of the packet after it.
func packetLenV3(p Packet) (units, size int) {
	if p.isBinary() {
		n := 2 + base64.StdEncoding.EncodedLen(len(p.Data))
		return n, n
	}
	units, size = utf16Len(p.Data)
	return 1 + units, 1 + size
}

// DecodePayloadV3 decodes a revision 3 text payload ("<length>:<packet>"
// repeated, see [AppendPayloadV3]) and calls fn for each packet in order. If
// fn returns an error, decoding stops and that error is returned as is.
//
// As with [DecodePayload], the whole payload is validated before fn is first
// called, so a malformed payload delivers no packet. Lengths must be
// canonical decimal numbers and must count the UTF-16 code units of their
// packet exactly; the text must be valid UTF-8 (ErrInvalidUTF8), since its
// length is otherwise undefined. A record of length zero carries no packet
// and is skipped, as the JavaScript parser does, so "0:" is a valid, empty
// payload; an empty body is ErrEmptyPacket. A binary packet is 'b', the type
// digit 4 and canonical base64 (a type other than message is
// ErrBinaryNotMessage). Errors are [*SyntaxError] values whose offsets count
// from the start of b; a length that does not fit its data is reported at
// its first digit.
//
// The Data of text packets aliases b; the data of binary messages is newly
// allocated. Decoding text allocates nothing. Work and memory are bounded
// by len(b), whatever the lengths claim.
func DecodePayloadV3(b []byte, fn func(Packet) error) error {
	if err := checkPayloadV3(b); err != nil {
		return err
	}
	for start := 0; start < len(b); {
		ps, pe, err := nextRecordV3(b, start)
		if err != nil {
			return err // unreachable after checkPayloadV3, kept for safety
		}
		start = pe
		if ps == pe {
			continue
		}
		p, err := decodePacketV3(b[ps:pe], ps)
		if err != nil {
			return err // unreachable too
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// checkPayloadV3 reports the first syntax error in b without allocating.
func checkPayloadV3(b []byte) error {
	if len(b) == 0 {
		return syntaxError(0, ErrEmptyPacket)
	}
	for start := 0; start < len(b); {
		ps, pe, err := nextRecordV3(b, start)
		if err != nil {
			return err
		}
		if ps < pe {
			if err := checkPacketV3(b[ps:pe], ps); err != nil {
				return err
			}
		}
		start = pe
	}
	return nil
}

// nextRecordV3 parses the length header of the text record at b[start:]
// and returns the bounds of its packet, b[ps:pe] (empty for a zero length).
func nextRecordV3(b []byte, start int) (ps, pe int, err error) {
	n := 0
	i := start
	for ; i < len(b) && b[i] != ':'; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, 0, syntaxError(i, ErrInvalidLength)
		}
		if i > start && b[start] == '0' {
			return 0, 0, syntaxError(start, ErrInvalidLength) // leading zero
		}
		// A code unit takes at least one byte, so a length beyond the
		// bytes left is a lie: stop before it can overflow.
		n = n*10 + int(c-'0')
		if n > len(b)-i {
			return 0, 0, syntaxError(start, ErrInvalidLength)
		}
	}
	if i == len(b) || i == start {
		return 0, 0, syntaxError(i, ErrInvalidLength) // no ':', or no digits
	}
	ps = i + 1
	size, fault := utf16Span(b[ps:], n)
	switch fault {
	case spanShort, spanSplit:
		return 0, 0, syntaxError(start, ErrInvalidLength)
	case spanBadUTF8:
		return 0, 0, syntaxError(ps+size, ErrInvalidUTF8)
	}
	return ps, ps + size, nil
}

// AppendBinaryPayloadV3 appends the revision 3 XHR2 binary payload for pkts
// to dst. It is the polling format for a client that did not send b64=1
// when at least one packet is binary (with no binary packet, the JavaScript
// server sends the text payload instead), and it is served as
// application/octet-stream. It grows dst at most once.
//
// Each packet is a record: a byte 0 for a string packet or 1 for a binary
// one; the packet's length in decimal, one byte per digit with values 0 to
// 9 (not ASCII); a byte 0xFF; then the packet. A string packet is its type
// digit and Data, and its length counts bytes (of UTF-8 text). A binary
// message is the raw type byte 4 followed by Data, the length counting that
// byte too. So text "4hello" and binary 01 02 03 04 are
//
//	00 06 FF 34 68 65 6C 6C 6F  01 05 FF 04 01 02 03 04
//
// Data is written verbatim; Binary is honoured only on a Message. An empty
// pkts appends nothing, as in the JavaScript server; an empty body is not a
// valid payload, so callers must not send one.
func AppendBinaryPayloadV3(dst []byte, pkts []Packet) []byte {
	n := 0
	for _, p := range pkts {
		n += 3 + decimalLen(1+len(p.Data)) + 1 + len(p.Data)
	}
	dst = slices.Grow(dst, n)
	for _, p := range pkts {
		kind, typ := byte(0), '0'+byte(p.Type)
		if p.isBinary() {
			kind, typ = 1, byte(Message)
		}
		dst = append(dst, kind)
		dst = appendDigitsV3(dst, 1+len(p.Data))
		dst = append(dst, 0xff, typ)
		dst = append(dst, p.Data...)
	}
	return dst
}

// appendDigitsV3 appends n in decimal, one byte per digit, valued 0 to 9.
func appendDigitsV3(dst []byte, n int) []byte {
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return dst
}

// DecodeBinaryPayloadV3 decodes a revision 3 XHR2 binary payload (see
// [AppendBinaryPayloadV3]), as a client may POST it with Content-Type
// application/octet-stream, and calls fn for each packet in order. If fn
// returns an error, decoding stops and that error is returned as is.
//
// The whole payload is validated before fn is first called. The first byte
// of each record must be 0 or 1, the length at least one digit byte of value
// 0 to 9 with no leading zero, followed by 0xFF, and the length must fit in
// the rest of the body; anything else is ErrInvalidLength. A packet of
// length zero and an empty body are ErrEmptyPacket. A string packet is
// decoded like a packet of a text payload (so "b4<base64>" is a binary
// message there too, as in the JavaScript parser), but its text is not
// checked for UTF-8 validity, since its length counts bytes. A binary
// packet's type byte must be 4 (ErrBinaryNotMessage for another valid type,
// ErrUnknownPacketType above 6).
//
// The Data of text packets and of binary messages aliases b (capacity
// clipped); only base64 is decoded into a new slice. Work and memory are
// bounded by len(b), whatever the lengths claim.
func DecodeBinaryPayloadV3(b []byte, fn func(Packet) error) error {
	if err := checkBinaryPayloadV3(b); err != nil {
		return err
	}
	for start := 0; start < len(b); {
		ps, pe, err := nextBinaryRecordV3(b, start)
		if err != nil {
			return err // unreachable after checkBinaryPayloadV3
		}
		var p Packet
		if b[start] == 1 {
			p = Packet{Type: Message, Data: b[ps+1 : pe : pe], Binary: true}
		} else if p, err = decodePacketV3(b[ps:pe], ps); err != nil {
			return err // unreachable too
		}
		if err := fn(p); err != nil {
			return err
		}
		start = pe
	}
	return nil
}

// checkBinaryPayloadV3 reports the first syntax error in b without
// allocating.
func checkBinaryPayloadV3(b []byte) error {
	if len(b) == 0 {
		return syntaxError(0, ErrEmptyPacket)
	}
	for start := 0; start < len(b); {
		ps, pe, err := nextBinaryRecordV3(b, start)
		if err != nil {
			return err
		}
		if b[start] == 1 {
			err = checkBinaryPacketV3(b[ps:pe], ps)
		} else {
			err = checkPacketV3(b[ps:pe], ps)
		}
		if err != nil {
			return err
		}
		start = pe
	}
	return nil
}

// nextBinaryRecordV3 parses the header of the XHR2 record at b[start:] and
// returns the bounds of its packet, b[ps:pe]. The record kind is b[start].
func nextBinaryRecordV3(b []byte, start int) (ps, pe int, err error) {
	if b[start] > 1 {
		return 0, 0, syntaxError(start, ErrInvalidLength)
	}
	first := start + 1
	n := 0
	i := first
	for ; i < len(b) && b[i] != 0xff; i++ {
		d := b[i]
		if d > 9 {
			return 0, 0, syntaxError(i, ErrInvalidLength)
		}
		if i > first && b[first] == 0 {
			return 0, 0, syntaxError(first, ErrInvalidLength) // leading zero
		}
		n = n*10 + int(d)
		if n > len(b)-i {
			return 0, 0, syntaxError(first, ErrInvalidLength)
		}
	}
	if i == len(b) || i == first {
		return 0, 0, syntaxError(i, ErrInvalidLength) // no 0xFF, or no digits
	}
	ps = i + 1
	if n > len(b)-ps {
		return 0, 0, syntaxError(first, ErrInvalidLength)
	}
	return ps, ps + n, nil
}

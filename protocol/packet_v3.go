package protocol

import (
	"encoding/base64"
	"encoding/binary"
	"unicode/utf8"
)

// AppendPacketV3 appends the revision 3 text form of p to dst: the type
// digit followed by Data, or, for a binary message, 'b', the type digit '4'
// and the standard padded base64 of Data. Unlike revision 4, the type digit
// follows the 'b'.
//
// This is the form each packet takes inside a text payload (see
// [AppendPayloadV3], which adds the length headers) and the WebSocket text
// frame for a client that asked for base64 (b64=1), which cannot receive
// binary frames. [DecodeFrameV3] with binary false decodes it. As with
// [AppendPacket], Binary is honoured only on a Message and text Data is
// written verbatim.
func AppendPacketV3(dst []byte, p Packet) []byte {
	if p.isBinary() {
		dst = append(dst, binaryMarker, '0'+byte(Message))
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	return appendTextPacket(dst, p)
}

// decodePacketV3 decodes the revision 3 text form of one packet. base is the
// offset of b in the caller's input, for error reporting. Text Data aliases
// b; base64 is decoded into a new slice.
func decodePacketV3(b []byte, base int) (Packet, error) {
	if len(b) == 0 || b[0] != binaryMarker {
		return decodeTextPacket(b, base) // as in revision 4
	}
	if err := checkBase64TypeV3(b, base); err != nil {
		return Packet{}, err
	}
	data, err := decodeBase64(b[2:], base+2)
	if err != nil {
		return Packet{}, err
	}
	return Packet{Type: Message, Data: data, Binary: true}, nil
}

// checkPacketV3 is decodePacketV3 without the decoding: it allocates nothing.
func checkPacketV3(b []byte, base int) error {
	if len(b) == 0 {
		return syntaxError(base, ErrEmptyPacket)
	}
	if b[0] != binaryMarker {
		if !PacketType(b[0] - '0').Valid() {
			return syntaxError(base, ErrUnknownPacketType)
		}
		return nil
	}
	if err := checkBase64TypeV3(b, base); err != nil {
		return err
	}
	if off := checkBase64(b[2:]); off >= 0 {
		return syntaxError(base+2+off, ErrInvalidBase64)
	}
	return nil
}

// checkBase64TypeV3 checks the type digit after the 'b' of b. It must be
// there, as in the JavaScript parser, and it must be message: the packet
// model, as in revision 4, has binary data only on messages, and no client
// sends anything else as binary.
func checkBase64TypeV3(b []byte, base int) error {
	if len(b) < 2 || !PacketType(b[1]-'0').Valid() {
		return syntaxError(base+1, ErrUnknownPacketType)
	}
	if b[1] != '0'+byte(Message) {
		return syntaxError(base+1, ErrBinaryNotMessage)
	}
	return nil
}

// checkBinaryPacketV3 checks a packet sent as raw bytes (an XHR2 binary
// record or a WebSocket binary frame): a raw type byte, which must be 4
// (message), then the data.
func checkBinaryPacketV3(b []byte, base int) error {
	if len(b) == 0 {
		return syntaxError(base, ErrEmptyPacket)
	}
	if t := PacketType(b[0]); !t.Valid() {
		return syntaxError(base, ErrUnknownPacketType)
	} else if t != Message {
		return syntaxError(base, ErrBinaryNotMessage)
	}
	return nil
}

// asciiMask selects the high bit of each of eight bytes: a word of text is
// all ASCII when none is set. The UTF-16 walks below use it to take eight
// ASCII bytes (eight code units) at a time.
const asciiMask = 0x8080808080808080

// utf8Replacement is U+FFFD in UTF-8.
const utf8Replacement = "\uFFFD"

// utf16Len returns the length of s in UTF-16 code units (JavaScript's
// String.length) and its size in bytes once every invalid byte is replaced
// by U+FFFD, as [appendValidUTF8] does; size == len(s) exactly when s is
// valid UTF-8. Each byte that does not start a valid sequence counts as one
// U+FFFD, which is how utf8.DecodeRune reports it.
func utf16Len(s []byte) (units, size int) {
	for i := 0; i < len(s); {
		if i+8 <= len(s) && binary.LittleEndian.Uint64(s[i:])&asciiMask == 0 {
			i += 8
			units += 8
			size += 8
			continue
		}
		if s[i] < utf8.RuneSelf {
			i++
			units++
			size++
			continue
		}
		r, w := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			units++
			size += len(utf8Replacement)
		case r >= 0x10000:
			units += 2
			size += w
		default:
			units++
			size += w
		}
		i += w
	}
	return units, size
}

// appendValidUTF8 appends s with each invalid byte replaced by U+FFFD,
// consistently with utf16Len.
func appendValidUTF8(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, w := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && w == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, utf8Replacement...)
			start = i + 1
		}
		i += w
	}
	return append(dst, s[start:]...)
}

// spanFault is why utf16Span failed.
type spanFault uint8

const (
	spanOK      spanFault = iota
	spanShort             // b holds fewer than n code units
	spanSplit             // unit n is the first half of a surrogate pair
	spanBadUTF8           // invalid UTF-8 before unit n
)

// utf16Span returns the number of leading bytes of b that hold exactly n
// UTF-16 code units, the inverse of utf16Len for valid UTF-8. On
// spanBadUTF8, size is the offset of the invalid byte. It stops as soon as
// n units are found, so it reads only the packet, whatever follows it.
func utf16Span(b []byte, n int) (size int, fault spanFault) {
	i := 0
	for n > 0 {
		if n >= 8 && i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&asciiMask == 0 {
			i += 8
			n -= 8
			continue
		}
		if i == len(b) {
			return i, spanShort
		}
		if b[i] < utf8.RuneSelf {
			i++
			n--
			continue
		}
		r, w := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && w == 1:
			return i, spanBadUTF8
		case r >= 0x10000:
			if n == 1 {
				return i, spanSplit
			}
			n -= 2
		default:
			n--
		}
		i += w
	}
	return i, spanOK
}

// decimalLen is the number of decimal digits of n >= 0.
func decimalLen(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

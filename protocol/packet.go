package protocol

import "encoding/base64"

// binaryMarker starts a base64-encoded binary message in the revision 4 text
// form. It is the only non-digit first byte a polling payload may carry.
const binaryMarker = 'b'

// AppendPacket appends the revision 4 text form of p to dst: the type digit
// followed by Data, or, for a binary message, 'b' followed by the standard
// padded base64 of Data and no type digit.
//
// Binary is honoured only when Type is Message; any other type is written as
// text with its Data as is, because revision 4 has no binary form for it and
// encoding never fails (use [Packet.Validate] to reject such packets first).
// Text Data is written verbatim: it is not checked for UTF-8 validity.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.isBinary() {
		dst = append(dst, binaryMarker)
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	return appendTextPacket(dst, p)
}

func appendTextPacket(dst []byte, p Packet) []byte {
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// packetLen is the length AppendPacket will append, so that payloads can
// grow their buffer once.
func packetLen(p Packet) int {
	if p.isBinary() {
		return 1 + base64.StdEncoding.EncodedLen(len(p.Data))
	}
	return 1 + len(p.Data)
}

// DecodePacket decodes one packet in the revision 4 text form, as found in a
// polling payload: a type digit and data, or 'b' and base64.
//
// The Data of a text packet aliases b (callers that keep it must copy it);
// the data of a binary message is decoded into a new slice. Base64 must be
// standard, padded and canonical (what every encoder produces); line breaks
// and other lenient forms are rejected with ErrInvalidBase64. Text is not
// checked for UTF-8 validity.
func DecodePacket(b []byte) (Packet, error) {
	return decodePacket(b, 0)
}

// decodePacket decodes b, reporting errors at offsets shifted by base so that
// a payload can point into the whole body.
func decodePacket(b []byte, base int) (Packet, error) {
	if len(b) > 0 && b[0] == binaryMarker {
		data, err := decodeBase64(b[1:], base+1)
		if err != nil {
			return Packet{}, err
		}
		return Packet{Type: Message, Data: data, Binary: true}, nil
	}
	return decodeTextPacket(b, base)
}

// decodeTextPacket accepts only a type digit first. WebSocket text frames use
// it directly: there, 'b' is not a binary marker but an unknown type.
func decodeTextPacket(b []byte, base int) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, syntaxError(base, ErrEmptyPacket)
	}
	t := PacketType(b[0] - '0') // wraps around for bytes below '0'
	if !t.Valid() {
		return Packet{}, syntaxError(base, ErrUnknownPacketType)
	}
	return Packet{Type: t, Data: b[1:len(b):len(b)]}, nil
}

package protocol

// AppendFrameV3 appends the revision 3 WebSocket frame for p to dst and
// reports whether it must be sent as a binary frame.
//
// A binary message becomes a binary frame holding the raw type byte 4
// followed by Data ([4 1 2 3 4] for the message 01 02 03 04); anything else
// becomes a text frame holding the packet's text form, as in revision 4. A
// client that connected with b64=1 cannot take binary frames: send it
// [AppendPacketV3] as a text frame instead. Binary is ignored unless Type is
// Message, and text is not checked for UTF-8 validity.
func AppendFrameV3(dst []byte, p Packet) (frame []byte, binary bool) {
	if p.isBinary() {
		dst = append(dst, byte(Message))
		return append(dst, p.Data...), true
	}
	return appendTextPacket(dst, p), false
}

// DecodeFrameV3 decodes one revision 3 WebSocket frame; binary tells whether
// it arrived as a binary frame.
//
// A binary frame must start with the raw type byte 4 (message); its Data is
// the rest of b, not copied (it may be empty). An empty binary frame is
// ErrEmptyPacket, another valid type byte ErrBinaryNotMessage and one above
// 6 ErrUnknownPacketType.
//
// A text frame is the revision 3 text form of a packet (see
// [AppendPacketV3]): a type digit and data, which aliases b, or — unlike
// revision 4 — 'b', the type digit 4 and base64, which a client that
// connected with b64=1 sends instead of binary frames, and which the
// JavaScript server accepts on WebSocket too. The base64 is decoded into a
// new slice.
func DecodeFrameV3(b []byte, binary bool) (Packet, error) {
	if !binary {
		return decodePacketV3(b, 0)
	}
	if err := checkBinaryPacketV3(b, 0); err != nil {
		return Packet{}, err
	}
	return Packet{Type: Message, Data: b[1:len(b):len(b)], Binary: true}, nil
}

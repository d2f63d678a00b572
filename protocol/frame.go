package protocol

// AppendFrame appends the revision 4 WebSocket frame for p to dst and reports
// whether it must be sent as a binary frame.
//
// A binary message becomes a binary frame holding Data as is, with no type
// byte; anything else becomes a text frame holding the packet's text form
// (a type digit and Data). As with [AppendPacket], Binary is ignored unless
// Type is Message, and text is not checked for UTF-8 validity, which a
// WebSocket text frame requires. A caller that owns p.Data and needs no
// buffer may send p.Data directly as the binary frame instead.
func AppendFrame(dst []byte, p Packet) (frame []byte, binary bool) {
	if p.isBinary() {
		return append(dst, p.Data...), true
	}
	return appendTextPacket(dst, p), false
}

// DecodeFrame decodes one revision 4 WebSocket frame; binary tells whether it
// arrived as a binary frame.
//
// A binary frame is always a binary message whose Data is b itself (not
// copied; it may be empty). A text frame must start with a type digit '0'..'6'
// and its Data aliases b. The polling marker 'b' has no meaning on WebSocket,
// so a text frame starting with 'b' is ErrUnknownPacketType rather than
// base64, and an empty text frame is ErrEmptyPacket.
func DecodeFrame(b []byte, binary bool) (Packet, error) {
	if binary {
		return Packet{Type: Message, Data: b[:len(b):len(b)], Binary: true}, nil
	}
	return decodeTextPacket(b, 0)
}

package protocol

// AppendOpenV3 appends the revision 3 open packet for h to dst: '0'
// followed by a JSON object with exactly the keys sid, upgrades,
// pingInterval and pingTimeout, in that order. It is [AppendOpen] without
// maxPayload, which revision 3 does not have; h.MaxPayload is ignored.
//
// The bytes are one packet. Over polling, wrap them in a payload as any
// other packet (the text payload gives them a length header); over
// WebSocket, send them as a text frame.
func AppendOpenV3(dst []byte, h Handshake) []byte {
	return append(appendOpenStart(dst, h), '}')
}

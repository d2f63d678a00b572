// Package protocol encodes and decodes the Engine.IO wire format.
//
// It knows nothing about HTTP, WebSocket connections or sessions: it turns
// packets into bytes and bytes into packets, so that the transports can share
// one implementation and so that the format can be fuzzed in isolation.
//
// # Wire format (Engine.IO protocol revision 4)
//
// A packet is a type digit followed by its data:
//
//	0  open     server to client, data is the handshake JSON
//	1  close
//	2  ping     server to client ("2probe" from the client during an upgrade)
//	3  pong     client to server ("3probe" from the server during an upgrade)
//	4  message  application data
//	5  upgrade  client to server, completes the upgrade to WebSocket
//	6  noop     server to client, ends a pending poll during an upgrade
//
// HTTP long-polling carries a payload: packets joined by the record separator
// 0x1e, with no trailing separator. A payload is always text, so a binary
// message travels as 'b' followed by its standard, padded base64, with no type
// digit (the type is implicitly message):
//
//	4hello\x1e2\x1ebAQIDBA==
//
// WebSocket carries one packet per frame. A text frame holds the text form of
// a packet ("4hello"); a binary frame holds the raw bytes of a binary message,
// with no type byte. The 'b' prefix does not exist on WebSocket.
//
// The handshake is an open packet whose data is a JSON object with exactly the
// keys sid, upgrades, pingInterval, pingTimeout and maxPayload (see
// [AppendOpen]). Rejected HTTP requests get a JSON body
// {"code":N,"message":"..."} (see [AppendErrorJSON]).
//
// # Conventions
//
// Encoders follow the append style of strconv and encoding/base64: they append
// to dst and return the extended slice, so a caller reusing a buffer with
// enough capacity encodes without allocating.
//
// Decoders do not copy text: the Data of a decoded text packet (and of a
// binary WebSocket frame or revision 3 XHR2 record) aliases the input, so a caller that keeps a packet
// beyond the life of its input buffer must copy Data. Base64 data is decoded
// into a new slice. Decoded Data slices have their capacity clipped to their
// length, so appending to one never overwrites the rest of the input.
//
// Malformed input is reported as a [*SyntaxError] wrapping one of the sentinel
// errors ([ErrEmptyPacket], [ErrUnknownPacketType], [ErrInvalidBase64]); test
// for them with errors.Is.
//
// # Protocol revisions
//
// The unsuffixed names implement revision 4 (EIO=4); [ParseRevision] reads
// the EIO parameter. Revision 3 (EIO=3, Socket.IO 2 clients) is implemented
// alongside under V3-suffixed names; [PacketType], [Packet], the errors and
// the JSON helpers are shared by both revisions. Revision 3 differs on the
// wire in four places:
//
//   - Polling text payloads prefix each packet with its length in UTF-16
//     code units and ':', with no separator, and a base64 binary message
//     keeps its type digit after the 'b': 6:4hello10:b4AQIDBA== (see
//     [AppendPayloadV3]).
//   - A client that can receive binary over XHR (no b64=1) gets the XHR2
//     binary payload when a packet is binary (see [AppendBinaryPayloadV3]).
//   - A WebSocket binary frame starts with the raw type byte 4 (see
//     [AppendFrameV3]).
//   - Old browsers poll with JSONP: the response is a script
//     ___eio[j]("payload"); and the POST body a form field (see
//     [AppendJSONP] and [DecodeJSONPBody]).
//
// The open packet has no maxPayload ([AppendOpenV3]), and the heartbeat runs
// the other way (the client pings), which is the session's business, not
// this package's. The revision 3 decoders add [ErrInvalidLength],
// [ErrInvalidUTF8] and [ErrInvalidJSONP] to the sentinel errors.
package protocol

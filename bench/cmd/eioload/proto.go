package main

// The little of the Engine.IO v4 wire format that a load generator needs
// (docs/protocol.md sections 1.3-1.6). Kept private to this command so that the
// benchmark does not depend on the server's own protocol package.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Packet type bytes (protocol.md 1.1).
const (
	packetOpen    = '0'
	packetClose   = '1'
	packetPing    = '2'
	packetPong    = '3'
	packetMessage = '4'
	packetNoop    = '6'
)

// recordSeparator joins packets in a v4 polling payload.
const recordSeparator = 0x1e

// binaryPrefix starts a base64 binary message inside a v4 polling payload.
// It carries no packet type digit: it is always a message.
const binaryPrefix = 'b'

// openPacket is the JSON payload of the open ("0") packet.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen decodes an open packet, type byte included.
func parseOpen(pkt []byte) (openPacket, error) {
	var open openPacket
	if len(pkt) == 0 || pkt[0] != packetOpen {
		return open, protocolErrorf("expected open packet, got %q", clip(pkt))
	}
	if err := json.Unmarshal(pkt[1:], &open); err != nil {
		return open, protocolErrorf("open packet %q: %v", clip(pkt), err)
	}
	if open.SID == "" {
		return open, protocolErrorf("open packet without sid: %q", clip(pkt))
	}
	return open, nil
}

// appendPollingMessage appends a message packet as it travels inside a
// polling payload: "4<text>" or "b<base64>".
func appendPollingMessage(dst, data []byte, binary bool) []byte {
	if !binary {
		dst = append(dst, packetMessage)
		return append(dst, data...)
	}
	dst = append(dst, binaryPrefix)
	n := base64.StdEncoding.EncodedLen(len(data))
	start := len(dst)
	dst = grow(dst, n)
	base64.StdEncoding.Encode(dst[start:], data)
	return dst
}

// decodePollingBinary decodes the base64 part of a "b..." packet into dst.
func decodePollingBinary(dst, b64 []byte) ([]byte, error) {
	dst = grow(dst[:0], base64.StdEncoding.DecodedLen(len(b64)))
	n, err := base64.StdEncoding.Decode(dst, b64)
	if err != nil {
		return dst[:0], protocolErrorf("bad base64 in binary packet: %v", err)
	}
	return dst[:n], nil
}

// forEachPacket calls fn for every packet of a v4 polling payload.
func forEachPacket(payload []byte, fn func(pkt []byte) error) error {
	for len(payload) > 0 {
		pkt := payload
		if i := bytes.IndexByte(payload, recordSeparator); i >= 0 {
			pkt, payload = payload[:i], payload[i+1:]
		} else {
			payload = nil
		}
		if len(pkt) == 0 {
			return protocolErrorf("empty packet in polling payload")
		}
		if err := fn(pkt); err != nil {
			return err
		}
	}
	return nil
}

// grow extends b by n bytes, reusing its capacity when it can.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// clip shortens packet contents quoted in error messages.
func clip(b []byte) string {
	const max = 80
	if len(b) > max {
		return fmt.Sprintf("%s...(%d bytes)", b[:max], len(b))
	}
	return string(b)
}

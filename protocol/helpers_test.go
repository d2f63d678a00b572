package protocol

import (
	"bytes"
	"strconv"
)

// samePacket compares packets by content: a nil and an empty Data are equal,
// since the decoders make no promise about which one they return.
func samePacket(a, b Packet) bool {
	return a.Type == b.Type && a.Binary == b.Binary && bytes.Equal(a.Data, b.Data)
}

func samePackets(a, b []Packet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !samePacket(a[i], b[i]) {
			return false
		}
	}
	return true
}

// describe renders packets for failure messages.
func describe(pkts ...Packet) string {
	var b []byte
	for i, p := range pkts {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '{')
		b = append(b, p.Type.String()...)
		if p.Binary {
			b = append(b, " binary"...)
		}
		b = append(b, ' ')
		b = strconv.AppendQuote(b, string(p.Data))
		b = append(b, '}')
	}
	return string(b)
}

// collect decodes a payload into a slice.
func collect(b []byte) ([]Packet, error) {
	var out []Packet
	err := DecodePayload(b, func(p Packet) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

func text(t PacketType, s string) Packet { return Packet{Type: t, Data: []byte(s)} }

func bin(b ...byte) Packet { return Packet{Type: Message, Data: b, Binary: true} }

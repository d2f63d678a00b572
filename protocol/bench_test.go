package protocol

import (
	"bytes"
	"testing"
	"time"
)

var benchPackets = []Packet{
	text(Message, "hello, this is a chat message of ordinary length"),
	text(Ping, ""),
	text(Message, `{"event":"update","id":12345,"values":[1,2,3,4,5,6,7,8]}`),
	bin(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 16)...),
}

func BenchmarkAppendPayload(b *testing.B) {
	buf := AppendPayload(nil, benchPackets)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPayload(buf[:0], benchPackets)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	fn := func(Packet) error { return nil }
	b.Run("text", func(b *testing.B) {
		body := AppendPayload(nil, benchPackets[:3])
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := DecodePayload(body, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mixed", func(b *testing.B) {
		body := AppendPayload(nil, benchPackets)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := DecodePayload(body, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAppendFrame(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Packet
	}{{"text", benchPackets[0]}, {"binary", benchPackets[3]}} {
		b.Run(bc.name, func(b *testing.B) {
			buf, _ := AppendFrame(nil, bc.p)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = AppendFrame(buf[:0], bc.p)
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Packet
	}{{"text", benchPackets[0]}, {"binary", benchPackets[3]}} {
		b.Run(bc.name, func(b *testing.B) {
			frame, binary := AppendFrame(nil, bc.p)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeFrame(frame, binary); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendOpen(b *testing.B) {
	h := Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1e6}
	buf := AppendOpen(nil, h)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendOpen(buf[:0], h)
	}
}

package protocol

import (
	"testing"
	"time"
)

// benchTextV3 adds multibyte text to the text of benchPackets, since
// counting UTF-16 code units is what revision 3 adds to the cost of text.
// The "ascii" cases match the "text" cases of the revision 4 benchmarks.
var benchTextV3 = []Packet{
	benchPackets[0], benchPackets[1], benchPackets[2],
	text(Message, "Grüße aus Köln — 10 € 😀, ça va? Ελληνικά, русский, 日本語のテキスト"),
}

func BenchmarkAppendPayloadV3(b *testing.B) {
	for _, bc := range []struct {
		name string
		pkts []Packet
	}{{"ascii", benchPackets[:3]}, {"multibyte", benchTextV3}, {"mixed", benchPackets}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := AppendPayloadV3(nil, bc.pkts)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendPayloadV3(buf[:0], bc.pkts)
			}
		})
	}
}

func BenchmarkDecodePayloadV3(b *testing.B) {
	fn := func(Packet) error { return nil }
	for _, bc := range []struct {
		name string
		pkts []Packet
	}{{"ascii", benchPackets[:3]}, {"multibyte", benchTextV3}, {"mixed", benchPackets}} {
		b.Run(bc.name, func(b *testing.B) {
			body := AppendPayloadV3(nil, bc.pkts)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := DecodePayloadV3(body, fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendBinaryPayloadV3(b *testing.B) {
	buf := AppendBinaryPayloadV3(nil, benchPackets)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBinaryPayloadV3(buf[:0], benchPackets)
	}
}

func BenchmarkDecodeBinaryPayloadV3(b *testing.B) {
	fn := func(Packet) error { return nil }
	body := AppendBinaryPayloadV3(nil, benchPackets)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeBinaryPayloadV3(body, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendFrameV3(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Packet
	}{{"text", benchPackets[0]}, {"binary", benchPackets[3]}} {
		b.Run(bc.name, func(b *testing.B) {
			buf, _ := AppendFrameV3(nil, bc.p)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = AppendFrameV3(buf[:0], bc.p)
			}
		})
	}
}

func BenchmarkDecodeFrameV3(b *testing.B) {
	for _, bc := range []struct {
		name   string
		frame  []byte
		binary bool
	}{
		{"text", AppendPacketV3(nil, benchPackets[0]), false},
		{"binary", append([]byte{4}, benchPackets[3].Data...), true},
		{"base64", AppendPacketV3(nil, benchPackets[3]), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeFrameV3(bc.frame, bc.binary); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendOpenV3(b *testing.B) {
	h := Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second}
	buf := AppendOpenV3(nil, h)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendOpenV3(buf[:0], h)
	}
}

func BenchmarkAppendJSONP(b *testing.B) {
	payload := AppendPayloadV3(nil, benchTextV3)
	buf := AppendJSONP(nil, "3", payload)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSONP(buf[:0], "3", payload)
	}
}

func BenchmarkDecodeJSONPBody(b *testing.B) {
	body := []byte(jsonpClientBody(string(AppendPayloadV3(nil, benchTextV3))))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSONPBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

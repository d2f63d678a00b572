package httpapi

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/eioactor/engineio/protocol"
)

// clientFrame is one frame as a client writes it: b0 (FIN, RSV, opcode),
// the payload masked with key, and its length in the shortest form unless
// length64 asks for the 64-bit one. mask false leaves the frame unmasked.
func clientFrame(b0 byte, payload []byte, key uint32, mask, length64 bool) []byte {
	out := []byte{b0, 0}
	var m byte
	if mask {
		m = maskBit
	}
	switch n := len(payload); {
	case length64:
		out[1] = m | 127
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	case n < len16:
		out[1] = m | byte(n)
	default:
		out[1] = m | len16
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	}
	if !mask {
		return append(out, payload...)
	}
	out = binary.LittleEndian.AppendUint32(out, key)
	start := len(out)
	out = append(out, payload...)
	for i := range payload {
		out[start+i] ^= byte(key >> (8 * (i & 3)))
	}
	return out
}

// firstRead makes a reader whose first read returns at most n bytes.
func firstRead(n int) func(io.Reader) io.Reader {
	return func(r io.Reader) io.Reader { return &shortFirst{r: r, n: n} }
}

type shortFirst struct {
	r    io.Reader
	n    int
	done bool
}

func (s *shortFirst) Read(p []byte) (int, error) {
	if !s.done {
		s.done = true
		p = p[:min(len(p), s.n)]
	}
	return s.r.Read(p)
}

// The reader takes a whole, masked text or binary frame itself, of every
// length up to maxPlainFrame, and consumes exactly that frame.
func TestReadPlainFrameTakesWholeDataFrames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const after = "\x81" // the first byte of the next frame, which stays
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 124, 125, 126, 127, 128, 129, 287, 288, 1000, maxPlainFrame} {
		for _, isBinary := range []bool{false, true} {
			payload := make([]byte, n)
			for i := range payload {
				payload[i] = byte('a' + rng.IntN(26))
			}
			b0, want := byte(finBit|opText), protocol.Packet{Type: protocol.Message, Data: payload}
			if isBinary {
				b0, want.Binary = finBit|opBinary, true
			} else {
				payload = append([]byte{'4'}, payload[:max(n-1, 0)]...)
				want.Data = payload[1:]
				if n == 0 {
					payload, want = nil, protocol.Packet{}
				}
			}
			input := append(clientFrame(b0, payload, rng.Uint32(), true, false), after...)
			br := bufio.NewReaderSize(bytes.NewReader(input), readBufferSize)
			rd := &wsReader{br: br, limit: 1 << 20, decode: protocol.DecodeFrame}
			f, err := rd.readPlainFrame()
			if err != nil || f == nil {
				t.Fatalf("%d bytes, binary %v: frame %v, error %v; want the frame", n, isBinary, f, err)
			}
			if n == 0 && !isBinary {
				// An empty text frame is no packet: the session hears of it.
				if f.Err == nil {
					t.Fatalf("empty text frame decoded as %+v, want an error", f.Packet)
				}
			} else if f.Err != nil || f.Packet.Type != want.Type || f.Packet.Binary != want.Binary || !bytes.Equal(f.Packet.Data, want.Data) {
				t.Fatalf("%d bytes, binary %v: packet %+v (%v), want %+v", n, isBinary, f.Packet, f.Err, want)
			}
			if rest, _ := io.ReadAll(br); string(rest) != after {
				t.Fatalf("%d bytes, binary %v: %q left, want %q", n, isBinary, rest, after)
			}
		}
	}
}

// Everything but a whole masked data frame within the limits is left to
// gorilla, untouched: fragments, control frames, compressed and reserved
// bits, unmasked frames, 64-bit lengths, messages over the read limit or
// maxPlainFrame, and headers whose end has not come yet.
func TestReadPlainFrameLeavesTheRestToGorilla(t *testing.T) {
	hello := []byte("4hello")
	long := bytes.Repeat([]byte("x"), 300)
	for _, tc := range []struct {
		name  string
		input []byte
		r     func(io.Reader) io.Reader
	}{
		{"first fragment", clientFrame(opText, hello, 7, true, false), nil},
		{"continuation", clientFrame(finBit, hello, 7, true, false), nil},
		{"ping", clientFrame(finBit|0x9, []byte("p"), 7, true, false), nil},
		{"pong", clientFrame(finBit|0xa, nil, 7, true, false), nil},
		{"close", clientFrame(finBit|0x8, []byte{3, 232}, 7, true, false), nil},
		{"compressed", clientFrame(finBit|0x40|opText, hello, 7, true, false), nil},
		{"rsv2", clientFrame(finBit|0x20|opBinary, hello, 7, true, false), nil},
		{"rsv3", clientFrame(finBit|0x10|opText, hello, 7, true, false), nil},
		{"reserved opcode", clientFrame(finBit|0x3, hello, 7, true, false), nil},
		{"text and binary bits", clientFrame(finBit|opText|opBinary, hello, 7, true, false), nil},
		{"unmasked", clientFrame(finBit|opText, hello, 0, false, false), nil},
		{"64-bit length", clientFrame(finBit|opText, hello, 7, true, true), nil},
		{"over the limit", clientFrame(finBit|opBinary, long, 7, true, false), nil},
		{"over maxPlainFrame", clientFrame(finBit|opBinary, bytes.Repeat([]byte("m"), maxPlainFrame+1), 7, true, false), nil},
		{"7-bit header in pieces", clientFrame(finBit|opText, hello, 7, true, false), iotest.OneByteReader},
		{"16-bit length in pieces", clientFrame(finBit|opText, long[:200], 7, true, false), firstRead(3)},
		{"16-bit header's key in pieces", clientFrame(finBit|opText, long[:200], 7, true, false), firstRead(5)},
		{"7-bit header's key in pieces", clientFrame(finBit|opText, hello, 7, true, false), firstRead(5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.input)
			if tc.r != nil {
				r = tc.r(r)
			}
			br := bufio.NewReaderSize(r, readBufferSize)
			rd := &wsReader{br: br, limit: 256, decode: protocol.DecodeFrame}
			if tc.name == "over maxPlainFrame" {
				rd.limit = 1 << 20
			}
			f, err := rd.readPlainFrame()
			if f != nil {
				t.Fatalf("took it: %d bytes", len(f.Packet.Data))
			}
			if err != nil {
				t.Fatalf("error %v, want the frame left to gorilla", err)
			}
			if rest, _ := io.ReadAll(br); !bytes.Equal(rest, tc.input) {
				t.Fatalf("%d of %d bytes left, want all", len(rest), len(tc.input))
			}
		})
	}
}

// A frame cut short in its payload ends the connection with
// io.ErrUnexpectedEOF, as gorilla's reader would; a connection that ends
// before a frame's second byte, with io.EOF.
func TestReadPlainFrameCutShort(t *testing.T) {
	whole := clientFrame(finBit|opText, []byte("4"+strings.Repeat("x", 200)), 9, true, false)
	for _, tc := range []struct {
		cut  int
		want error
	}{
		{0, io.EOF},
		{1, io.EOF},
		{8, io.ErrUnexpectedEOF}, // the header whole, no payload
		{len(whole) / 2, io.ErrUnexpectedEOF},
		{len(whole) - 1, io.ErrUnexpectedEOF},
	} {
		br := bufio.NewReaderSize(bytes.NewReader(whole[:tc.cut]), readBufferSize)
		rd := &wsReader{br: br, limit: 1 << 20, decode: protocol.DecodeFrame}
		if f, err := rd.readPlainFrame(); f != nil || !errors.Is(err, tc.want) {
			t.Fatalf("cut at %d of %d: frame %v, error %v; want %v", tc.cut, len(whole), f, err, tc.want)
		}
	}
}

// BenchmarkUnmask unmasks a 1 KB message.
func BenchmarkUnmask(b *testing.B) {
	buf := make([]byte, 1024)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		unmask(0x12345678, buf)
	}
}

// unmask undoes a client's mask at every length and alignment of the tail.
func TestUnmask(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 100 {
		key := rng.Uint32()
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(rng.Uint32())
		}
		masked := make([]byte, n)
		for i := range plain {
			masked[i] = plain[i] ^ byte(key>>(8*(i%4)))
		}
		unmask(key, masked)
		if !bytes.Equal(masked, plain) {
			t.Fatalf("%d bytes: unmasked %x, want %x", n, masked, plain)
		}
	}
}

package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/eioactor/engineio/protocol"
)

// A message larger than the read buffer makes the reader take a big buffer
// before its next read; parking gives it back, and the connection resumes
// with a small one. The bufio.Reader itself, which gorilla holds, stays.
func TestReadBufferGrowsForLargeMessagesAndShrinksWhenParked(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	br := bufio.NewReaderSize(server, readBufferSize)
	rd := &wsReader{nc: server, br: br, decode: protocol.DecodeFrame}

	if _, err := rd.readFrame(strings.NewReader("4"+strings.Repeat("s", 200)), false); err != nil {
		t.Fatal(err)
	}
	if rd.grow {
		t.Fatal("a message that fits in the buffer asks for a bigger one")
	}
	big := "4" + strings.Repeat("b", 1000)
	f, err := rd.readFrame(strings.NewReader(big), false)
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Packet.Data) != big[1:] || !rd.grow {
		t.Fatalf("read %d bytes, grow %v: want the message and a bigger buffer asked for", len(f.Packet.Data), rd.grow)
	}

	rd.growBuffer()
	if rd.br != br || br.Size() != bigReadBufferSize || rd.grow {
		t.Fatalf("after growing: same reader %v, size %d, grow %v; want the same reader at %d", rd.br == br, br.Size(), rd.grow, bigReadBufferSize)
	}
	// The grown buffer reads the connection, up to its size at once.
	payload := bytes.Repeat([]byte("x"), 3000)
	go func() { _, _ = client.Write(payload) }()
	if _, err := br.Peek(1); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("read through the grown buffer: %v", err)
	}

	rd.grow = true
	rd.Release()
	if br.Size() != 0 || rd.grow {
		t.Fatalf("parked: buffer size %d, grow %v; want none and no growth pending", br.Size(), rd.grow)
	}
	rd.keepBuffer()
	if br.Size() != readBufferSize {
		t.Fatalf("resumed with a buffer of %d bytes, want %d", br.Size(), readBufferSize)
	}
}

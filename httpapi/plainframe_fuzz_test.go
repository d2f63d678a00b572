package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/protocol"
)

// inputConn is a connection that reads input and drops what is written.
type inputConn struct{ r io.Reader }

func (c *inputConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *inputConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *inputConn) Close() error                     { return nil }
func (c *inputConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *inputConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *inputConn) SetDeadline(time.Time) error      { return nil }
func (c *inputConn) SetReadDeadline(time.Time) error  { return nil }
func (c *inputConn) SetWriteDeadline(time.Time) error { return nil }

// hijackInput is a ResponseWriter whose connection reads input through br.
type hijackInput struct {
	*httptest.ResponseRecorder
	nc net.Conn
	br *bufio.Reader
}

func (h *hijackInput) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.nc, bufio.NewReadWriter(h.br, bufio.NewWriter(h.nc)), nil
}

// upgradeInput returns a server's gorilla connection reading input (the
// client's frames) through a buffer of readBufferSize, as serveWebSocket
// sets it up, and that buffer.
func upgradeInput(t *testing.T, input []byte, limit int64) (*websocket.Conn, *bufio.Reader) {
	t.Helper()
	nc := &inputConn{r: bytes.NewReader(input)}
	br := bufio.NewReaderSize(nc, readBufferSize)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	up := websocket.Upgrader{WriteBufferSize: 256, CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(&hijackInput{ResponseRecorder: httptest.NewRecorder(), nc: nc, br: br}, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(limit)
	return conn, br
}

type readMessage struct {
	binary bool
	data   string
}

// FuzzReadPlainFrameMatchesGorilla reads one stream of client frames twice:
// with gorilla alone, and as the connection's reader does, taking plain
// frames itself and leaving the rest to gorilla. Both must yield the same
// messages, and end for the same reason.
//
//	go test -run '^$' -fuzz FuzzReadPlainFrameMatchesGorilla ./httpapi
func FuzzReadPlainFrameMatchesGorilla(f *testing.F) {
	hello := []byte("4hello")
	long := bytes.Repeat([]byte("y"), 300)
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	for _, seed := range [][]byte{
		clientFrame(finBit|opText, hello, 1, true, false),
		cat(clientFrame(finBit|opText, hello, 1, true, false), clientFrame(finBit|opBinary, long, 2, true, false)),
		cat(clientFrame(opText, hello[:2], 3, true, false), clientFrame(finBit|0x9, []byte("p"), 4, true, false), clientFrame(finBit, hello[2:], 5, true, false), clientFrame(finBit|opText, hello, 6, true, false)),
		cat(clientFrame(finBit|opText, hello, 1, true, true), clientFrame(finBit|opText, hello, 1, true, false)),
		cat(clientFrame(finBit|opText, hello, 1, true, false), clientFrame(finBit|opText, hello, 0, false, false)),
		cat(clientFrame(finBit|opBinary, bytes.Repeat([]byte("z"), 2000), 7, true, false), clientFrame(finBit|opText, hello, 1, true, false)),
		cat(clientFrame(finBit|opBinary, bytes.Repeat([]byte("z"), maxPlainFrame+1), 7, true, false), clientFrame(finBit|opText, hello, 1, true, false)),
		cat(clientFrame(finBit|opText, bytes.Repeat([]byte("z"), 9000), 7, true, false), clientFrame(finBit|opText, hello, 1, true, false)),
		cat(clientFrame(finBit|0x40|opText, hello, 1, true, false)),
		cat(clientFrame(finBit|opText, hello, 1, true, false), clientFrame(finBit|0x8, []byte{3, 232, 'b'}, 8, true, false)),
		clientFrame(finBit|opText, long, 9, true, false)[:100],
		clientFrame(opText, hello, 1, true, false),
		{0x81},
		{},
	} {
		f.Add(seed)
	}
	raw := func(b []byte, isBinary bool) (protocol.Packet, error) {
		return protocol.Packet{Data: b, Binary: isBinary}, nil
	}
	const limit = 8192 // between maxPlainFrame and the largest 16-bit length
	f.Fuzz(func(t *testing.T, input []byte) {
		var want []readMessage
		var wantEnd actors.Reason
		conn, _ := upgradeInput(t, input, limit)
		for {
			typ, r, err := conn.NextReader()
			if err == nil {
				var data []byte
				if data, err = io.ReadAll(r); err == nil {
					want = append(want, readMessage{typ == websocket.BinaryMessage, string(data)})
					continue
				}
			}
			wantEnd = closeReason(err)
			break
		}

		var got []readMessage
		var gotEnd actors.Reason
		conn, br := upgradeInput(t, input, limit)
		rd := &wsReader{conn: conn, br: br, limit: limit, decode: raw}
		for {
			fr, err := rd.readPlainFrame()
			if fr == nil && err == nil {
				var typ int
				var r io.Reader
				if typ, r, err = conn.NextReader(); err == nil {
					fr, err = rd.readFrame(r, typ == websocket.BinaryMessage)
				}
			}
			if err != nil {
				gotEnd = closeReason(err)
				break
			}
			got = append(got, readMessage{fr.Packet.Binary, string(fr.Packet.Data)})
		}

		if len(got) != len(want) {
			t.Fatalf("%d messages, gorilla alone %d: %.200v against %.200v", len(got), len(want), got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("message %d: binary %v %.60q, gorilla alone binary %v %.60q", i, got[i].binary, got[i].data, want[i].binary, want[i].data)
			}
		}
		if gotEnd != wantEnd {
			t.Fatalf("ended with %v, gorilla alone with %v", gotEnd, wantEnd)
		}
	})
}

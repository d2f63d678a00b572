package engineio_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// Frames of every length class (7-bit, 16-bit and 64-bit lengths, and
// around where the writer stops copying payloads) reach a WebSocket client
// intact, as text and binary, in both revisions, and in base64 for a v3
// client that asks for it.
func TestWebSocketFrameLengths(t *testing.T) {
	srv, ts := newEcho(t, engineio.WithAllowEIO3(true))
	defer ts.Close()
	defer srv.Close(t.Context())
	sizes := []int{0, 1, 124, 125, 126, 127, 16383, 16384, 32767, 32768, 65534, 65535, 65536, 70000}
	for _, tc := range []struct{ query, name string }{
		{"EIO=4", "v4"},
		{"EIO=3", "v3"},
		{"EIO=3&b64=1", "v3 base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?transport=websocket&" + tc.query
			c, _, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// A malformed frame leaves the client waiting: fail instead.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, open, err := c.ReadMessage(); err != nil || open[0] != '0' {
				t.Fatalf("open frame %q, %v", open, err)
			}
			read := func() (int, []byte) {
				t.Helper()
				for {
					typ, b, err := c.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if string(b) != "2" { // not a ping
						return typ, b
					}
				}
			}
			for _, n := range sizes {
				text := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
				if err := c.WriteMessage(websocket.TextMessage, []byte("4"+text)); err != nil {
					t.Fatal(err)
				}
				if typ, b := read(); typ != websocket.TextMessage || string(b) != "4"+text {
					t.Fatalf("text of %d bytes: got type %d, %d bytes", n, typ, len(b))
				}
				data := bytes.Repeat([]byte{0, 1, 2, 0xff}, n/4+1)[:n]
				var frame []byte
				if tc.name == "v4" {
					frame = data
				} else {
					frame = append([]byte{4}, data...)
				}
				if err := c.WriteMessage(websocket.BinaryMessage, frame); err != nil {
					t.Fatal(err)
				}
				typ, b := read()
				want, wantType := frame, websocket.BinaryMessage
				if tc.name == "v3 base64" {
					want, wantType = []byte("b4"+base64.StdEncoding.EncodeToString(data)), websocket.TextMessage
				}
				if typ != wantType || !bytes.Equal(b, want) {
					t.Fatalf("binary of %d bytes: got type %d, %d bytes %s", n, typ, len(b), fmt.Sprintf("%.20q", b))
				}
			}
		})
	}
}

// countingConn counts the writes on a server's connection and keeps the
// first one.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	first  []byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.writes++; c.writes == 1 {
		c.first = append([]byte(nil), p...)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

type countingListener struct {
	net.Listener
	conns chan *countingConn
}

func (l *countingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &countingConn{Conn: nc}
	l.conns <- c
	return c, nil
}

// A session opened over WebSocket costs the server two writes: the
// upgrade's response with the open packet as the first frame, then the
// close frame that answers the client's. In both revisions.
func TestWebSocketHandshakeWrites(t *testing.T) {
	srv, err := engineio.NewServer(engineio.WithAllowEIO3(true))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	ts := httptest.NewUnstartedServer(srv)
	ln := &countingListener{Listener: ts.Listener, conns: make(chan *countingConn, 4)}
	ts.Listener = ln
	ts.Start()
	defer ts.Close()
	for _, eio := range []string{"4", "3"} {
		url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?transport=websocket&EIO=" + eio
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, open, err := c.ReadMessage()
		if err != nil || !bytes.HasPrefix(open, []byte(`0{"sid":"`)) {
			t.Fatalf("EIO=%s: open frame %q, %v", eio, open, err)
		}
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Fatalf("EIO=%s: after the close frame: %v", eio, err)
		}
		c.Close()
		sc := <-ln.conns
		frame := append([]byte{0x81, byte(len(open))}, open...)
		deadline := time.Now().Add(5 * time.Second)
		for {
			sc.mu.Lock()
			writes, first := sc.writes, sc.first
			sc.mu.Unlock()
			if writes == 2 && bytes.HasPrefix(first, []byte("HTTP/1.1 101 ")) && bytes.HasSuffix(first, frame) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("EIO=%s: %d writes, the first %q; want 2, the first the 101 response and the open frame", eio, writes, first)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// The write deadline moves with the writes: echoes spread over several
// write timeouts all arrive, and so do the pongs to a client's pings among
// them.
func TestWebSocketWritesOutlastWriteTimeout(t *testing.T) {
	const timeout = 100 * time.Millisecond
	srv, ts := newEcho(t, engineio.WithWriteTimeout(timeout))
	defer ts.Close()
	defer srv.Close(t.Context())
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?transport=websocket&EIO=4"
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pongs := make(chan string, 10)
	c.SetPongHandler(func(data string) error { pongs <- data; return nil })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, open, err := c.ReadMessage(); err != nil || !bytes.HasPrefix(open, []byte("0{")) {
		t.Fatalf("open frame %q, %v", open, err)
	}
	for i := range 6 {
		ping := fmt.Sprintf("ping %d", i)
		if err := c.WriteControl(websocket.PingMessage, []byte(ping), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("4echo %d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(want)); err != nil {
			t.Fatal(err)
		}
		// The pong handler runs within ReadMessage, on this goroutine.
		if _, got, err := c.ReadMessage(); err != nil || string(got) != want {
			t.Fatalf("echo %d: %q, %v; want %q", i, got, err, want)
		}
		select {
		case got := <-pongs:
			if got != ping {
				t.Fatalf("pong %q, want %q", got, ping)
			}
		default:
			t.Fatalf("no pong for %q before the echo that followed it", ping)
		}
		time.Sleep(timeout * 3 / 4)
	}
}

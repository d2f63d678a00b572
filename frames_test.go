package engineio_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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

// rawFrame is a client's frame: b0 (FIN and opcode), then payload masked
// with a fixed key.
func rawFrame(b0 byte, payload string) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	out := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	default:
		out = append(out, 0x80|126, byte(n>>8), byte(n))
	}
	out = append(out, key[:]...)
	for i := range len(payload) {
		out = append(out, payload[i]^key[i%4])
	}
	return out
}

// rawWebSocket opens a WebSocket session (EIO=4) on a plain connection,
// closed when the test ends, and reads the open packet; it returns the
// connection, its reader and the session's id.
func rawWebSocket(t *testing.T, ts *httptest.Server) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	const upgrade = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, upgrade); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v, %v", res, err)
	}
	op, open := readRawFrame(t, br)
	var o struct{ SID string }
	if op != 0x81 || !strings.HasPrefix(open, "0") || json.Unmarshal([]byte(open[1:]), &o) != nil || o.SID == "" {
		t.Fatalf("open frame %#x %q", op, open)
	}
	return conn, br, o.SID
}

// A client's close frame is answered with one close frame with the
// client's status code (none if it sent none), and the server then ends
// the connection; a session that the server closes sends one close frame
// (1000), last.
func TestWebSocketCloseFrames(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(t.Context())
	for _, tc := range []struct{ name, payload, want string }{
		{"status and reason", "\x0f\xa1bye", "\x0f\xa1"},
		{"status", "\x03\xe8", "\x03\xe8"},
		{"none", "", ""},
	} {
		conn, br, _ := rawWebSocket(t, ts)
		if _, err := conn.Write(append(rawFrame(0x81, "4hi"), rawFrame(0x88, tc.payload)...)); err != nil {
			t.Fatal(err)
		}
		if op, echo := readRawFrame(t, br); op != 0x81 || echo != "4hi" {
			t.Fatalf("%s: frame %#x %q, want the echo", tc.name, op, echo)
		}
		if op, payload := readRawFrame(t, br); op != 0x88 || payload != tc.want {
			t.Fatalf("%s: frame %#x %q, want a close frame %q", tc.name, op, payload, tc.want)
		}
		if n, err := br.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%s: after the close frame: %d bytes, %v; want the end", tc.name, n, err)
		}
	}

	_, br, sid := rawWebSocket(t, ts)
	if err := srv.Disconnect(sid); err != nil {
		t.Fatal(err)
	}
	var closes []string
	for {
		if _, err := br.Peek(1); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		op, payload := readRawFrame(t, br)
		if op == 0x88 {
			closes = append(closes, payload)
		} else if len(closes) > 0 {
			t.Fatalf("frame %#x %q after the close frame", op, payload)
		}
	}
	if len(closes) != 1 || closes[0] != "\x03\xe8" {
		t.Fatalf("close frames %q, want one with status 1000", closes)
	}
}

// readRawFrame reads one server frame (unmasked, not fragmented).
func readRawFrame(t *testing.T, r *bufio.Reader) (byte, string) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint64(ext[:]))
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	return h[0], string(payload)
}

// Whole messages, fragmented ones with a ping between their fragments,
// headers and payloads that come in pieces, 16-bit lengths and binary
// frames, in one stream: the server reads the common frames itself and
// leaves the rest to gorilla, and each message comes back whole and in
// order, the ping answered.
func TestWebSocketMixedFramesEcho(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(t.Context())
	conn, br, _ := rawWebSocket(t, ts)

	long := "4" + strings.Repeat("l", 300)
	split := rawFrame(0x81, "4"+strings.Repeat("s", 1000))
	writes := [][]byte{
		rawFrame(0x81, "4one"),
		append(append(rawFrame(0x01, "4tw"), rawFrame(0x89, "ping")...), rawFrame(0x80, "o")...),
		rawFrame(0x81, "4three")[:3], rawFrame(0x81, "4three")[3:],
		rawFrame(0x81, long)[:5], rawFrame(0x81, long)[5:],
		rawFrame(0x82, "\x00\x01\xff"),
		split[:500], split[500:],
		append(rawFrame(0x81, "4four"), rawFrame(0x81, "4five")...),
	}
	want := []string{"4one", "4two", "4three", long, "\x00\x01\xff", "4" + strings.Repeat("s", 1000), "4four", "4five"}
	go func() {
		for _, w := range writes {
			if _, err := conn.Write(w); err != nil {
				return
			}
			// Apart, so that the server sees each piece on its own.
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var got []string
	pong := false
	for len(got) < len(want) {
		op, payload := readRawFrame(t, br)
		switch op {
		case 0x8a:
			if payload != "ping" {
				t.Fatalf("pong %q, want %q", payload, "ping")
			}
			pong = true
		case 0x81, 0x82:
			got = append(got, payload)
		default:
			t.Fatalf("frame %#x %q, after %q", op, payload, got)
		}
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: %.40q, want %.40q", i, got[i], want[i])
		}
	}
	if !pong {
		t.Fatal("the ping was not answered")
	}
}

// A session closed while its reader handles a client's message on
// WebSocket (by the application's handler, or by the client's close
// packet): the reader then holds the socket for reading
// (netpoll.Conn.Serve), and the close of the connection that follows on
// its goroutine must not wait for it. The reply, the close packet and the
// close frame go out in order, and the server closes the TCP connection.
func TestCloseWhileHandlingAMessageOnWebSocket(t *testing.T) {
	t.Parallel()
	const prompt = time.Second // the heartbeat is 25 s + 20 s
	h := newHarness(t)
	h.srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Text() == "bye" {
			_ = s.Send("goodbye")
			_ = s.Close()
		}
	})
	for i := range 20 {
		sid, c, _ := h.wsHandshake(t)
		reason := engineio.ReasonServerClose
		if i%2 == 0 {
			c.send(t, "4bye")
			c.expectText(t, "4goodbye")
			c.expectText(t, "1")
			c.expectCloseFrame(t, prompt)
		} else {
			c.send(t, "1")
			c.expectClosed(t, prompt)
			reason = engineio.ReasonClientClose
		}
		nc := c.conn.NetConn()
		_ = nc.SetReadDeadline(time.Now().Add(prompt))
		if _, err := nc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("the connection after the close frame read %v, want EOF: the server's close", err)
		}
		h.expectDisconnect(t, sid, reason, prompt)
		h.expectGone(t, sid)
	}
}

// A client that sends a message and drops the connection right after it
// (a crash, a killed tab), to a handler that does not answer: the message
// and the end may come in one readiness report, which the reader's wait
// inside netpoll.Conn.Serve does not get again. The session still gets the
// message and ends as a transport error, within the poller's sweep (5 ms
// in tests) rather than the heartbeat.
func TestMessageThenDroppedConnectionOnWebSocket(t *testing.T) {
	t.Parallel()
	const prompt = time.Second // the heartbeat is 25 s + 20 s
	h := newHarness(t)
	got := make(chan string, 1)
	h.srv.OnMessage(func(s *engineio.Session, msg engineio.Message) { got <- msg.Text() })
	for range 50 {
		sid, c, _ := h.wsHandshake(t)
		c.send(t, "4last")
		_ = c.conn.NetConn().Close()
		select {
		case m := <-got:
			if m != "last" {
				t.Fatalf("OnMessage got %q, want \"last\"", m)
			}
		case <-time.After(prompt):
			t.Fatal("the message did not come")
		}
		h.expectDisconnect(t, sid, engineio.ReasonTransportError, prompt)
		h.expectGone(t, sid)
	}
}

// A text message that is not UTF-8 fails the connection with status 1007,
// as RFC 6455 asks: the session closes, as for a packet it cannot parse,
// and the application never sees the message. Whole in one frame (the reader's own path) and
// in fragments (gorilla's).
func TestWebSocketTextNotUTF8ClosesSession(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(t.Context())
	for name, frames := range map[string][]byte{
		"one frame": rawFrame(0x81, "4a\xff\xfeb"),
		"fragments": append(rawFrame(0x01, "4a\xff"), rawFrame(0x80, "\xfeb")...),
	} {
		conn, br, _ := rawWebSocket(t, ts)
		if _, err := conn.Write(append(rawFrame(0x81, "4hi"), frames...)); err != nil {
			t.Fatal(err)
		}
		if op, echo := readRawFrame(t, br); op != 0x81 || echo != "4hi" {
			t.Fatalf("%s: frame %#x %q, want the echo of the valid message", name, op, echo)
		}
		if op, payload := readRawFrame(t, br); op != 0x88 || payload != "\x03\xef" {
			t.Fatalf("%s: frame %#x %q after the invalid text, want a close frame with status 1007", name, op, payload)
		}
		if n, err := br.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%s: after the close frame: %d bytes, %v; want the end", name, n, err)
		}
	}
}

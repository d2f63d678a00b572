package engineio

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// wsClient answers pings (unless told not to) and hands every other frame
// to frames.
type wsClient struct {
	conn   *websocket.Conn
	frames chan string
	pong   chan bool
	// wmu orders the writes of the test and of the goroutine that answers
	// pings: gorilla takes one writer at a time.
	wmu sync.Mutex
}

// write sends a text message.
func (c *wsClient) write(text string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteMessage(websocket.TextMessage, []byte(text))
}

func dialWS(t *testing.T, ts *httptest.Server) (*wsClient, string) {
	t.Helper()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	dialer := websocket.DefaultDialer
	if ts.TLS != nil { // an httptest.NewTLSServer: wss:// with its certificate
		dialer = &websocket.Dialer{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig}
	}
	conn, _, err := dialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, open, err := conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(open), `0{"sid":"`) {
		t.Fatalf("open frame %q, %v", open, err)
	}
	sid := strings.TrimPrefix(string(open), `0{"sid":"`)
	sid = sid[:strings.IndexByte(sid, '"')]
	c := &wsClient{conn: conn, frames: make(chan string, 16), pong: make(chan bool, 1)}
	go func() {
		defer close(c.frames)
		answer := true
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				return
			}
			select {
			case answer = <-c.pong:
			default:
			}
			if string(b) == "2" {
				if answer {
					_ = c.write("3")
				}
				continue
			}
			c.frames <- string(b)
		}
	}()
	return c, sid
}

func (c *wsClient) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got, ok := <-c.frames:
		if !ok {
			t.Fatalf("connection closed, want frame %q", want)
		}
		if got != want {
			t.Fatalf("frame %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for frame %q", want)
	}
}

func (c *wsClient) expectClosed(t *testing.T) {
	t.Helper()
	select {
	case got, ok := <-c.frames:
		if ok {
			t.Fatalf("frame %q, want the connection closed", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for the connection to close")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTestServer starts an httptest server for h: over TLS (wss://) with
// useTLS.
func newTestServer(h http.Handler, useTLS bool) *httptest.Server {
	if useTLS {
		return httptest.NewTLSServer(h)
	}
	return httptest.NewServer(h)
}

// overTLSToo runs test over plain TCP and over TLS, whose connections park
// too.
func overTLSToo(t *testing.T, test func(t *testing.T, useTLS bool)) {
	t.Run("tcp", func(t *testing.T) { test(t, false) })
	t.Run("tls", func(t *testing.T) { test(t, true) })
}

// A quiet WebSocket is parked (its reader goroutine ends) and everything a
// session does goes on: messages both ways, heartbeats, a disconnect by
// the server, a ping timeout, and closing the server.
func TestParkedWebSocketSession(t *testing.T) {
	overTLSToo(t, testParkedWebSocketSession)
}

func testParkedWebSocketSession(t *testing.T, useTLS bool) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(40*time.Millisecond), WithPingTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan Reason, 4)
	srv.OnMessage(func(s *Session, msg Message) { _ = s.Send(msg.Text()) })
	srv.OnDisconnect(func(s *Session, r Reason) { reasons <- r })
	ts := newTestServer(srv, useTLS)
	defer ts.Close()
	parked := func(n int) func() bool {
		return func() bool { return srv.handler.ParkedWebSockets() == n }
	}

	a, sidA := dialWS(t, ts)
	waitUntil(t, "the quiet connection to be parked", parked(1))
	if err := a.write("4hello"); err != nil {
		t.Fatal(err)
	}
	a.expect(t, "4hello")
	waitUntil(t, "parking again", parked(1))
	if err := srv.Send(sidA, "pushed"); err != nil {
		t.Fatal(err)
	}
	a.expect(t, "4pushed")

	// Pings go out and pongs come in over many intervals: the session
	// stays, parked between them.
	time.Sleep(10 * 40 * time.Millisecond)
	if _, err := srv.Transport(sidA); err != nil {
		t.Fatalf("session gone after answering pings while parked: %v", err)
	}
	waitUntil(t, "parking", parked(1))

	if err := srv.Disconnect(sidA); err != nil {
		t.Fatal(err)
	}
	a.expect(t, "1")
	a.expectClosed(t)
	if r := <-reasons; r != ReasonServerClose {
		t.Fatalf("disconnect reason %q, want %q", r, ReasonServerClose)
	}

	// A client that stops answering pings times out while parked.
	b, sidB := dialWS(t, ts)
	b.pong <- false
	waitUntil(t, "parking", parked(1))
	if r := <-reasons; r != ReasonPingTimeout {
		t.Fatalf("disconnect reason %q, want %q", r, ReasonPingTimeout)
	}
	b.expectClosed(t)
	if _, err := srv.Transport(sidB); err == nil {
		t.Fatal("session still open after its ping timeout")
	}
	waitUntil(t, "no connection parked", parked(0))

	// Closing the server closes parked connections.
	c, _ := dialWS(t, ts)
	waitUntil(t, "parking", parked(1))
	closeServer(t, srv, c)
	if r := <-reasons; r != ReasonServerShutdown {
		t.Fatalf("disconnect reason %q, want %q", r, ReasonServerShutdown)
	}
}

// Messages of every size echo byte for byte while the connection's read
// buffer grows for the large ones (also with small messages queued behind
// them, which the buffer holds when the growth is due), and after parking,
// which gives the large buffer back. Over TLS, a record is read in pieces
// where it is larger than the buffer.
func TestWebSocketMessagesAcrossReadBufferSizes(t *testing.T) {
	overTLSToo(t, testWebSocketMessagesAcrossReadBufferSizes)
}

func testWebSocketMessagesAcrossReadBufferSizes(t *testing.T, useTLS bool) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(srv, useTLS)
	defer ts.Close()
	srv.OnMessage(func(s *Session, msg Message) { _ = s.Send(msg.Text()) })
	c, _ := dialWS(t, ts)
	message := func(i, n int) string {
		return fmt.Sprintf("%d:", i) + strings.Repeat(string(rune('a'+i%26)), n)
	}
	exchange := func(sizes ...int) {
		t.Helper()
		for i, n := range sizes {
			if err := c.write("4" + message(i, n)); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := range sizes {
			c.expect(t, "4"+message(i, n))
		}
	}
	exchange(10, 300, 1000, 5000, 20, 70000, 100, 1000, 4090, 4100, 3)
	waitUntil(t, "the quiet connection to be parked", func() bool { return srv.handler.ParkedWebSockets() == 1 })
	exchange(2000, 50, 300)
	waitUntil(t, "parking again", func() bool { return srv.handler.ParkedWebSockets() == 1 })
	closeServer(t, srv, c)
}

// Asking how many WebSockets are parked before the first one connects does
// not keep the server from parking them.
func TestParkedCountBeforeFirstWebSocket(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, ts := startServer(t)
	defer ts.Close()
	if n := srv.handler.ParkedWebSockets(); n != 0 {
		t.Fatalf("%d parked before any connection", n)
	}
	c, _ := dialWS(t, ts)
	waitUntil(t, "the quiet connection to be parked", func() bool { return srv.handler.ParkedWebSockets() == 1 })
	closeServer(t, srv, c)
}

// startServer returns a new server with opts, served by a test server.
func startServer(t *testing.T, opts ...Option) (*Server, *httptest.Server) {
	t.Helper()
	srv, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, httptest.NewServer(srv)
}

// closeServer closes srv and expects c, one of its clients, to get the
// close packet and then the end of its connection.
func closeServer(t *testing.T, srv *Server, c *wsClient) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "1")
	c.expectClosed(t)
}

package engineio

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

// keptClient speaks HTTP/1.1 on one connection, as a browser's keep-alive
// connection does.
type keptClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	sid  string
}

func dialKept(t *testing.T, ts *httptest.Server, sid string) *keptClient {
	if ts.TLS == nil {
		return dialKeptAt(t, ts.Listener.Addr().String(), sid)
	}
	t.Helper()
	conn, err := tls.Dial("tcp", ts.Listener.Addr().String(), ts.Client().Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keptClient{t: t, conn: conn, br: bufio.NewReader(conn), sid: sid}
}

// dialKeptAt is dialKept to a listener's address (host:port).
func dialKeptAt(t *testing.T, addr, sid string) *keptClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &keptClient{t: t, conn: conn, br: bufio.NewReader(conn), sid: sid}
}

// getRequest is a GET of target (path and query).
func getRequest(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: example.com\r\n\r\n"
}

func (c *keptClient) pollRequest() string {
	return getRequest("/engine.io/?EIO=4&transport=polling&sid=" + c.sid)
}

func (c *keptClient) postRequest(body string) string {
	return "POST /engine.io/?EIO=4&transport=polling&sid=" + c.sid + " HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func (c *keptClient) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, raw); err != nil {
		c.t.Fatal(err)
	}
}

// response reads the next response on the connection.
func (c *keptClient) response() (*http.Response, string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(body)
}

func (c *keptClient) expect(want string) {
	c.t.Helper()
	resp, body := c.response()
	if resp.StatusCode != http.StatusOK || body != want {
		c.t.Fatalf("answered %d %q; want 200 %q", resp.StatusCode, body, want)
	}
	if resp.Close {
		c.t.Fatalf("response to %q closes the connection", want)
	}
}

// pollPing sends a poll on c and expects the session's ping to answer
// it, on a connection kept after the answer.
func (c *keptClient) pollPing() {
	c.t.Helper()
	c.send(c.pollRequest())
	c.expect("2")
}

// expectStatus reads the next response on c and checks its status and body.
func (c *keptClient) expectStatus(what string, status int, body string) {
	c.t.Helper()
	if resp, b := c.response(); resp.StatusCode != status || b != body {
		c.t.Fatalf("%s answered %d %q; want %d %q", what, resp.StatusCode, b, status, body)
	}
}

// heldPoll sends a poll, waits for the server to hold it, and has srv send
// msg to the session: the poll's answer.
func (c *keptClient) heldPoll(srv *Server, msg string) {
	c.t.Helper()
	c.send(c.pollRequest())
	waitUntil(c.t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
	if err := srv.Send(c.sid, msg); err != nil {
		c.t.Fatal(err)
	}
	c.expect("4" + msg)
}

func (c *keptClient) expectEOF() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		c.t.Fatalf("read %d, %v; want EOF", n, err)
	}
}

// When the server is the http.Server's own Handler, a held poll's
// connection is kept after the answer: the POSTs and polls that follow on
// it, pipelined or not, are read and answered by the server itself, and a
// poll on it is held again. Closing the server closes it. Over TLS too:
// the connection parks through crypto/tls while its poll is held, and the
// requests read from it carry its TLS state.
func TestHeldPollKeepsConnection(t *testing.T) {
	overTLSToo(t, testHeldPollKeepsConnection)
}

func testHeldPollKeepsConnection(t *testing.T, useTLS bool) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sawTLS := make(chan bool, 8) // of the POSTs: whether each had TLS state
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithHeaders(func(_ http.Header, r *http.Request) {
		if r.Method == http.MethodPost {
			select {
			case sawTLS <- r.TLS != nil:
			default:
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	srv.OnMessage(func(s *Session, msg Message) { got <- string(msg.Data) })
	ts := newTestServer(srv, useTLS)
	defer ts.Close()
	defer ts.Client().CloseIdleConnections()

	c := dialKept(t, ts, pollOpen(t, ts))
	c.heldPoll(srv, "one")
	if n := srv.handler.KeptConnections(); n != 1 {
		t.Fatalf("%d kept connections; want 1", n)
	}

	c.send(c.postRequest("4hello"))
	c.expect("ok")
	if m := <-got; m != "hello" {
		t.Fatalf("message %q", m)
	}
	if tlsState := <-sawTLS; tlsState != useTLS {
		t.Fatalf("a POST read from the kept connection has TLS state %v; want %v", tlsState, useTLS)
	}
	// Two POSTs in one write: both answered, in order.
	c.send(c.postRequest("4a") + c.postRequest("4b"))
	c.expect("ok")
	c.expect("ok")
	if a, b := <-got, <-got; a != "a" || b != "b" {
		t.Fatalf("messages %q %q", a, b)
	}
	// The next poll on the connection is held again.
	c.heldPoll(srv, "two")
	if got := srv.handler.HeldPolls(); got != 0 {
		t.Errorf("%d polls still held", got)
	}

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.expectEOF()
	waitUntil(t, "the kept connection to be let go", func() bool { return srv.handler.KeptConnections() == 0 })
}

// A kept connection is read within the limits net/http keeps: a malformed
// request gets 400, a header over MaxHeaderBytes 431, and the connection
// closes; so does one whose client asks for it.
func TestKeptConnectionRefusesBadRequests(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(50*time.Millisecond), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.MaxHeaderBytes = 1024
	ts.Start()
	defer ts.Close()
	defer srv.Close(t.Context())
	defer http.DefaultClient.CloseIdleConnections()

	// kept returns a client whose connection is kept: its first poll was
	// held and answered (a ping comes within 50 ms).
	kept := func() *keptClient {
		c := dialKept(t, ts, pollOpen(t, ts))
		c.pollPing()
		return c
	}
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"garbage", "NOT HTTP\r\n\r\n", http.StatusBadRequest},
		{"no host", "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n", http.StatusBadRequest},
		{"large header", "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
		{"bad expectation", "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", http.StatusBadRequest},
	} {
		c := kept()
		c.send(tc.request)
		resp, _ := c.response()
		if resp.StatusCode != tc.status || !resp.Close {
			t.Errorf("%s: %d (close %v); want %d and the connection closed", tc.name, resp.StatusCode, resp.Close, tc.status)
		}
		c.expectEOF()
	}

	c := kept()
	c.send("POST /engine.io/?EIO=4&transport=polling&sid=" + c.sid + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\n3")
	if resp, body := c.response(); body != "ok" || !resp.Close {
		t.Errorf("POST with Connection: close answered %q (close %v)", body, resp.Close)
	}
	c.expectEOF()

	// Other paths get the server's 404; the connection stays.
	c = kept()
	c.send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.response(); resp.StatusCode != http.StatusNotFound || resp.Close {
		t.Errorf("other path: %d (close %v); want 404, kept", resp.StatusCode, resp.Close)
	}
	waitUntil(t, "the clients' connections to close", func() bool { return srv.handler.KeptConnections() == 1 })
}

// A POST of heartbeats only closes its connection, kept or not: the
// client's next POST comes a ping interval later, and its polls have a
// connection of their own. A POST with a message keeps it.
func TestKeptConnectionClosesAfterHeartbeat(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(50*time.Millisecond), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close(t.Context())
	defer ts.Client().CloseIdleConnections()

	c := dialKept(t, ts, pollOpen(t, ts))
	c.pollPing()
	c.send(c.postRequest("3\x1e4x"))
	c.expect("ok") // a pong with a message: kept
	if n := srv.handler.KeptConnections(); n != 1 {
		t.Fatalf("%d kept connections after a POST with a message; want 1", n)
	}
	c.pollPing()
	c.send(c.postRequest("3"))
	if resp, body := c.response(); body != "ok" || !resp.Close {
		t.Fatalf("a POST of a pong answered %q (close %v); want ok, closing", body, resp.Close)
	}
	c.expectEOF()
	waitUntil(t, "the kept connection to be let go", func() bool { return srv.handler.KeptConnections() == 0 })
}

// pongAside answers the session's ping with a POST on a connection of its
// own, as a client does beside its next poll.
func pongAside(t *testing.T, ts *httptest.Server, sid string) {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader("3"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("pong answered %d %q", resp.StatusCode, body)
	}
}

// A client that closes its kept connection between requests lets the
// server forget it; one that goes away with a poll held on it abandons
// the poll, which closes the session as a transport error.
func TestKeptConnectionClosedByClient(t *testing.T) {
	overTLSToo(t, testKeptConnectionClosedByClient)
}

func testKeptConnectionClosedByClient(t *testing.T, useTLS bool) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan Reason, 1)
	srv.OnDisconnect(func(s *Session, r Reason) { reasons <- r })
	ts := newTestServer(srv, useTLS)
	defer ts.Close()
	defer srv.Close(t.Context())
	defer ts.Client().CloseIdleConnections()

	c := dialKept(t, ts, pollOpen(t, ts))
	c.pollPing()
	pongAside(t, ts, c.sid)
	c.conn.Close()
	waitUntil(t, "the kept connection to be forgotten", func() bool { return srv.handler.KeptConnections() == 0 })

	c = dialKept(t, ts, c.sid)
	c.pollPing()
	pongAside(t, ts, c.sid)
	c.send(c.pollRequest())
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 && srv.handler.KeptConnections() == 1 })
	c.conn.Close()
	expectDroppedPoll(t, reasons)
	waitUntil(t, "the kept connection to be forgotten", func() bool {
		return srv.handler.KeptConnections() == 0 && srv.handler.HeldPolls() == 0
	})
}

// A kept connection can carry the session's WebSocket upgrade: the
// upgrade takes it over from the server's reader.
func TestKeptConnectionUpgrades(t *testing.T) {
	overTLSToo(t, testKeptConnectionUpgrades)
}

func testKeptConnectionUpgrades(t *testing.T, useTLS bool) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(100*time.Millisecond), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	ts := newTestServer(srv, useTLS)
	defer ts.Close()
	defer ts.Client().CloseIdleConnections()

	c := dialKept(t, ts, pollOpen(t, ts))
	c.pollPing()
	pongAside(t, ts, c.sid)
	if n := srv.handler.KeptConnections(); n != 1 {
		t.Fatalf("%d kept connections; want 1", n)
	}
	d := websocket.Dialer{NetDialContext: func(context.Context, string, string) (net.Conn, error) { return c.conn, nil }}
	ws, _, err := d.Dial("ws://example.com/engine.io/?EIO=4&transport=websocket&sid="+c.sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if n := srv.handler.KeptConnections(); n != 0 {
		t.Fatalf("%d kept connections after the upgrade; want 0", n)
	}
	// The polling transport still has a poll to release: send it on a
	// connection of its own, as a client does.
	poll := rawPoll(t, ts, c.sid, "", "")
	_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
	if _, m, err := ws.ReadMessage(); err != nil || string(m) != "3probe" {
		t.Fatalf("probe answered %q, %v", m, err)
	}
	if _, body := readResponse(t, poll); body != "6" {
		t.Fatalf("pending poll released with %q; want a noop", body)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4over ws"))
	for {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, m, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(m) == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if string(m) != "4over ws" {
			t.Fatalf("echo %q", m)
		}
		break
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// A request sent on a connection behind its held poll (pipelined) waits:
// it is read and answered after the poll's answer. Over TLS, where the
// request may wait inside crypto/tls, too.
func TestKeptConnectionRequestBehindHeldPoll(t *testing.T) {
	overTLSToo(t, func(t *testing.T, useTLS bool) {
		defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
		srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		srv.OnMessage(func(s *Session, msg Message) { got <- string(msg.Data) })
		ts := newTestServer(srv, useTLS)
		defer ts.Close()
		defer ts.Client().CloseIdleConnections()

		c := dialKept(t, ts, pollOpen(t, ts))
		c.heldPoll(srv, "one") // the connection is kept from here on
		c.send(c.pollRequest())
		waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
		c.send(c.postRequest("4behind"))
		select {
		case m := <-got:
			t.Fatalf("message %q read before the held poll's answer", m)
		case <-time.After(50 * time.Millisecond):
		}
		if err := srv.Send(c.sid, "two"); err != nil {
			t.Fatal(err)
		}
		c.expect("4two")
		c.expect("ok")
		if m := <-got; m != "behind" {
			t.Fatalf("message %q", m)
		}
		if err := srv.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		c.expectEOF()
	})
}

// A kept connection builds the requests it reads in memory it reuses once
// nothing refers to them (a poll's, a POST's). What outlives a request
// stays as it came: the session's handshake header and query, and the
// requests that a callback of the application saw and kept.
func TestKeptConnectionReusesOnlyRequestsNothingKeeps(t *testing.T) {
	for _, withCallback := range []bool{false, true} {
		t.Run("callback="+strconv.FormatBool(withCallback), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			type seen struct {
				r                 *http.Request
				method, query, id string
			}
			var (
				mu   sync.Mutex
				kept []seen
			)
			opts := []Option{WithCloseTimeout(50 * time.Millisecond)}
			if withCallback {
				opts = append(opts, WithHeaders(func(_ http.Header, r *http.Request) {
					mu.Lock()
					defer mu.Unlock()
					kept = append(kept, seen{r, r.Method, r.URL.RawQuery, r.Header.Get("X-Id")})
				}))
			}
			srv, err := NewServer(opts...)
			if err != nil {
				t.Fatal(err)
			}
			sessions := make(chan *Session, 1)
			srv.OnConnect(func(s *Session) error { sessions <- s; return nil })
			srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
			base, done := serve(t, srv)

			c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
			c.send("GET /engine.io/?EIO=4&transport=polling&room=first HTTP/1.1\r\nHost: example.com\r\nX-Id: handshake\r\n\r\n")
			resp, body := c.response()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("handshake answered %d %q", resp.StatusCode, body)
			}
			c.sid = openSID(t, body)
			sess := <-sessions
			withID := func(raw, id string) string {
				return strings.Replace(raw, "\r\n", "\r\nX-Id: "+id+"\r\n", 1)
			}
			for i := range 20 {
				id := strconv.Itoa(i)
				c.send(withID(c.postRequest("4m"+id), "post "+id))
				c.expect("ok")
				c.send(withID(getRequest("/engine.io/?EIO=4&transport=polling&room=r"+id+"&sid="+c.sid), "poll "+id))
				c.expect("4m" + id)
				c.heldPoll(srv, "held "+id)
			}

			if got := sess.Header().Get("X-Id"); got != "handshake" {
				t.Errorf("the session's handshake header has X-Id %q; want %q", got, "handshake")
			}
			if got := sess.Query().Get("room"); got != "first" {
				t.Errorf("the session's handshake query has room %q; want %q", got, "first")
			}
			mu.Lock()
			if withCallback && len(kept) < 61 {
				t.Errorf("the Headers callback saw %d requests; want at least 61", len(kept))
			}
			for _, k := range kept {
				if k.r.Method != k.method || k.r.URL.RawQuery != k.query || k.r.Header.Get("X-Id") != k.id {
					t.Errorf("a request seen as %s %q (X-Id %q) is now %s %q (X-Id %q)",
						k.method, k.query, k.id, k.r.Method, k.r.URL.RawQuery, k.r.Header.Get("X-Id"))
				}
			}
			mu.Unlock()

			if err := srv.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			expectServeEnded(t, done)
		})
	}
}

// A held poll answers with the response header its request was given
// (CORS's, here) while other kept connections read and answer requests,
// whose responses may be built in the memory the poll's request left.
func TestHeldPollKeepsItsHeaderWhileOthersAreServed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithCORS("https://a.example", "https://b.example"))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	base, done := serve(t, srv)
	addr := strings.TrimPrefix(base, "http://")
	a, b := openKeptFrom(t, addr, "https://a.example"), openKeptFrom(t, addr, "https://b.example")
	for i := range 20 {
		id := strconv.Itoa(i)
		a.send(withOrigin(a.pollRequest(), "https://a.example"))
		waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
		for range 3 {
			b.send(withOrigin(b.postRequest("4b"+id), "https://b.example"))
			b.expect("ok")
			b.send(withOrigin(b.pollRequest(), "https://b.example"))
			b.expect("4b" + id)
		}
		if err := srv.Send(a.sid, "a"+id); err != nil {
			t.Fatal(err)
		}
		resp, body := a.response()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != http.StatusOK || body != "4a"+id || got != "https://a.example" {
			t.Fatalf("held poll %d answered %d %q with Access-Control-Allow-Origin %q; want 200 %q with %q",
				i, resp.StatusCode, body, got, "4a"+id, "https://a.example")
		}
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// Held polls are answered in reused responses: an answer carries the
// headers of its own poll only, never those of an answer before it.
func TestHeldPollAnswersKeepNothingOfEachOther(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithCORS("https://a.example"))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	addr := strings.TrimPrefix(base, "http://")
	a, b := openKeptFrom(t, addr, "https://a.example"), openKeptFrom(t, addr, "")
	for i := range 20 {
		for _, c := range []*keptClient{a, b} {
			origin, binary := "", i%2 == 0
			if c == a {
				origin, binary = "https://a.example", !binary
			}
			c.send(withOrigin(c.pollRequest(), origin))
			waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
			id := strconv.Itoa(i)
			send, want := func() error { return srv.Send(c.sid, id) }, "4"+id
			if binary {
				data := []byte{byte(i), 0xff}
				send, want = func() error { return srv.SendBinary(c.sid, data) }, "b"+base64.StdEncoding.EncodeToString(data)
			}
			if err := send(); err != nil {
				t.Fatal(err)
			}
			resp, body := c.response()
			if resp.StatusCode != http.StatusOK || body != want || resp.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
				t.Fatalf("poll %d with origin %q answered %d %q of type %q; want 200 %q",
					i, origin, resp.StatusCode, body, resp.Header.Get("Content-Type"), want)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Fatalf("poll %d with origin %q answered with Access-Control-Allow-Origin %q", i, origin, got)
			}
		}
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// openKeptFrom opens a polling session on a kept connection to addr, with
// an Origin header if origin is set.
func openKeptFrom(t *testing.T, addr, origin string) *keptClient {
	t.Helper()
	c := dialKeptAt(t, addr, "")
	c.send(withOrigin(getRequest("/engine.io/?EIO=4&transport=polling"), origin))
	_, body := c.response()
	c.sid = openSID(t, body)
	return c
}

// withOrigin adds an Origin header to the raw request, if origin is set.
func withOrigin(raw, origin string) string {
	if origin == "" {
		return raw
	}
	return strings.Replace(raw, "\r\n", "\r\nOrigin: "+origin+"\r\n", 1)
}

package engineio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/internal/netpoll"
)

// serve runs srv.Serve on a new loopback listener and returns its base URL
// and a channel with Serve's result.
func serve(t *testing.T, srv *Server) (string, <-chan error) {
	return serveWrapped(t, srv, func(l net.Listener) net.Listener { return l })
}

// serveWrapped is serve with the listener wrapped.
func serveWrapped(t *testing.T, srv *Server, wrap func(net.Listener) net.Listener) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(wrap(ln)) }()
	return "http://" + ln.Addr().String(), done
}

// serveNew makes a server with opts and serves it as serve does, until
// the test ends, when it closes it and checks that Serve ended; it returns
// the base URL.
func serveNew(t *testing.T, opts ...Option) string {
	t.Helper()
	srv, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
		expectServeEnded(t, done)
	})
	return base
}

func expectServeEnded(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v; want http.ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}

// Serve reads the requests of its connections itself: a polling session
// and a WebSocket session work on it, a keep-alive client's connections
// wait parked between requests, with no goroutine each, other paths get
// 404, and Close ends Serve and leaves no goroutine behind.
func TestServe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	base, done := serve(t, srv)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get(base + "/engine.io/?EIO=4&transport=polling")
	if status != http.StatusOK || !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake answered %d %q", status, body)
	}
	sid := openSID(t, body)
	poll := base + "/engine.io/?EIO=4&transport=polling&sid=" + sid
	for _, m := range []string{"one", strings.Repeat("x", 5000)} {
		resp, err := client.Post(poll, "text/plain;charset=UTF-8", strings.NewReader("4"+m))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "ok" {
			t.Fatalf("POST answered %q", b)
		}
		if status, body := get(poll); status != http.StatusOK || body != "4"+m {
			t.Fatalf("poll answered %d %q", status, body[:min(len(body), 40)])
		}
	}
	if status, _ := get(base + "/other"); status != http.StatusNotFound {
		t.Fatalf("other path answered %d; want 404", status)
	}
	waitUntil(t, "the connection to wait parked", func() bool { return srv.handler.KeptConnections() == 1 })

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, open, err := ws.ReadMessage(); err != nil || open[0] != '0' {
		t.Fatalf("open packet %q, %v", open, err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4over ws"))
	if _, m, err := ws.ReadMessage(); err != nil || string(m) != "4over ws" {
		t.Fatalf("WebSocket echo %q, %v", m, err)
	}

	// A quiet keep-alive connection holds no goroutine once it has been
	// quiet for the poller's interval: only the server's own and the
	// WebSocket's reader and writer remain.
	for range 20 {
		dialServed(t, base)
	}
	waitUntil(t, "the quiet connections to be kept", func() bool { return srv.handler.KeptConnections() == 21 })
	waitUntil(t, "the quiet connections to wait parked", func() bool { return runtime.NumGoroutine() <= 20 })

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
	if err := srv.Serve(nil); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Close returned %v", err)
	}
}

// WithHTTPServer's timeouts apply to the connections Serve reads: one that
// sends no request within ReadHeaderTimeout, or no next request within
// IdleTimeout, is closed.
func TestServeTimeouts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithHTTPServer(&http.Server{ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	addr := strings.TrimPrefix(base, "http://")

	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("silent connection: read %d, %v; want EOF", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("silent connection closed after %v; want the header timeout, 50 ms, not the idle timeout", d)
	}

	// A header that does not end in time.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_, _ = io.WriteString(slow, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
	_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := slow.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("slow header: read %d, %v; want EOF", n, err)
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	_, _ = io.WriteString(idle, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(newReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusNotFound || resp.Close {
		t.Fatalf("response %v, %v; want 404 keeping the connection", resp, err)
	}
	start = time.Now()
	if n, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("body: %d, %v", n, err)
	}
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("idle connection: read %d, %v; want EOF", n, err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("idle connection closed after %v; want the idle timeout, 2 s", d)
	}

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// Beside an application's routes, a kept connection that checks each
// request's path within ReadHeaderTimeout still waits IdleTimeout for the
// next request once one was served.
func TestServeIdleBesideApp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The connection waits on its goroutine, as one does for up to a
	// second by default, not parked at once.
	idle := netpoll.IdleAfter
	netpoll.IdleAfter = time.Hour
	defer func() { netpoll.IdleAfter = idle }()
	app := http.NewServeMux()
	app.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithHTTPServer(&http.Server{Handler: app, ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	c := dialServed(t, base)
	br := newReader(c)
	for i := range 2 {
		if i > 0 {
			time.Sleep(300 * time.Millisecond) // past ReadHeaderTimeout
		}
		_, _ = io.WriteString(c, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("handshake %d: %v, %v; want 200", i, resp, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || !strings.HasPrefix(string(body), "0{") {
			t.Fatalf("handshake %d: body %q, %v; want an open packet", i, body, err)
		}
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// Connections the server cannot read itself, a TLS listener's, are served
// by net/http with the same handler, until a poll is held on one: it is
// kept from then on.
func TestServeTLS(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	certs := httptest.NewUnstartedServer(nil)
	certs.StartTLS()
	tlsConfig := certs.TLS.Clone()
	client := certs.Client()
	certs.Close()
	defer client.CloseIdleConnections()

	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serveWrapped(t, srv, func(l net.Listener) net.Listener { return tls.NewListener(l, tlsConfig) })
	resp, err := client.Get("https" + strings.TrimPrefix(base, "http") + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(b), `0{"sid":"`) {
		t.Fatalf("handshake over TLS answered %d %q", resp.StatusCode, b)
	}
	if n := srv.handler.KeptConnections(); n != 0 {
		t.Errorf("%d TLS connections read by the server itself; want 0", n)
	}
	// A poll that waits is held, and its connection is kept from then on
	// (the http.Server's Handler is the server): the next request on it is
	// read by the server.
	sid := strings.TrimPrefix(string(b), `0{"sid":"`)
	sid = sid[:strings.IndexByte(sid, '"')]
	conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "http://"), client.Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &keptClient{t: t, conn: conn, br: bufio.NewReader(conn), sid: sid}
	c.heldPoll(srv, "held")
	if n := srv.handler.KeptConnections(); n != 1 {
		t.Errorf("%d kept connections after a poll held over TLS; want 1", n)
	}
	c.send(c.postRequest("4after"))
	c.expect("ok")
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// dialServed opens a connection to the server serve started at base; the
// test's end closes it.
func dialServed(t *testing.T, base string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Without IdleTimeout, ReadTimeout bounds the wait for the next request,
// as in net/http.
func TestServeReadTimeoutBoundsIdle(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithHTTPServer(&http.Server{ReadTimeout: 300 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	c := dialServed(t, base)
	_, _ = io.WriteString(c, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := newReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("response %v, %v; want 404", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("idle connection: read %d, %v; want EOF at the read timeout", n, err)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// flakyListener fails its first Accept as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failed bool
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if !l.failed {
		l.failed = true
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// Serve goes on accepting after an error that passes (EMFILE), as
// http.Server.Serve does.
func TestServeOutlastsAcceptErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serveWrapped(t, srv, func(l net.Listener) net.Listener { return &flakyListener{Listener: l} })
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(base + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake after an accept error answered %d", resp.StatusCode)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// In a storm of requests (thousands of clients answering a heartbeat
// together), kept connections park right after their request once
// httpapi.MaxAwaiting of them wait on goroutines; a parked one is served
// as usual when its next request comes.
func TestServeParksBeyondMaxAwaiting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	idle, most := netpoll.IdleAfter, httpapi.MaxAwaiting
	netpoll.IdleAfter, httpapi.MaxAwaiting = time.Hour, 2 // only MaxAwaiting parks
	defer func() { netpoll.IdleAfter, httpapi.MaxAwaiting = idle, most }()
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	base, done := serve(t, srv)
	addr := strings.TrimPrefix(base, "http://")

	const n = 10
	clients := make([]*keptClient, n)
	for i := range clients {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := &keptClient{t: t, conn: conn, br: bufio.NewReader(conn)}
		c.send("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: example.com\r\n\r\n")
		resp, body := c.response()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, `0{"sid":"`) {
			t.Fatalf("handshake answered %d %q", resp.StatusCode, body)
		}
		c.sid = openSID(t, body)
		clients[i] = c
	}
	waitUntil(t, "all but two connections to park", func() bool { return keptGoroutines() == 2 })
	if got := srv.handler.KeptConnections(); got != n {
		t.Fatalf("%d kept connections; want %d", got, n)
	}
	for i, c := range clients {
		msg := "hello " + strconv.Itoa(i)
		c.send(c.postRequest("4" + msg))
		c.expect("ok")
		c.send(c.pollRequest())
		c.expect("4" + msg)
	}
	waitUntil(t, "all but two connections to park again", func() bool { return keptGoroutines() == 2 })

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// keptGoroutines counts the goroutines serving kept connections.
func keptGoroutines() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "httpapi.(*keptConn).serve(")
}

// openSID returns the sid of a handshake's answer, `0{"sid":"...",...}`.
func openSID(t *testing.T, body string) string {
	t.Helper()
	if !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake answered %q", body)
	}
	sid := body[len(`0{"sid":"`):]
	return sid[:strings.IndexByte(sid, '"')]
}

// WithHTTPServer's Handler serves the other paths beside the engine, on
// the same connections: Serve hands a connection to net/http at its first
// request for another path, with the bytes the client sent after it; the
// engine goes on working on it, a long-poll keeps it again, and the next
// page request hands it over again. ServeHTTP passes other paths to the
// same handler, also while the server closes, and a handler that passes a
// request back gets 404, not a loop.
func TestServeFallback(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	app := http.NewServeMux()
	app.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	app.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "a")
		http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, "b")
	})
	var cs connStates
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithHTTPServer(&http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second, ConnState: cs.hook}))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	base, done := serve(t, srv)

	c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
	c.send(getRequest("/engine.io/?EIO=4&transport=polling"))
	_, body := c.response()
	c.sid = openSID(t, body)
	waitUntil(t, "the connection to be kept", func() bool { return srv.handler.KeptConnections() == 1 })

	// The page request and the engine's requests right behind it.
	c.send(getRequest("/hello") + c.postRequest("4one") + c.pollRequest())
	c.expectStatus("GET /hello", http.StatusOK, "hello")
	c.expectStatus("POST", http.StatusOK, "ok")
	c.expectStatus("GET", http.StatusOK, "4one")
	if n := srv.handler.KeptConnections(); n != 0 {
		t.Fatalf("%d kept connections after the page request; want 0", n)
	}
	// Serve's own connection is hijacked; net/http's begins.
	if got := cs.of(c.conn); !strings.HasPrefix(got, "[new active idle hijacked new active idle") {
		t.Errorf("the connection's states are %s", got)
	}
	c.send(getRequest("/stream"))
	c.expectStatus("GET /stream", http.StatusOK, "ab")

	// A long-poll keeps the connection again; a page request hands it over again.
	c.send(c.pollRequest())
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.KeptConnections() == 1 })
	if err := srv.Send(c.sid, "two"); err != nil {
		t.Fatal(err)
	}
	c.expectStatus("held GET", http.StatusOK, "4two")
	c.send(getRequest("/hello"))
	c.expectStatus("GET /hello", http.StatusOK, "hello")
	waitUntil(t, "the connection to be handed over", func() bool { return srv.handler.KeptConnections() == 0 })
	c.send(getRequest("/missing"))
	c.expectStatus("GET /missing", http.StatusNotFound, "404 page not found\n")

	// A WebSocket on the handed-over connection parks when quiet, as any.
	dialer := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return c.conn, nil }}
	ws, _, err := dialer.Dial("ws://test/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, open, err := ws.ReadMessage(); err != nil || open[0] != '0' {
		t.Fatalf("open packet %q, %v", open, err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("4three"))
	if _, m, err := ws.ReadMessage(); err != nil || string(m) != "4three" {
		t.Fatalf("WebSocket echo %q, %v", m, err)
	}
	waitUntil(t, "the WebSocket to park", func() bool { return srv.handler.ParkedWebSockets() == 1 })

	// ServeHTTP: the same routes; a fallback that passes a request back
	// to the server gets 404.
	loop := http.NewServeMux()
	loop.Handle("/", srv)
	loopSrv, err := NewServer(WithHTTPServer(&http.Server{Handler: loop}))
	if err != nil {
		t.Fatal(err)
	}
	defer loopSrv.Close(t.Context())
	loop.Handle("/loop/", loopSrv)
	for _, tc := range []struct {
		h            http.Handler
		path, status string
	}{{srv, "/hello", "200 hello"}, {loopSrv, "/loop/x", "404 404 page not found\n"}} {
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if got := strconv.Itoa(rec.Code) + " " + rec.Body.String(); got != tc.status {
			t.Errorf("ServeHTTP %s answered %q; want %q", tc.path, got, tc.status)
		}
	}

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hello", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "hello" {
		t.Errorf("GET /hello after Close answered %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("handshake after Close answered %d; want 503", rec.Code)
	}
}

// connStates records the states an http.Server's ConnState hook sees, by
// the client's address.
type connStates struct {
	mu     sync.Mutex
	states map[string][]http.ConnState
}

func (cs *connStates) hook(c net.Conn, state http.ConnState) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.states == nil {
		cs.states = map[string][]http.ConnState{}
	}
	addr := c.RemoteAddr().String()
	cs.states[addr] = append(cs.states[addr], state)
}

func (cs *connStates) of(c net.Conn) string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return fmt.Sprint(cs.states[c.LocalAddr().String()])
}

// The ConnState hook of WithHTTPServer's http.Server sees the connections
// Serve reads itself as net/http's: New, Active and Idle for each request
// (a held poll's too), Closed, and Hijacked for a WebSocket.
func TestServeConnState(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var cs connStates
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithHTTPServer(&http.Server{ConnState: cs.hook}))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)

	c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
	c.send(getRequest("/engine.io/?EIO=4&transport=polling"))
	_, body := c.response()
	c.sid = openSID(t, body)
	c.send(getRequest("/other"))
	c.expectStatus("GET /other", http.StatusNotFound, "404 page not found\n")
	c.send(c.pollRequest())
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
	if err := srv.Send(c.sid, "hi"); err != nil {
		t.Fatal(err)
	}
	c.expectStatus("held GET", http.StatusOK, "4hi")
	const polled = "[new active idle active idle active idle"
	waitUntil(t, "the states of the requests", func() bool { return cs.of(c.conn) == polled+"]" })
	c.conn.Close()
	waitUntil(t, "StateClosed", func() bool { return cs.of(c.conn) == polled+" closed]" })

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if got := cs.of(ws.UnderlyingConn()); got != "[new active hijacked]" {
		t.Errorf("a WebSocket's states are %s; want [new active hijacked]", got)
	}

	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

type connKey struct{}

// The application's callbacks see, on the requests Serve reads itself, the
// context WithHTTPServer's ConnContext gave their connection, on every
// request of a kept connection, and the local address of the connection,
// as net/http's requests carry it, with or without ConnContext.
func TestServeConnContextReachesCallbacks(t *testing.T) {
	for _, withConnContext := range []bool{false, true} {
		t.Run(fmt.Sprintf("ConnContext=%v", withConnContext), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			hs := &http.Server{}
			if withConnContext {
				hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
					return context.WithValue(ctx, connKey{}, c.RemoteAddr().String())
				}
			}
			seen := make(chan string, 2)
			srv, err := NewServer(
				WithCloseTimeout(50*time.Millisecond),
				WithHTTPServer(hs),
				WithAllowRequest(func(r *http.Request) error {
					addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
					if got, _ := r.Context().Value(connKey{}).(string); withConnContext && got != r.RemoteAddr {
						return fmt.Errorf("ConnContext's value %q, remote %q", got, r.RemoteAddr)
					}
					if addr == nil {
						seen <- "none"
						return nil
					}
					seen <- addr.String()
					return nil
				}),
			)
			if err != nil {
				t.Fatal(err)
			}
			base, done := serve(t, srv)
			c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
			for i := range 2 {
				c.send(getRequest("/engine.io/?EIO=4&transport=polling"))
				if resp, body := c.response(); resp.StatusCode != http.StatusOK {
					t.Fatalf("handshake %d answered %d %q", i, resp.StatusCode, body)
				}
				select {
				case got := <-seen:
					if want := c.conn.RemoteAddr().String(); got != want {
						t.Errorf("request %d: http.LocalAddrContextKey %s, want %s", i, got, want)
					}
				default:
					t.Errorf("request %d did not reach AllowRequest", i)
				}
			}
			if err := srv.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			expectServeEnded(t, done)
		})
	}
}

// OnConnectionError, set after NewServer, sees the requests that Serve reads
// itself with their connection's context, as the callbacks given as options
// do.
func TestServeConnectionErrorSeesConnContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(
		WithCloseTimeout(50*time.Millisecond),
		WithHTTPServer(&http.Server{ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c.RemoteAddr().String())
		}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	var seen, withContext atomic.Int32
	srv.OnConnectionError(func(e ConnectionError) {
		seen.Add(1)
		if got, _ := e.Request.Context().Value(connKey{}).(string); got != "" && got == e.Request.RemoteAddr {
			withContext.Add(1)
		}
	})
	base, done := serve(t, srv)
	c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
	for i := range 2 {
		c.send(getRequest("/engine.io/?EIO=4&transport=polling&sid=nope"))
		if resp, body := c.response(); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("request %d answered %d %q, want 400", i, resp.StatusCode, body)
		}
	}
	if n, m := seen.Load(), withContext.Load(); n != 2 || m != 2 {
		t.Errorf("OnConnectionError saw %d requests, %d with the connection's context; want 2 and 2", n, m)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// Close lets the application's requests on Serve's connections finish, as
// http.Server.Shutdown does, until its context ends; then it cuts them and
// says so.
func TestServeCloseWaitsForApplicationRequests(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, cut := range []bool{false, true} {
		started, release := make(chan struct{}), make(chan struct{})
		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			_, _ = io.WriteString(w, "done")
		})
		srv, err := NewServer(WithHTTPServer(&http.Server{Handler: app}))
		if err != nil {
			t.Fatal(err)
		}
		base, done := serve(t, srv)
		c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
		c.send(getRequest("/slow"))
		<-started

		ctx, cancel := context.WithCancel(t.Context())
		closed := make(chan error, 1)
		go func() { closed <- srv.Close(ctx) }()
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v while a request was running", err)
		case <-time.After(100 * time.Millisecond):
		}
		if cut {
			cancel()
			if err := <-closed; !errors.Is(err, context.Canceled) {
				t.Errorf("Close after its context ended returned %v; want context.Canceled", err)
			}
			_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := http.ReadResponse(c.br, nil); err == nil {
				t.Error("a cut request still got its response")
			}
		} else {
			close(release)
			c.expectStatus("GET /slow", http.StatusOK, "done")
			if err := <-closed; err != nil {
				t.Errorf("Close returned %v", err)
			}
		}
		cancel()
		expectServeEnded(t, done)
		c.conn.Close()
	}
}

// handshakeOn sends a polling handshake on c and returns the response's
// body.
func handshakeOn(t *testing.T, c net.Conn) string {
	t.Helper()
	if _, err := io.WriteString(c, getRequest("/engine.io/?EIO=4&transport=polling")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(newReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// Session.RemoteAddr is the address the handshake came from, whoever read
// the request: Serve, or net/http with the server as a Handler.
func TestSessionRemoteAddr(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run(map[bool]string{true: "Serve", false: "net/http"}[own], func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			addrs := make(chan string, 1)
			srv.OnConnect(func(s *Session) error { addrs <- s.RemoteAddr(); return nil })
			var base string
			var done <-chan error
			if own {
				base, done = serve(t, srv)
			} else {
				ts := httptest.NewServer(srv)
				defer ts.Close()
				base = ts.URL
			}
			c := dialServed(t, base)
			openSID(t, handshakeOn(t, c))
			if got, want := <-addrs, c.LocalAddr().String(); got != want {
				t.Errorf("RemoteAddr() = %q; want the client's address %q", got, want)
			}
			if err := srv.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if own {
				expectServeEnded(t, done)
			}
		})
	}
}

// ListenAndServe serves on the address it is given until the server
// closes, and says why it could not listen.
func TestListenAndServe(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.ListenAndServe("127.0.0.1:-1"); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("ListenAndServe on a bad address: %v; want net.Listen's error", err)
	}
	// A port that was free a moment ago.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(addr) }()
	var body string
	waitUntil(t, "the server to answer a handshake", func() bool {
		resp, err := http.Get("http://" + addr + "/engine.io/?EIO=4&transport=polling")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return true
	})
	openSID(t, body)
	http.DefaultClient.CloseIdleConnections()
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// A request whose handling panics on a connection Serve reads closes that
// connection without a response, as net/http does, and is logged unless
// the panic is http.ErrAbortHandler; the server serves on.
func TestServePanickingRequest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := &lockedBuffer{}
	srv, err := NewServer(WithCloseTimeout(50*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		WithAllowRequest(func(r *http.Request) error {
			switch {
			case r.URL.Query().Has("boom"):
				panic("boom")
			case r.URL.Query().Has("abort"):
				panic(http.ErrAbortHandler)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	for _, query := range []string{"boom", "abort"} {
		c := dialServed(t, base)
		if _, err := io.WriteString(c, getRequest("/engine.io/?EIO=4&transport=polling&"+query)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("%s: read %d, %v after the panic; want the connection closed with no response", query, n, err)
		}
	}
	if got := strings.Count(logs.String(), "panic serving a request"); got != 1 {
		t.Errorf("%d panics logged; want the one that was not http.ErrAbortHandler. The log:\n%s", got, logs)
	}
	openSID(t, handshakeOn(t, dialServed(t, base)))
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
}

// A POST far over the max payload gets its 413 on a connection of Serve,
// as on net/http's, while the client is still sending the body: the server
// stops reading, and closing with the rest unread would reset the
// connection, which a client may meet before the response (Go's, as
// "broken pipe", in about half of the tries before the server waited).
func TestServeAnswersPostFarOverTheLimit(t *testing.T) {
	base := serveNew(t, WithMaxPayload(1000))
	big := append([]byte("4"), bytes.Repeat([]byte("a"), 4<<20)...)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for i := range 20 {
		res, err := client.Get(base + "/engine.io/?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		open, _ := io.ReadAll(res.Body)
		res.Body.Close()
		url := base + "/engine.io/?EIO=4&transport=polling&sid=" + openSID(t, string(open))
		res, err = client.Post(url, "text/plain;charset=UTF-8", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("POST %d of 4 MB: %v; want a 413", i, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "Payload too large") {
			t.Fatalf("POST %d of 4 MB: %d %q; want 413 Payload too large", i, res.StatusCode, body)
		}
	}
}

// A connection that waits, after its 413, for a client that neither sends
// nor closes does not hold up Close: Close ends the wait at once, not when
// the wait's time is up.
func TestServeCloseEndsLingeringConnection(t *testing.T) {
	srv, err := NewServer(WithMaxPayload(1000))
	if err != nil {
		t.Fatal(err)
	}
	base, done := serve(t, srv)
	c := dialServed(t, base)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := newReader(c)
	fmt.Fprintf(c, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// Half of a 4 MB body: more than the server reads of it before it
	// gives up on the connection.
	fmt.Fprintf(c, "POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n", openSID(t, string(open)), 4<<20)
	if _, err := c.Write(bytes.Repeat([]byte("a"), 2<<20)); err != nil {
		t.Fatal(err)
	}
	res, err = http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST: %d, want 413", res.StatusCode)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the 413: %v, want the end of the stream", err)
	}
	start := time.Now()
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	expectServeEnded(t, done)
	for keptGoroutines() > 0 {
		if time.Since(start) > 250*time.Millisecond { // half the wait's 500 ms
			t.Fatalf("a connection still waited for its client %v after Close", time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
}

// A request whose header net/http's server refuses after parsing it (a
// name that is not a token, as with a space before the colon, or a value
// with a control byte) gets a plain 400 on a connection of Serve too, and
// never reaches the session. Read as another header than the one a proxy in
// front may have seen, such a line could smuggle a request in its body.
func TestServeRefusesInvalidHeaderLikeNetHTTP(t *testing.T) {
	// The sessions are left open: Close need not wait for their next poll.
	base := serveNew(t, WithCloseTimeout(50*time.Millisecond))
	for name, header := range map[string]string{
		"space before the colon":  "Content-Length : 3\r\n",
		"control byte in a name":  "X-A\x01b: c\r\nContent-Length: 3\r\n",
		"control byte in a value": "X-A: b\x00c\r\nContent-Length: 3\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := dialKeptAt(t, strings.TrimPrefix(base, "http://"), "")
			c.send(getRequest("/engine.io/?EIO=4&transport=polling"))
			_, open := c.response()
			c.sid = openSID(t, open)
			c = dialKeptAt(t, strings.TrimPrefix(base, "http://"), c.sid)
			c.send("POST /engine.io/?EIO=4&transport=polling&sid=" + c.sid + " HTTP/1.1\r\nHost: x\r\n" + header + "\r\n4hi")
			if resp, body := c.response(); resp.StatusCode != http.StatusBadRequest || body != "Bad Request" {
				t.Fatalf("answered %d %q; want net/http's 400 Bad Request", resp.StatusCode, body)
			}
			// The session lives on: a well-formed POST is taken.
			c = dialKeptAt(t, strings.TrimPrefix(base, "http://"), c.sid)
			c.send(c.postRequest("4ok"))
			c.expect("ok")
		})
	}
}

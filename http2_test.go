package engineio

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Over HTTP/2 a polling session's GETs and POSTs share one connection. A
// POST that carries only a pong must not end it: net/http's HTTP/2 server
// takes "Connection: close" as a GOAWAY, which would cost the client a
// new TLS connection at every heartbeat.
func TestHeartbeatsKeepHTTP2Connection(t *testing.T) {
	srv, err := NewServer(WithPingInterval(50*time.Millisecond), WithPingTimeout(time.Second), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan Reason, 1)
	srv.OnDisconnect(func(_ *Session, r Reason) { reasons <- r })
	h2 := newHTTP2Server(t, srv)

	sid := "transport=polling&sid=" + h2.open()
	for i := range 3 {
		if got := h2.expect(http.MethodGet, sid, "", http.StatusOK); got != "2" {
			t.Fatalf("poll %d answered %q; want a ping", i, got)
		}
		if got := h2.expect(http.MethodPost, sid, "3", http.StatusOK); got != "ok" {
			t.Fatalf("pong %d answered %q", i, got)
		}
	}
	if n := h2.conns.Load(); n != 1 {
		t.Errorf("the session used %d connections; want 1", n)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != ReasonServerShutdown {
		t.Errorf("session ended with %v; want %v", r, ReasonServerShutdown)
	}
}

// A WebSocket handshake over HTTP/2 (no Upgrade there) is refused with 400,
// and the connection, which carries the client's other requests, stays.
func TestRefusedWebSocketKeepsHTTP2Connection(t *testing.T) {
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	h2 := newHTTP2Server(t, srv)
	h2.open()
	if got := h2.expect(http.MethodGet, "transport=websocket", "", http.StatusBadRequest); !strings.Contains(got, `"code":3`) {
		t.Errorf("refusal body %q; want the protocol's code 3", got)
	}
	h2.open()
	if n := h2.conns.Load(); n != 1 {
		t.Errorf("%d connections; want 1", n)
	}
}

// A polling session over HTTP/2, as a browser keeps one over https://:
// text and binary messages both ways, a poll sent before the server's
// message, and the client's close, all on one connection.
func TestPollingSessionOverHTTP2(t *testing.T) {
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	reasons := make(chan Reason, 1)
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	srv.OnDisconnect(func(_ *Session, r Reason) { reasons <- r })
	h2 := newHTTP2Server(t, srv)

	sid := h2.open()
	q := "transport=polling&sid=" + sid
	if got := h2.expect(http.MethodPost, q, "4hello\x1ebAQID", http.StatusOK); got != "ok" {
		t.Fatalf("POST answered %q", got)
	}
	if got := h2.expect(http.MethodGet, q, "", http.StatusOK); got != "4hello\x1ebAQID" {
		t.Fatalf("poll answered %q; want the two echoes", got)
	}
	// A poll that waits: the server's message answers it.
	polled := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, h2.ts.URL+"/engine.io/?EIO=4&"+q, nil)
		resp, err := h2.client.Do(req)
		if err != nil {
			polled <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		polled <- string(b)
	}()
	// Most likely the poll waits by now; if not, the message is queued
	// and answers it at once: the same answer either way.
	time.Sleep(20 * time.Millisecond)
	if err := srv.Send(sid, "from the server"); err != nil {
		t.Fatal(err)
	}
	if got := <-polled; got != "4from the server" {
		t.Fatalf("waiting poll answered %q", got)
	}
	if got := h2.expect(http.MethodPost, q, "1", http.StatusOK); got != "ok" {
		t.Fatalf("close packet answered %q", got)
	}
	if r := <-reasons; r != ReasonClientClose {
		t.Errorf("session ended with %v; want %v", r, ReasonClientClose)
	}
	if n := h2.conns.Load(); n != 1 {
		t.Errorf("%d connections; want 1", n)
	}
}

// http2Server is an HTTP/2 test server and its client, counting the
// connections the server accepts.
type http2Server struct {
	t      *testing.T
	ts     *httptest.Server
	client *http.Client
	conns  atomic.Int32
}

// Its cleanup checks, once it has closed, that no goroutine is left.
func newHTTP2Server(t *testing.T, h http.Handler) *http2Server {
	running := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, running) })
	s := &http2Server{t: t, ts: httptest.NewUnstartedServer(h)}
	s.ts.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.ts.EnableHTTP2 = true
	s.ts.StartTLS()
	s.client = s.ts.Client()
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		s.ts.Close()
	})
	return s
}

// expect sends a request of the given method, query and body to the
// server's path, checks that it was answered over HTTP/2 with status, and returns
// the answer's body.
func (s *http2Server) expect(method, query, body string, status int) string {
	s.t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+"/engine.io/?EIO=4&"+query, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || resp.StatusCode != status {
		s.t.Fatalf("%s %s answered %d over %s (%q); want %d over HTTP/2", method, query, resp.StatusCode, resp.Proto, got, status)
	}
	return string(got)
}

// open opens a polling session and returns its sid.
func (s *http2Server) open() string {
	s.t.Helper()
	open := s.expect(http.MethodGet, "transport=polling", "", http.StatusOK)
	sid := strings.TrimPrefix(open, `0{"sid":"`)
	if sid == open {
		s.t.Fatalf("handshake answered %q", open)
	}
	return sid[:strings.IndexByte(sid, '"')]
}

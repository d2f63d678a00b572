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
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(50*time.Millisecond), WithPingTimeout(time.Second), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan Reason, 1)
	srv.OnDisconnect(func(_ *Session, r Reason) { reasons <- r })
	ts := httptest.NewUnstartedServer(srv)
	var conns atomic.Int32
	ts.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	client := ts.Client()
	defer client.CloseIdleConnections()

	do := func(method, query, body string) string {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+"/engine.io/?EIO=4&transport=polling"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("%s answered over %s; want HTTP/2", method, resp.Proto)
		}
		return string(got)
	}
	open := do(http.MethodGet, "", "")
	sid := strings.TrimPrefix(open, `0{"sid":"`)
	if sid == open {
		t.Fatalf("handshake answered %q", open)
	}
	sid = "&sid=" + sid[:strings.IndexByte(sid, '"')]
	for i := range 3 {
		if got := do(http.MethodGet, sid, ""); got != "2" {
			t.Fatalf("poll %d answered %q; want a ping", i, got)
		}
		if got := do(http.MethodPost, sid, "3"); got != "ok" {
			t.Fatalf("pong %d answered %q", i, got)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the session used %d connections; want 1", n)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != ReasonServerShutdown {
		t.Errorf("session ended with %v; want %v", r, ReasonServerShutdown)
	}
}

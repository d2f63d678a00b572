package engineio

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// pollOpen opens a polling session and returns its sid.
func pollOpen(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	sid := strings.TrimPrefix(string(body), `0{"sid":"`)
	if sid == string(body) {
		t.Fatalf("handshake answered %q", body)
	}
	return sid[:strings.IndexByte(sid, '"')]
}

// rawPoll sends a long-poll GET on a connection of its own and returns the
// connection, from which the response can be read.
func rawPoll(t *testing.T, ts *httptest.Server, sid, query, header string) net.Conn {
	t.Helper()
	var conn net.Conn
	var err error
	if ts.TLS != nil {
		conn, err = tls.Dial("tcp", ts.Listener.Addr().String(), ts.Client().Transport.(*http.Transport).TLSClientConfig)
	} else {
		conn, err = net.Dial("tcp", ts.Listener.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET /engine.io/?EIO=4&transport=polling&sid=" + sid + query + " HTTP/1.1\r\nHost: example.com\r\n" + header + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return conn
}

func readResponse(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// A long-poll that waits is held without net/http: its connection is
// taken from the server, and the answer comes on it with the headers a
// regular response has. Behind another handler (a mux here), other
// requests may come on that connection: it closes after the answer.
func TestHeldPollAnswered(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCORS("http://app.test"), WithCloseTimeout(50*time.Millisecond), WithCORSCredentials(true), WithHeaders(func(h http.Header, _ *http.Request) { h.Set("X-Custom", "yes") }))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer srv.Close(t.Context())

	sid := pollOpen(t, ts)
	conn := rawPoll(t, ts, sid, "", "Origin: http://app.test\r\n")
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
	if err := srv.Send(sid, "pushed"); err != nil {
		t.Fatal(err)
	}
	resp, body := readResponse(t, conn)
	if resp.StatusCode != http.StatusOK || body != "4pushed" {
		t.Fatalf("held poll answered %d %q; want 200 \"4pushed\"", resp.StatusCode, body)
	}
	for k, want := range map[string]string{
		"Content-Type":                     "text/plain; charset=UTF-8",
		"Access-Control-Allow-Origin":      "http://app.test",
		"Access-Control-Allow-Credentials": "true",
		"Cache-Control":                    "no-store",
		"X-Custom":                         "yes",
		"Vary":                             "Origin",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q; want %q", k, got, want)
		}
	}
	if !resp.Close {
		t.Error("the held poll's response does not close its connection")
	}
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the answer: read %d, %v; want EOF", n, err)
	}
	if got := srv.handler.HeldPolls(); got != 0 {
		t.Errorf("%d polls still held", got)
	}

	// The session goes on: the next poll, held again, gets the next message
	// (JSONP this time).
	conn = rawPoll(t, ts, sid, "&j=3", "")
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
	if err := srv.Send(sid, "again"); err != nil {
		t.Fatal(err)
	}
	resp, body = readResponse(t, conn)
	if want := `___eio[3]("4again");`; resp.StatusCode != http.StatusOK || body != want {
		t.Fatalf("held JSONP poll answered %d %q; want 200 %q", resp.StatusCode, body, want)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/javascript; charset=UTF-8" {
		t.Errorf("JSONP Content-Type %q", got)
	}
}

// expectDroppedPoll waits for the session of a client that dropped its
// held poll to close as a transport error.
func expectDroppedPoll(t *testing.T, reasons <-chan Reason) {
	t.Helper()
	select {
	case r := <-reasons:
		if r != ReasonTransportError {
			t.Fatalf("disconnect reason %q; want %q", r, ReasonTransportError)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session did not close after its client dropped the held poll")
	}
}

// A client that closes the connection of its held poll abandons it: the
// session closes with a transport error, as with a poll net/http holds.
func TestHeldPollAbandoned(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	reasons := make(chan Reason, 1)
	srv.OnDisconnect(func(s *Session, r Reason) { reasons <- r })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close(t.Context())

	sid := pollOpen(t, ts)
	conn := rawPoll(t, ts, sid, "", "")
	waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
	conn.Close()
	expectDroppedPoll(t, reasons)
	waitUntil(t, "the held poll to be let go", func() bool { return srv.handler.HeldPolls() == 0 })
}

// Held polls hold no goroutine each, and closing the server answers them
// (a close packet) and leaves no goroutine behind.
func TestHeldPollsHoldNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawPoll(t, ts, pollOpen(t, ts), "", "")
	}
	http.DefaultClient.CloseIdleConnections()
	waitUntil(t, "every poll to be held", func() bool { return srv.handler.HeldPolls() == n })
	// Without holding, each waiting poll has two goroutines of net/http's
	// (the connection's, and its background read).
	if g := runtime.NumGoroutine(); g > n {
		t.Errorf("%d goroutines with %d polls held", g, n)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if resp, body := readResponse(t, c); resp.StatusCode != http.StatusOK || body != "1" {
			t.Fatalf("held poll at server close answered %d %q; want 200 \"1\"", resp.StatusCode, body)
		}
	}
}

// A POST of heartbeats only, an idle client's, closes its connection: it
// would otherwise wait idle in net/http until the next heartbeat. A POST
// with a message keeps it.
func TestHeartbeatPostClosesConnection(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithPingInterval(30*time.Millisecond), WithCloseTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close(t.Context())
	defer http.DefaultClient.CloseIdleConnections()

	sid := pollOpen(t, ts)
	if _, body := readResponse(t, rawPoll(t, ts, sid, "", "")); body != "2" {
		t.Fatalf("poll answered %q; want a ping", body)
	}
	post := func(body string) *http.Response {
		t.Helper()
		resp, err := http.Post(ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || string(b) != "ok" {
			t.Fatalf("POST %q answered %d %q", body, resp.StatusCode, b)
		}
		return resp
	}
	if resp := post("3"); !resp.Close {
		t.Error("the pong POST's connection is kept alive")
	}
	if resp := post("4hello"); resp.Close {
		t.Error("a message POST's connection is closed")
	}
}

// A held poll's answer is compressed as its request's Accept-Encoding
// asks, though the request is gone by then.
func TestHeldPollCompressed(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, err := NewServer(WithCloseTimeout(50 * time.Millisecond)) // compression on, from 1 KB
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close(t.Context())
	big := strings.Repeat("compressible ", 160)
	for _, tc := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"gzip;q=0.5, deflate", "deflate"},
		{"br", ""},
		{"", ""},
	} {
		sid := pollOpen(t, ts)
		header := ""
		if tc.accept != "" {
			header = "Accept-Encoding: " + tc.accept + "\r\n"
		}
		conn := rawPoll(t, ts, sid, "", header)
		waitUntil(t, "the poll to be held", func() bool { return srv.handler.HeldPolls() == 1 })
		if err := srv.Send(sid, big); err != nil {
			t.Fatal(err)
		}
		resp, body := readResponse(t, conn)
		if got := resp.Header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
		}
		var rd io.Reader = strings.NewReader(body)
		switch tc.want {
		case "gzip":
			rd, err = gzip.NewReader(rd)
		case "deflate":
			rd, err = zlib.NewReader(rd)
		}
		if err != nil {
			t.Fatalf("Accept-Encoding %q: %v", tc.accept, err)
		}
		if got, err := io.ReadAll(rd); err != nil || string(got) != "4"+big {
			t.Errorf("Accept-Encoding %q: decoded %d bytes (%v), want the %d-byte message", tc.accept, len(got), err, len(big)+1)
		}
	}
}

// lockedBuffer is an io.Writer for a logger that several goroutines use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A session that answers nothing within the reply timeout (the ping
// interval, the ping timeout and the upgrade timeout together), here one
// whose handler blocks, does not keep a poll waiting for ever: the poll is
// answered 503 with the protocol's "Bad request", and logged, whether it
// was held without net/http's goroutine (plain HTTP) or waited on it (TLS
// behind the application's mux, where the connection cannot be kept). The
// poll counts as abandoned: once the handler returns, the session closes
// with a transport error, as when a client drops its poll. The POST whose
// message the handler took is answered when the handler returns: its
// goroutine runs the session meanwhile.
func TestPollOfAStuckSessionTimesOut(t *testing.T) {
	t.Run("held", func(t *testing.T) {
		testPollOfAStuckSession(t, false, "held poll timed out")
	})
	t.Run("TLS behind a mux", func(t *testing.T) {
		testPollOfAStuckSession(t, true, "request timed out")
	})
}

func testPollOfAStuckSession(t *testing.T, tlsMux bool, logged string) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	logs := &lockedBuffer{}
	const step = 40 * time.Millisecond // the reply timeout is three of them
	srv, err := NewServer(WithPingInterval(step), WithPingTimeout(step), WithUpgradeTimeout(step),
		WithCloseTimeout(50*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	srv.OnMessage(func(*Session, Message) {
		close(entered)
		<-release
	})
	reasons := make(chan Reason, 1)
	srv.OnDisconnect(func(_ *Session, r Reason) { reasons <- r })
	var ts *httptest.Server
	if tlsMux {
		mux := http.NewServeMux()
		mux.Handle("/engine.io/", srv)
		ts = httptest.NewTLSServer(mux)
	} else {
		ts = httptest.NewServer(srv)
	}
	defer ts.Close()
	defer srv.Close(t.Context())
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()

	sid := pollOpen(t, ts)
	posted := make(chan *http.Response, 1)
	go func() {
		resp, err := ts.Client().Post(ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid, "text/plain;charset=UTF-8", strings.NewReader("4stuck"))
		if err != nil {
			t.Error(err)
		}
		posted <- resp
	}()
	<-entered // the session is stuck from here on

	const timedOut = `{"code":3,"message":"Bad request"}`
	poll := rawPoll(t, ts, sid, "", "")
	if resp, body := readResponse(t, poll); resp.StatusCode != http.StatusServiceUnavailable || body != timedOut {
		t.Errorf("poll of a stuck session answered %d %q; want 503 %s", resp.StatusCode, body, timedOut)
	}
	if !strings.Contains(logs.String(), logged) {
		t.Errorf("nothing logged %q; the log:\n%s", logged, logs)
	}
	select {
	case <-posted:
		t.Fatal("the POST was answered while its handler still ran")
	case r := <-reasons:
		t.Fatalf("the session closed (%q) while its handler still ran", r)
	default:
	}

	unblock()
	select {
	case resp := <-posted:
		if resp == nil {
			t.FailNow()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Errorf("POST answered %d %q once its handler returned; want 200 \"ok\"", resp.StatusCode, body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the POST was not answered after its handler returned")
	}
	expectDroppedPoll(t, reasons)
	ts.Client().CloseIdleConnections()
}

package interop_test

// Interop with the official engine.io-client 3.5 (protocol revision 3),
// installed under the npm alias engine.io-client-v3 and driven by
// client3.mjs, against a server with WithAllowEIO3(true). See the comment at
// the top of client3.mjs for the scenarios.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eioactor/engineio"
)

// v3Texts and v3Binaries are what client3.mjs echoes in its echo scenarios;
// v3ASCIITexts replace v3Texts over polling with engine.io-client 1.x.
var (
	v3Texts      = []string{"hello", "€ 😀 ünïcödé \u2028 \"q\" \n"}
	v3ASCIITexts = []string{"hello", "plain ASCII \u007f \"q\" \n"}
	v3Binaries   = [][]byte{{1, 2, 3, 4}, {4, 0, 255, 10, 13}}
)

// parserV1 reports whether c is engine.io-client 1.x, whose engine.io-parser
// 1.x differs from the later ones in two ways over polling:
//   - it encodes the text packets of a payload to UTF-8 once more before the
//     request does, and decodes the server's payloads so; servers on
//     engine.io-parser 2.0 and later (the JavaScript engine.io 3.x to 6.x),
//     this one too, do neither, so only ASCII text crosses polling intact;
//   - with XHR2 it posts every payload as a binary one, text included.
func parserV1(c clientMajor) bool { return strings.HasPrefix(c.version, "1.") }

// echoTexts returns the texts client3.mjs echoes with c over transport.
func echoTexts(c clientMajor, transport string) []string {
	if transport == "polling" && parserV1(c) {
		return v3ASCIITexts
	}
	return v3Texts
}

// report is the JSON line printed by client3.mjs.
type report struct {
	OK               bool     `json:"ok"`
	Scenario         string   `json:"scenario"`
	Client           string   `json:"client"` // the engine.io-client version that ran
	Protocol         int      `json:"protocol"`
	Transport        string   `json:"transport"`
	FirstTransport   string   `json:"firstTransport"`
	SupportsBinary   *bool    `json:"supportsBinary"`
	Upgraded         bool     `json:"upgraded"`
	SID              string   `json:"sid"`
	Echoed           int      `json:"echoed"`
	TextLength       int      `json:"textLength"`
	BinaryLength     int      `json:"binaryLength"`
	Pings            int      `json:"pings"`
	Pongs            int      `json:"pongs"`
	PingInterval     int      `json:"pingInterval"`
	PingTimeout      int      `json:"pingTimeout"`
	CloseReason      string   `json:"closeReason"`
	CloseDescription string   `json:"closeDescription"`
	Received         []string `json:"received"`
	Closed           string   `json:"closed"`
	Refused          bool     `json:"refused"`
	Errors           []string `json:"errors"`
	PostTypes        []string `json:"postTypes"`
	ResponseTypes    []string `json:"responseTypes"`
}

// ---- request recording ----

// exchange is one HTTP request the server handled and its answer.
type exchange struct {
	method     string
	query      url.Values
	header     http.Header // the request's
	status     int         // 101 for a hijacked (WebSocket) connection
	respHeader http.Header // not for WebSockets: gorilla writes the 101 itself
	body       string      // the response body's first bytes
	start      time.Time   // when the handler got the request
	held       *heldConn   // a long-poll the server answered on its taken connection
}

func (x exchange) String() string {
	s := fmt.Sprintf("%s ?%s -> %d (Content-Type %q, Origin %q)", x.method, x.query.Encode(), x.status, x.respHeader.Get("Content-Type"), x.header.Get("Origin"))
	if x.status >= 400 {
		s += fmt.Sprintf(" %q", x.body)
	}
	return s
}

// unknownSession is the answer to a request for a closed session.
const unknownSession = `{"code":1,"message":"Session ID unknown"}`

// failures returns the exchanges the server refused. One exception: the
// client's last poll may reach the server just after the session closed
// (the client starts its next poll as it closes, on another connection) and
// then rightly gets "Session ID unknown". A client polls one GET at a time,
// so only the last GET may get that answer. (A GET already parked when the
// session closes must get the close packet or a noop; the root package's
// TestV3_CloseAnswersPendingRequests checks that.)
func failures(t *testing.T, rec *recorder) []exchange {
	t.Helper()
	xs := rec.exchanges()
	last := -1
	for i, x := range xs {
		if x.method == http.MethodGet && x.query.Get("transport") == "polling" && (last < 0 || x.start.After(xs[last].start)) {
			last = i
		}
	}
	var out []exchange
	for i, x := range xs {
		if x.status < 400 {
			continue
		}
		if i == last && x.status == http.StatusBadRequest && x.body == unknownSession {
			t.Logf("the last poll reached the server after the close: %v", x)
			continue
		}
		out = append(out, x)
	}
	return out
}

// recorder records every exchange of the handler it wraps.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	xs   []exchange
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &recordingWriter{ResponseWriter: w, poll: r.URL.Query().Get("transport") == "polling"}
	rc.next.ServeHTTP(rw, r)
	x := exchange{method: r.Method, query: r.URL.Query(), header: r.Header.Clone(), status: rw.status, body: string(rw.body), start: start}
	switch {
	case rw.held != nil:
		x.held = rw.held // its answer is read in exchanges
	case rw.hijacked:
		x.status = http.StatusSwitchingProtocols
	default:
		x.respHeader = w.Header().Clone()
		if x.status == 0 {
			x.status = http.StatusOK
		}
	}
	rc.mu.Lock()
	rc.xs = append(rc.xs, x)
	rc.mu.Unlock()
}

// exchanges returns the exchanges so far. A long-poll the server held (it
// took the connection from net/http and answers on it later) is read from
// what the server wrote on the connection, once the server has closed it.
func (rc *recorder) exchanges() []exchange {
	rc.mu.Lock()
	xs := slices.Clone(rc.xs)
	rc.mu.Unlock()
	for i := range xs {
		if xs[i].held != nil {
			xs[i].held.fill(&xs[i])
		}
	}
	return xs
}

func (rc *recorder) dump() string {
	var b strings.Builder
	for _, x := range rc.exchanges() {
		fmt.Fprintf(&b, "  %s\n", x)
	}
	return b.String()
}

type recordingWriter struct {
	http.ResponseWriter
	poll     bool // a polling request: a taken connection is recorded
	status   int
	hijacked bool
	held     *heldConn
	body     []byte
}

func (w *recordingWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if n := min(len(b), 256-len(w.body)); n > 0 {
		w.body = append(w.body, b[:n]...)
	}
	return w.ResponseWriter.Write(b)
}

func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *recordingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response writer cannot be hijacked")
	}
	w.hijacked = true
	conn, brw, err := h.Hijack()
	if err != nil || !w.poll {
		// A WebSocket keeps its own connection, which the server parks.
		return conn, brw, err
	}
	w.held = &heldConn{Conn: conn, closed: make(chan struct{})}
	return w.held, brw, nil
}

// heldConn records what the server writes on a long-poll's connection it
// took from net/http (the server then watches it with a goroutine, not its
// poller, as it is not a *net.TCPConn).
type heldConn struct {
	net.Conn
	mu      sync.Mutex
	written []byte
	once    sync.Once
	closed  chan struct{}
}

func (c *heldConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.written = append(c.written, b...)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *heldConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// fill sets x's answer from the response written on the connection: status
// 0 when the server closed it without one (the client went away first).
func (c *heldConn) fill(x *exchange) {
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		return
	}
	c.mu.Lock()
	written := c.written
	c.mu.Unlock()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(written)), nil)
	if err != nil {
		return
	}
	body := make([]byte, 256)
	n, _ := io.ReadFull(resp.Body, body)
	x.status, x.respHeader, x.body = resp.StatusCode, resp.Header, string(body[:n])
}

// ---- the server ----

// startEchoServer is newEchoServer with options and a request recorder: an
// echo server (the text "close-me" closes the session) that records what its
// handlers saw and every HTTP exchange.
func startEchoServer(t *testing.T, opts ...engineio.Option) (*echoServer, *recorder) {
	t.Helper()
	requireNode(t)
	logw := &testLogWriter{t: t}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := engineio.NewServer(append([]engineio.Option{engineio.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatalf("engineio.NewServer: %v", err)
	}
	e := &echoServer{srv: srv, gone: make(chan engineio.Reason, 16), started: time.Now()}
	e.install()
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	rec := &recorder{next: mux}
	hs := httptest.NewServer(rec)
	e.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			if t.Failed() {
				t.Logf("srv.Close after a failure: %v", err)
			} else {
				t.Errorf("srv.Close: %v", err)
			}
		}
		done := make(chan struct{})
		go func() {
			hs.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("HTTP requests still in flight 10s after srv.Close returned")
			hs.CloseClientConnections()
			<-done
		}
		logw.stop()
	})
	return e, rec
}

// runScript runs client3.mjs and returns its report; it fails the test when
// the client exits non-zero or prints no valid report.
func runScript(t *testing.T, e *echoServer, rec *recorder, scenario, transport string) report {
	t.Helper()
	node := requireNode(t)
	args := []string{scenario, e.url}
	if transport != "" {
		args = append(args, transport)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd, cmdline := clientCommand(ctx, node, "EIO_CLIENT", e.client, "client3.mjs", args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		t.Fatalf("%s: %v\nclient stdout:\n%s\nclient stderr:\n%s\nserver saw:\n%s\nHTTP exchanges:\n%s",
			cmdline, err, indent(stdout.String()), indent(stderr.String()), e.summary(), rec.dump())
	}
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", cmdline, indent(stderr.String()))
	}
	line := lastLine(stdout.String())
	var res report
	if err := json.Unmarshal([]byte(line), &res); err != nil || !res.OK {
		t.Fatalf("%s: exit 0 but no {\"ok\":true,...} report (%v); stdout:\n%s", cmdline, err, indent(stdout.String()))
	}
	def := v4Clients[0] // the cors scenarios
	if strings.HasPrefix(scenario, "v3-") {
		def = v3Clients[0]
	}
	checkClientVersion(t, cmdline, res.Client, e.client, def)
	t.Logf("%s (%v): %s", cmdline, time.Since(start).Round(time.Millisecond), line)
	return res
}

// finish asserts what holds once any scenario's client has closed: one
// session with the client's sid, one disconnect, nothing left. It returns
// the disconnect reason.
func finish(t *testing.T, e *echoServer, res report) engineio.Reason {
	t.Helper()
	return e.checkCommon(t, clientResult{SID: res.SID})
}

// checkEcho asserts the server side of client3.mjs's basic echo.
func checkEcho(t *testing.T, e *echoServer, res report, transport string) {
	t.Helper()
	want := echoTexts(e.client, transport)
	if res.Echoed != len(want)+len(v3Binaries) {
		t.Errorf("client echoed %d messages, want %d", res.Echoed, len(want)+len(v3Binaries))
	}
	texts, bins := e.messages()
	var gotTexts []string
	for _, ev := range texts {
		gotTexts = append(gotTexts, ev.text)
	}
	if !slices.Equal(gotTexts, want) {
		t.Errorf("server text messages %q, want %q", gotTexts, want)
	}
	if len(bins) != len(v3Binaries) {
		t.Errorf("server binary messages %v, want %v", bins, v3Binaries)
	} else {
		for i, ev := range bins {
			if !bytes.Equal(ev.data, v3Binaries[i]) {
				t.Errorf("server binary message #%d = %v, want %v", i, ev.data, v3Binaries[i])
			}
		}
	}
	if transport != "" {
		checkTransports(t, e, transport)
	}
}

// checkRevision3 asserts that every engine request of the run was EIO=3.
func checkRevision3(t *testing.T, rec *recorder) {
	t.Helper()
	xs := rec.exchanges()
	if len(xs) == 0 {
		t.Fatal("the server saw no request")
	}
	for _, x := range xs {
		if x.query.Get("EIO") != "3" {
			t.Errorf("request %v, want EIO=3", x)
		}
	}
	for _, x := range failures(t, rec) {
		t.Errorf("request %v failed", x)
	}
}

// polling returns the polling exchanges with the given method.
func polling(rec *recorder, method string) []exchange {
	var out []exchange
	for _, x := range rec.exchanges() {
		if x.method == method && x.query.Get("transport") == "polling" {
			out = append(out, x)
		}
	}
	return out
}

func websockets(rec *recorder) []exchange {
	var out []exchange
	for _, x := range rec.exchanges() {
		if x.query.Get("transport") == "websocket" {
			out = append(out, x)
		}
	}
	return out
}

func eio3(opts ...engineio.Option) []engineio.Option {
	return append([]engineio.Option{engineio.WithAllowEIO3(true)}, opts...)
}

// ---- tests ----

// TestV3Echo: text (with characters outside the BMP, whose v3 lengths count
// two) and binary echo over polling (Node's XMLHttpRequest: base64),
// WebSocket only, and polling upgraded to WebSocket.
func TestV3Echo(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		for _, tc := range []struct {
			mode, transport string
			reason          engineio.Reason
		}{
			{"polling", "polling", engineio.ReasonClientClose},
			{"websocket", "websocket", engineio.ReasonTransportClose},
			{"upgrade", "websocket", engineio.ReasonTransportClose},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				t.Parallel()
				e, rec := startEchoServer(t, eio3()...)
				e.client = c
				res := runScript(t, e, rec, "v3-echo", tc.mode)
				if res.Protocol != 3 {
					t.Errorf("client protocol %d, want 3", res.Protocol)
				}
				if res.Transport != tc.transport || (tc.mode == "upgrade") != res.Upgraded {
					t.Errorf("client transport %q upgraded=%v, want %q", res.Transport, res.Upgraded, tc.transport)
				}
				if reason := finish(t, e, res); reason != tc.reason {
					t.Errorf("server: OnDisconnect reason %q, want %q", reason, tc.reason)
				}
				checkEcho(t, e, res, tc.transport)
				checkRevision3(t, rec)
				if tc.mode != "websocket" {
					if res.FirstTransport != "polling" {
						t.Errorf("first transport %q, want polling", res.FirstTransport)
					}
					if res.SupportsBinary == nil || *res.SupportsBinary {
						t.Errorf("client polling supportsBinary = %v, want false (no XHR2 in Node's XMLHttpRequest)", res.SupportsBinary)
					}
					for _, x := range append(polling(rec, http.MethodGet), polling(rec, http.MethodPost)...) {
						if x.query.Get("b64") != "1" {
							t.Errorf("polling request %v without b64=1", x)
						}
					}
				}
				if tc.mode == "polling" && len(websockets(rec)) != 0 {
					t.Errorf("WebSocket requests although upgrade is off:\n%s", rec.dump())
				}
			})
		}
	})
}

// TestV3XHR2: polling with binary in the XHR2 binary payload, both ways
// (client3.mjs gives the client an XMLHttpRequest with responseType).
func TestV3XHR2(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		e, rec := startEchoServer(t, eio3()...)
		e.client = c
		res := runScript(t, e, rec, "v3-xhr2", "")
		if res.SupportsBinary == nil || !*res.SupportsBinary {
			t.Errorf("client polling supportsBinary = %v, want true", res.SupportsBinary)
		}
		if reason := finish(t, e, res); reason != engineio.ReasonClientClose {
			t.Errorf("server: OnDisconnect reason %q, want %q", reason, engineio.ReasonClientClose)
		}
		checkEcho(t, e, res, "polling")
		checkRevision3(t, rec)
		// The client posted its binary messages as XHR2 payloads, and got the
		// echoes the same way; 1.x posts every payload so.
		wantPosts := len(v3Binaries)
		if parserV1(c) {
			wantPosts = len(res.PostTypes)
		}
		if n := countOf(res.PostTypes, "application/octet-stream"); n != wantPosts || n < len(v3Binaries) {
			t.Errorf("client POSTs %q: %d application/octet-stream, want %d", res.PostTypes, n, wantPosts)
		}
		if n := countOf(res.ResponseTypes, "application/octet-stream"); n != len(v3Binaries) {
			t.Errorf("client GET responses %q: %d application/octet-stream, want %d", res.ResponseTypes, n, len(v3Binaries))
		}
		binaryPosts, binaryGets := 0, 0
		for _, x := range polling(rec, http.MethodPost) {
			if x.query.Has("b64") {
				t.Errorf("POST %v with b64", x)
			}
			if x.header.Get("Content-Type") == "application/octet-stream" {
				binaryPosts++
			}
		}
		for _, x := range polling(rec, http.MethodGet) {
			if x.query.Has("b64") {
				t.Errorf("GET %v with b64", x)
			}
			if x.respHeader.Get("Content-Type") == "application/octet-stream" {
				binaryGets++
			}
		}
		if binaryPosts != wantPosts || binaryGets != len(v3Binaries) {
			t.Errorf("server: %d octet-stream POSTs and %d octet-stream GET responses, want %d and %d:\n%s", binaryPosts, binaryGets, wantPosts, len(v3Binaries), rec.dump())
		}
	})
}

// TestV3Base64: forceBase64: true makes the client ask for b64=1 and send
// binary as base64 text; the server answers in kind.
func TestV3Base64(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		e, rec := startEchoServer(t, eio3()...)
		e.client = c
		res := runScript(t, e, rec, "v3-base64", "")
		if res.SupportsBinary == nil || *res.SupportsBinary {
			t.Errorf("client polling supportsBinary = %v, want false", res.SupportsBinary)
		}
		if reason := finish(t, e, res); reason != engineio.ReasonClientClose {
			t.Errorf("server: OnDisconnect reason %q, want %q", reason, engineio.ReasonClientClose)
		}
		checkEcho(t, e, res, "polling")
		checkRevision3(t, rec)
		if n := countOf(res.PostTypes, "application/octet-stream"); n != 0 || len(res.PostTypes) == 0 {
			t.Errorf("client POSTs %q, want all text", res.PostTypes)
		}
		for _, x := range polling(rec, http.MethodGet) {
			if x.status != http.StatusOK {
				continue // checkRevision3 judged it
			}
			if x.query.Get("b64") != "1" || x.respHeader.Get("Content-Type") != "text/plain; charset=UTF-8" {
				t.Errorf("GET %v: want b64=1 and a text payload", x)
			}
		}
	})
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// TestV3Large: 500 KiB of text and 500 KiB of binary, echoed intact.
func TestV3Large(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		for _, mode := range []string{"polling", "websocket"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				e, rec := startEchoServer(t, eio3(engineio.WithMaxPayload(1_000_000))...)
				e.client = c
				res := runScript(t, e, rec, "v3-large", mode)
				if res.TextLength != largeSize || res.BinaryLength != largeSize {
					t.Errorf("client echoed %d chars and %d bytes, want %d each", res.TextLength, res.BinaryLength, largeSize)
				}
				finish(t, e, res)
				texts, bins := e.messages()
				if len(texts) != 1 || len(texts[0].text) != largeSize || len(bins) != 1 || len(bins[0].data) != largeSize {
					t.Errorf("server received %d texts and %d binaries, want one of %d bytes each", len(texts), len(bins), largeSize)
				}
				checkTransports(t, e, mode)
				checkRevision3(t, rec)
			})
		}
	})
}

// TestV3Heartbeat: pingInterval 300 ms, pingTimeout 200 ms, as in the
// official suite. A v3 client pings and the server pongs; the session must
// outlive many ping intervals. Timing-sensitive: not parallel with the
// other tests (its subtests run together, each with its own server).
func TestV3Heartbeat(t *testing.T) {
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		for _, mode := range []string{"polling", "websocket", "upgrade"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				e, rec := startEchoServer(t, eio3(engineio.WithPingInterval(300*time.Millisecond), engineio.WithPingTimeout(200*time.Millisecond))...)
				e.client = c
				res := runScript(t, e, rec, "v3-heartbeat", mode)
				if res.PingInterval != 300 || res.PingTimeout != 200 {
					t.Errorf("client saw pingInterval %d, pingTimeout %d, want 300, 200", res.PingInterval, res.PingTimeout)
				}
				// 2 s at one ping per 300 ms plus a round trip.
				if res.Pongs < 5 || res.Pings < res.Pongs {
					t.Errorf("client sent %d pings and got %d pongs in 2 s, want at least 5 pongs", res.Pings, res.Pongs)
				}
				reason := finish(t, e, res)
				if reason == engineio.ReasonPingTimeout {
					t.Errorf("server: OnDisconnect reason %q although the client pinged", reason)
				}
				evs := e.snapshot()
				var msg event
				for _, ev := range evs {
					if ev.kind == "text" {
						msg = ev
					}
				}
				if msg.text != "still-alive" {
					t.Fatalf("server did not receive \"still-alive\":\n%s", e.summary())
				}
				if alive := msg.at.Sub(evs[0].at); alive < 2*time.Second {
					t.Errorf("server received \"still-alive\" %v after the connect, want >= 2s", alive)
				}
				checkRevision3(t, rec)
			})
		}
	})
}

// TestV3ServerClose: the server closes the session (after flushing the echo
// queued before); the client sees "transport close".
func TestV3ServerClose(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		for _, mode := range []string{"polling", "websocket", "upgrade"} {
			t.Run(mode, func(t *testing.T) {
				t.Parallel()
				e, rec := startEchoServer(t, eio3()...)
				e.client = c
				res := runScript(t, e, rec, "v3-server-close", mode)
				if res.CloseReason != "transport close" {
					t.Errorf("client close reason %q (%s), want \"transport close\"", res.CloseReason, res.CloseDescription)
				}
				if !slices.Equal(res.Received, []string{"before-close"}) {
					t.Errorf("client received %q before the close, want [before-close]", res.Received)
				}
				if reason := finish(t, e, res); reason != engineio.ReasonServerClose {
					t.Errorf("server: OnDisconnect reason %q, want %q", reason, engineio.ReasonServerClose)
				}
				want := mode
				if mode == "upgrade" {
					want = "websocket"
				}
				if res.Transport != want {
					t.Errorf("client transport at close %q, want %q", res.Transport, want)
				}
				checkTransports(t, e, want)
				checkRevision3(t, rec)
			})
		}
	})
}

// TestV3ClientClose: socket.close() sends a close packet over polling (the
// server reports "client close") and only closes the WebSocket otherwise
// ("transport close").
func TestV3ClientClose(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		for _, tc := range []struct {
			mode   string
			reason engineio.Reason
		}{
			{"polling", engineio.ReasonClientClose},
			{"websocket", engineio.ReasonTransportClose},
			{"upgrade", engineio.ReasonTransportClose},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				t.Parallel()
				e, rec := startEchoServer(t, eio3()...)
				e.client = c
				res := runScript(t, e, rec, "v3-client-close", tc.mode)
				if res.CloseReason != "forced close" || strings.Contains(res.Closed, "not confirmed") {
					t.Errorf("client: close reason %q, %s", res.CloseReason, res.Closed)
				}
				if reason := finish(t, e, res); reason != tc.reason {
					t.Errorf("server: OnDisconnect reason %q, want %q", reason, tc.reason)
				}
				if texts, _ := e.messages(); len(texts) != 1 || texts[0].text != "hi" {
					t.Errorf("server text messages %v, want [hi]", texts)
				}
				checkRevision3(t, rec)
			})
		}
	})
}

// TestV3Refused: without WithAllowEIO3 the v3 client's handshake is refused
// (400, code 5) and the client reports an error instead of opening.
func TestV3Refused(t *testing.T) {
	t.Parallel()
	forEachClient(t, v3Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		e, rec := startEchoServer(t)
		e.client = c
		res := runScript(t, e, rec, "v3-refused", "")
		if !res.Refused || res.CloseReason != "transport error" || len(res.Errors) == 0 {
			t.Errorf("client: refused=%v close reason %q errors %q, want a transport error before open", res.Refused, res.CloseReason, res.Errors)
		}
		if evs := e.snapshot(); len(evs) != 0 {
			t.Errorf("server saw events for a refused client:\n%s", e.summary())
		}
		xs := rec.exchanges()
		if len(xs) == 0 {
			t.Fatal("the server saw no request")
		}
		for _, x := range xs {
			if x.status != http.StatusBadRequest || x.query.Get("EIO") != "3" {
				t.Errorf("exchange %v, want EIO=3 refused with 400", x)
			}
		}
	})
}

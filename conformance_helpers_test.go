package engineio_test

// Helpers of the protocol conformance tests (conformance_test.go). The tests
// speak the wire protocol themselves: plain net/http requests for polling and
// raw gorilla/websocket connections, never a client of this module.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

const (
	// Short heartbeat settings, as the official test suite uses them.
	pingInterval = 300 * time.Millisecond
	pingTimeout  = 200 * time.Millisecond
	// timingSlack is how late a timed event may be.
	timingSlack = 150 * time.Millisecond
	// within is the generous deadline for events that are not timed.
	within = 5 * time.Second
	// quiet is how long a test waits to see that something does NOT happen.
	quiet = 200 * time.Millisecond

	sep = "\x1e" // the v4 polling record separator
)

// harness is one Engine.IO server (echo handler) on an httptest server.
type harness struct {
	srv    *engineio.Server
	ts     *httptest.Server
	base   string // http://127.0.0.1:port/engine.io/
	wsBase string // ws://127.0.0.1:port/engine.io/
	client *http.Client

	mu       sync.Mutex
	sessions map[string]*sessionLog
	watched  map[string]int // "METHOD sid" -> requests that are waiting on their session
	changed  chan struct{}  // closed and replaced when watched changes
}

// sessionLog records what the application saw of one session.
type sessionLog struct {
	connects    chan string // the transport at connect time
	messages    chan engineio.Message
	disconnects chan engineio.Reason
}

// newHarness starts a server with opts. Its handlers echo every message
// (text as text, binary as binary) and record connects, messages and
// disconnect reasons per sid.
func newHarness(t *testing.T, opts ...engineio.Option) *harness {
	t.Helper()
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	h := &harness{
		srv:      srv,
		sessions: map[string]*sessionLog{},
		watched:  map[string]int{},
		changed:  make(chan struct{}),
	}
	srv.OnConnect(func(s *engineio.Session) error {
		select {
		case h.log(s.ID()).connects <- s.Transport():
		default:
		}
		return nil
	})
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		rec := engineio.Message{Data: slices.Clone(msg.Data), Binary: msg.Binary}
		select {
		case h.log(s.ID()).messages <- rec:
		default:
		}
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
		} else {
			_ = s.Send(msg.Text())
		}
	})
	srv.OnDisconnect(func(s *engineio.Session, reason engineio.Reason) {
		select {
		case h.log(s.ID()).disconnects <- reason:
		default:
		}
	})
	h.ts = httptest.NewServer(http.HandlerFunc(h.serve))
	h.base = h.ts.URL + "/engine.io/"
	h.wsBase = "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/engine.io/"
	h.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(func() { h.close(t) })
	return h
}

// close shuts the harness down: the engine first (it answers parked polls),
// then the HTTP server, which waits for its requests. The engine gets
// little time to close gracefully: idle polling sessions would hold it for
// its shutdown grace, and the graceful shutdown has a test of its own.
func (h *harness) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_ = h.srv.Close(ctx)
	h.ts.Close()
	h.client.CloseIdleConnections()
}

func (h *harness) log(sid string) *sessionLog {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, ok := h.sessions[sid]
	if !ok {
		l = &sessionLog{
			connects:    make(chan string, 4),
			messages:    make(chan engineio.Message, 256),
			disconnects: make(chan engineio.Reason, 4),
		}
		h.sessions[sid] = l
	}
	return l
}

// serve hands requests to the engine. A request for an existing session
// reports the moment it has reached the session and waits there, so that
// a later request will be seen after it. There is no other way to observe
// a parked GET from outside; the signs are the first of:
//   - the handler watching the request's context, as a request does while
//     it waits on its session for an answer;
//   - the handler taking the connection (Hijack): the session said that
//     the GET will wait, and it is held without a goroutine;
//   - the handler reading the body: the session let the POST begin.
func (h *harness) serve(w http.ResponseWriter, r *http.Request) {
	if sid := r.URL.Query().Get("sid"); sid != "" && r.Header.Get("Upgrade") == "" {
		key := r.Method + " " + sid
		mark := sync.OnceFunc(func() { h.markWatched(key) })
		r = r.WithContext(&watchedContext{Context: r.Context(), onWatch: mark})
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &watchedBody{ReadCloser: r.Body, onRead: mark}
		}
		w = &watchedWriter{ResponseWriter: w, onHijack: mark}
	}
	h.srv.ServeHTTP(w, r)
}

type watchedBody struct {
	io.ReadCloser
	onRead func()
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.onRead()
	return b.ReadCloser.Read(p)
}

type watchedWriter struct {
	http.ResponseWriter
	onHijack func()
}

func (w *watchedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.onHijack()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *watchedWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *watchedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// watchedContext, watchedBody and watchedWriter call their hook at each
// use; serve's hook counts the first only.
type watchedContext struct {
	context.Context
	onWatch func()
}

func (c *watchedContext) Done() <-chan struct{} {
	c.onWatch()
	return c.Context.Done()
}

func (h *harness) markWatched(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.watched[key]++
	close(h.changed)
	h.changed = make(chan struct{})
}

// awaitWaiting waits until n requests with method for sid have reached
// the session and wait on it.
func (h *harness) awaitWaiting(t *testing.T, method, sid string, n int) {
	t.Helper()
	key := method + " " + sid
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		got, ch := h.watched[key], h.changed
		h.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("%s: %d request(s) waiting on the session after %v, want %d", key, got, within, n)
		}
	}
}

// ---- HTTP ----

type httpResult struct {
	status int
	header http.Header
	body   string
	err    error
	at     time.Time // when the response was read
}

func (r httpResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %q (Content-Type %q)", r.status, r.body, r.header.Get("Content-Type"))
}

// do sends one request; query is the raw query string.
func (h *harness) do(ctx context.Context, method, query string, body io.Reader, hdr http.Header) httpResult {
	req, err := http.NewRequestWithContext(ctx, method, h.base+"?"+query, body)
	if err != nil {
		return httpResult{err: err}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return httpResult{err: err, at: time.Now()}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b), err: err, at: time.Now()}
}

// request sends a request that must be answered within the generous
// deadline and fails the test on a transport error.
func (h *harness) request(t *testing.T, method, query, body string) httpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var rd io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		rd = strings.NewReader(body)
	}
	res := h.do(ctx, method, query, rd, nil)
	if res.err != nil {
		t.Fatalf("%s ?%s: %v", method, query, res.err)
	}
	return res
}

func pollingQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// poll is a long-poll GET; it must be answered within the generous deadline.
func (h *harness) poll(t *testing.T, sid string) httpResult {
	t.Helper()
	return h.request(t, http.MethodGet, pollingQuery(sid), "")
}

// pollAsync starts a long-poll GET and delivers its result on the channel.
func (h *harness) pollAsync(ctx context.Context, sid string) <-chan httpResult {
	ch := make(chan httpResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 2*within)
		defer cancel()
		ch <- h.do(ctx, http.MethodGet, pollingQuery(sid), nil, nil)
	}()
	return ch
}

// post POSTs a payload.
func (h *harness) post(t *testing.T, sid, payload string) httpResult {
	t.Helper()
	return h.request(t, http.MethodPost, pollingQuery(sid), payload)
}

// awaitResult waits for an async request.
func awaitResult(t *testing.T, ch <-chan httpResult, d time.Duration, what string) httpResult {
	t.Helper()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("%s: %v", what, res.err)
		}
		return res
	case <-time.After(d):
		t.Fatalf("%s: no response within %v", what, d)
	}
	return httpResult{}
}

// expectNoResult checks that an async request is still pending after d.
func expectNoResult(t *testing.T, ch <-chan httpResult, d time.Duration, what string) {
	t.Helper()
	select {
	case res := <-ch:
		t.Fatalf("%s: answered early with %v", what, res)
	case <-time.After(d):
	}
}

// expectError checks an Engine.IO error response: status, JSON content type
// and exactly {"code":code,"message":message}.
func expectError(t *testing.T, res httpResult, status, code int, message string) {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d (response %v)", res.status, status, res)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(res.body), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", res.body, err)
	}
	want := map[string]any{"code": float64(code), "message": message}
	if !reflect.DeepEqual(body, want) {
		t.Fatalf("error body = %s, want {\"code\":%d,\"message\":%q}", res.body, code, message)
	}
}

// expectPayload checks a polling response that carries packets: 200,
// text/plain; charset=UTF-8, no-store, and the packets joined with \x1e.
func expectPayload(t *testing.T, res httpResult, packets ...string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (response %v)", res.status, res)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want %q", ct, "text/plain; charset=UTF-8")
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if want := strings.Join(packets, sep); res.body != want {
		t.Fatalf("payload = %q, want %q", res.body, want)
	}
}

// expectOK checks the answer to a successful POST.
func expectOK(t *testing.T, res httpResult) {
	t.Helper()
	if res.status != http.StatusOK || res.body != "ok" {
		t.Fatalf("POST answer = %v, want 200 \"ok\"", res)
	}
}

// ---- handshake ----

// openPacket is the handshake's JSON.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen checks that packet is `0{json}` with exactly the v4 keys, of the
// right JSON types, and returns it.
func parseOpen(t *testing.T, packet string) openPacket {
	t.Helper()
	if !strings.HasPrefix(packet, "0{") {
		t.Fatalf("open packet = %q, want 0{json}", packet)
	}
	data := []byte(packet[1:])
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(keys, want) {
		t.Fatalf("open packet keys = %v, want exactly %v", keys, want)
	}
	if !strings.HasPrefix(string(raw["upgrades"]), "[") {
		t.Errorf("upgrades = %s, want a JSON array", raw["upgrades"])
	}
	for _, k := range []string{"pingInterval", "pingTimeout", "maxPayload"} {
		if s := string(raw[k]); strings.ContainsAny(s, `."eE-`) {
			t.Errorf("%s = %s, want a non-negative integer", k, s)
		}
	}
	var open openPacket
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&open); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if open.SID == "" {
		t.Fatalf("open packet %q has an empty sid", packet)
	}
	return open
}

// handshake opens a polling session and returns its sid and open packet.
func (h *harness) handshake(t *testing.T) (string, openPacket) {
	t.Helper()
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	if res.status != http.StatusOK {
		t.Fatalf("handshake: %v", res)
	}
	open := parseOpen(t, res.body)
	return open.SID, open
}

// ---- application events ----

func (h *harness) expectConnect(t *testing.T, sid, transport string) {
	t.Helper()
	select {
	case got := <-h.log(sid).connects:
		if got != transport {
			t.Fatalf("OnConnect saw transport %q, want %q", got, transport)
		}
	case <-time.After(within):
		t.Fatalf("OnConnect did not run for %s", sid)
	}
}

func (h *harness) expectMessage(t *testing.T, sid string, want engineio.Message) {
	t.Helper()
	select {
	case got := <-h.log(sid).messages:
		if got.Binary != want.Binary || string(got.Data) != string(want.Data) {
			t.Fatalf("OnMessage got %s, want %s", describeMessage(got), describeMessage(want))
		}
	case <-time.After(within):
		t.Fatalf("no message delivered, want %s", describeMessage(want))
	}
}

func (h *harness) expectTexts(t *testing.T, sid string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		h.expectMessage(t, sid, engineio.Message{Data: []byte(s)})
	}
}

func (h *harness) expectNoMessage(t *testing.T, sid string, d time.Duration) {
	t.Helper()
	select {
	case got := <-h.log(sid).messages:
		t.Fatalf("unexpected message delivered: %s", describeMessage(got))
	case <-time.After(d):
	}
}

func describeMessage(m engineio.Message) string {
	if m.Binary {
		return fmt.Sprintf("binary %v", m.Data)
	}
	return fmt.Sprintf("text %q", m.Data)
}

// expectDisconnect waits up to d for the session's OnDisconnect and checks
// its reason.
func (h *harness) expectDisconnect(t *testing.T, sid string, reason engineio.Reason, d time.Duration) {
	t.Helper()
	if got := h.awaitDisconnect(t, sid, d); got != reason {
		t.Fatalf("session closed with reason %q, want %q", got, reason)
	}
}

// awaitDisconnect waits up to d for the session's OnDisconnect.
func (h *harness) awaitDisconnect(t *testing.T, sid string, d time.Duration) engineio.Reason {
	t.Helper()
	select {
	case got := <-h.log(sid).disconnects:
		return got
	case <-time.After(d):
		t.Fatalf("session %s did not close within %v", sid, d)
	}
	return ""
}

func (h *harness) expectNoDisconnect(t *testing.T, sid string, d time.Duration) {
	t.Helper()
	select {
	case got := <-h.log(sid).disconnects:
		t.Fatalf("session closed unexpectedly: %q", got)
	case <-time.After(d):
	}
}

// expectGone checks that the session is unknown to GET and POST. It is
// called as soon as the session's OnDisconnect has run, as a client would
// send its next request at once.
func (h *harness) expectGone(t *testing.T, sid string) {
	t.Helper()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		ctx, cancel := context.WithTimeout(context.Background(), within)
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("4late")
		}
		res := h.do(ctx, method, pollingQuery(sid), body, nil)
		cancel()
		if res.err != nil {
			t.Fatalf("%s on the closed session: no answer (%v); a request that reaches a session while it stops is never answered, see TestConformance08_UnknownSID/closed_while_OnDisconnect_runs", method, res.err)
		}
		expectError(t, res, http.StatusBadRequest, 1, "Session ID unknown")
	}
}

// ---- WebSocket ----

type wsFrame struct {
	typ  int
	data []byte
	err  error
}

func (f wsFrame) String() string {
	switch {
	case f.err != nil:
		return "error: " + f.err.Error()
	case f.typ == websocket.BinaryMessage:
		return fmt.Sprintf("binary %v", f.data)
	}
	return fmt.Sprintf("text %q", f.data)
}

// wsClient is a raw WebSocket; a goroutine reads its frames into a channel
// so that a test can wait for a frame, or for none, without breaking the
// connection with a read deadline.
type wsClient struct {
	conn   *websocket.Conn
	resp   *http.Response
	frames chan wsFrame // closed after the read error
}

func (h *harness) wsURL(sid string) string {
	u := h.wsBase + "?EIO=4&transport=websocket"
	if sid != "" {
		u += "&sid=" + sid
	}
	return u
}

// wsDialRaw dials the engine path with the given raw query.
func (h *harness) wsDialRaw(query string) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: within}
	return d.Dial(h.wsBase+"?"+query, nil)
}

// wsDial opens a WebSocket, to upgrade the session sid, or a WebSocket-only
// session when sid is "".
func (h *harness) wsDial(t *testing.T, sid string) *wsClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: within}
	conn, resp, err := d.Dial(h.wsURL(sid), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("WebSocket dial (sid %q): %v (HTTP %d)", sid, err, status)
	}
	c := &wsClient{conn: conn, resp: resp, frames: make(chan wsFrame, 256)}
	go func() {
		defer close(c.frames)
		for {
			typ, data, err := conn.ReadMessage()
			c.frames <- wsFrame{typ: typ, data: data, err: err}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// wsHandshake opens a WebSocket-only session and reads its open packet.
func (h *harness) wsHandshake(t *testing.T) (string, *wsClient, openPacket) {
	t.Helper()
	c := h.wsDial(t, "")
	open := parseOpen(t, c.readText(t, within))
	return open.SID, c, open
}

// readFrame returns the next frame, failing on a read error or when none
// comes within d.
func (c *wsClient) readFrame(t *testing.T, d time.Duration) wsFrame {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		switch {
		case !ok:
			t.Fatalf("WebSocket already closed")
		case f.err != nil:
			t.Fatalf("WebSocket closed while a frame was expected: %v", f.err)
		}
		return f
	case <-time.After(d):
		t.Fatalf("no WebSocket frame within %v", d)
	}
	return wsFrame{}
}

// readText returns the next frame, which must be a text frame.
func (c *wsClient) readText(t *testing.T, d time.Duration) string {
	t.Helper()
	f := c.readFrame(t, d)
	if f.typ != websocket.TextMessage {
		t.Fatalf("got %v, want a text frame", f)
	}
	return string(f.data)
}

func (c *wsClient) expectText(t *testing.T, want string) {
	t.Helper()
	if got := c.readText(t, within); got != want {
		t.Fatalf("text frame = %q, want %q", got, want)
	}
}

func (c *wsClient) expectBinary(t *testing.T, want []byte) {
	t.Helper()
	f := c.readFrame(t, within)
	if f.typ != websocket.BinaryMessage || !slices.Equal(f.data, want) {
		t.Fatalf("got %v, want binary frame %v", f, want)
	}
}

// expectSilence checks that no frame (and no close) arrives within d.
func (c *wsClient) expectSilence(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			t.Fatalf("WebSocket already closed")
		}
		t.Fatalf("unexpected WebSocket frame: %v", f)
	case <-time.After(d):
	}
}

// expectClosed checks that the server closes the WebSocket within d without
// sending any data frame first, and returns the read error.
func (c *wsClient) expectClosed(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		switch {
		case !ok:
			t.Fatalf("WebSocket already closed")
		case f.err == nil:
			t.Fatalf("got %v, want the WebSocket closed", f)
		}
		return f.err
	case <-time.After(d):
		t.Fatalf("WebSocket not closed within %v", d)
	}
	return nil
}

// expectCloseFrame checks that the server ends the WebSocket with a close
// frame (normal closure) within d, with no data frame first.
func (c *wsClient) expectCloseFrame(t *testing.T, d time.Duration) {
	t.Helper()
	err := c.expectClosed(t, d)
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("WebSocket ended with %v, want a close frame (1000)", err)
	}
}

func (c *wsClient) send(t *testing.T, text string) {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatalf("WebSocket write %q: %v", text, err)
	}
}

func (c *wsClient) sendBinary(t *testing.T, data []byte) {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, data); err != nil {
		t.Fatalf("WebSocket write binary: %v", err)
	}
}

// upgrade moves the polling session sid to a new WebSocket: 2probe, 3probe,
// 5, then one echo over the WebSocket, which proves the server took the
// switch (frames of one connection are handled in order).
func (h *harness) upgrade(t *testing.T, sid string) *wsClient {
	t.Helper()
	c := h.wsDial(t, sid)
	c.send(t, "2probe")
	c.expectText(t, "3probe")
	c.send(t, "5")
	c.send(t, "4upgraded")
	c.expectText(t, "4upgraded")
	h.expectTexts(t, sid, "upgraded")
	return c
}

// ---- raw TCP ----

// rawWebSocketRequest sends a WebSocket handshake for query over a plain TCP
// connection, reads until the server closes the connection and parses the
// HTTP response. It fails if the connection stays open.
func (h *harness) rawWebSocketRequest(t *testing.T, query string, extra string) (resp *http.Response, body, raw string) {
	t.Helper()
	conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(within))
	req := "GET /engine.io/?" + query + " HTTP/1.1\r\n" +
		"Host: " + h.ts.Listener.Addr().String() + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		extra +
		"\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("write: %v", err)
	}
	all, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the server did not close the connection after its answer: %v (read so far %q)", err, all)
	}
	resp, err = http.ReadResponse(bufio.NewReader(strings.NewReader(string(all))), nil)
	if err != nil {
		t.Fatalf("parse response %q: %v", all, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), string(all)
}

package engineio_test

// Conformance tests of the HTTP layer around the protocol: CORS and the
// origin policy (checklist items 41-43), the sid cookie (44), HTTP
// compression (45), the engine path (46), WebSocket permessage-deflate, the
// handshake hooks (WithAllowRequest, WithInitialHeaders, WithHeaders,
// WithInitialPacket, WithJSONMarshal, WithSIDGenerator) and hostile input
// (Origin, Accept-Encoding, text echoed back in responses). Plain HTTP
// requests and raw WebSockets, as in conformance_test.go.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// ---- helpers ----

// httpDo sends one request with headers and fails on a transport error.
func (h *harness) httpDo(t *testing.T, method, query, body string, hdr http.Header) httpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	var rd io.Reader
	if method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	res := h.do(ctx, method, query, rd, hdr)
	if res.err != nil {
		t.Fatalf("%s ?%s: %v", method, query, res.err)
	}
	return res
}

// rawDo sends one request with a client that never decompresses (and never
// asks for compression by itself), so Content-Encoding is seen as sent.
func (h *harness) rawDo(t *testing.T, method, query, body string, hdr http.Header) httpResult {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	var rd io.Reader
	if method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.base+"?"+query, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("%s ?%s: %v", method, query, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s ?%s: read body: %v", method, query, err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b), at: time.Now()}
}

// decodeBody undoes the response's Content-Encoding.
func decodeBody(t *testing.T, res httpResult) string {
	t.Helper()
	var rd io.ReadCloser
	var err error
	switch enc := res.header.Get("Content-Encoding"); enc {
	case "":
		return res.body
	case "gzip":
		rd, err = gzip.NewReader(strings.NewReader(res.body))
	case "deflate":
		rd, err = zlib.NewReader(strings.NewReader(res.body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatalf("Content-Encoding %s: %v", res.header.Get("Content-Encoding"), err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatalf("Content-Encoding %s: %v", res.header.Get("Content-Encoding"), err)
	}
	return string(b)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// hasToken reports whether a comma-separated header (all its lines)
// contains tok, case-insensitively.
func hasToken(h http.Header, name, tok string) bool {
	for _, v := range h.Values(name) {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), tok) {
				return true
			}
		}
	}
	return false
}

// dialWS dials the engine path with a raw query and request headers.
func (h *harness) dialWS(query string, header http.Header, compress bool) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: within, EnableCompression: compress}
	return d.Dial(h.wsBase+"?"+query, header)
}

func (h *harness) mustDialWS(t *testing.T, query string, header http.Header, compress bool) *wsClient {
	t.Helper()
	conn, resp, err := h.dialWS(query, header, compress)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("WebSocket dial ?%s: %v (HTTP %d)", query, err, status)
	}
	return adoptWS(t, conn, resp)
}

// checkCORS checks the Access-Control headers of a response to an allowed
// cross-origin request.
func checkCORS(t *testing.T, what string, res httpResult, allowOrigin string, credentials bool) {
	t.Helper()
	if got := res.header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != allowOrigin {
		t.Errorf("%s: Access-Control-Allow-Origin = %q, want exactly %q", what, got, allowOrigin)
	}
	got := res.header.Get("Access-Control-Allow-Credentials")
	switch {
	case credentials && got != "true":
		t.Errorf("%s: Access-Control-Allow-Credentials = %q, want true", what, got)
	case !credentials && got != "":
		t.Errorf("%s: Access-Control-Allow-Credentials = %q, want none", what, got)
	}
	if !hasToken(res.header, "Vary", "Origin") {
		t.Errorf("%s: Vary = %q, want it to list Origin", what, res.header.Values("Vary"))
	}
}

func checkNoCORS(t *testing.T, what string, res httpResult) {
	t.Helper()
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
		if v := res.header.Values(k); len(v) > 0 {
			t.Errorf("%s: %s = %q, want none", what, k, v)
		}
	}
}

// handshakeWith opens a v4 polling session sending hd.
func (h *harness) handshakeWith(t *testing.T, hd http.Header) (string, httpResult) {
	t.Helper()
	res := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hd)
	if res.status != http.StatusOK {
		t.Fatalf("handshake with %v: %v", hd, res)
	}
	return parseOpen(t, res.body).SID, res
}

func (h *harness) expectNoSessions(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(h.srv.Sessions()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sessions open: %v, want none", h.srv.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- 41 ----

// 41. The CORS preflight OPTIONS on the engine path returns the configured
// CORS headers; polling responses carry Access-Control-Allow-Origin (and
// -Credentials when configured).
func TestConformance41_CORS(t *testing.T) {
	t.Parallel()
	const app = "http://app.example"
	t.Run("preflight", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS(app))
		res := h.httpDo(t, http.MethodOptions, "EIO=4&transport=polling", "", hdr(
			"Origin", app,
			"Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "content-type, x-custom"))
		if res.status != http.StatusNoContent || res.body != "" {
			t.Fatalf("preflight: %v, want 204 and no body", res)
		}
		checkCORS(t, "preflight", res, app, true)
		for _, m := range []string{"GET", "POST", "OPTIONS"} {
			if !hasToken(res.header, "Access-Control-Allow-Methods", m) {
				t.Errorf("Access-Control-Allow-Methods = %q, want %s in it", res.header.Values("Access-Control-Allow-Methods"), m)
			}
		}
		if got := res.header.Get("Access-Control-Allow-Headers"); got != "content-type, x-custom" {
			t.Errorf("Access-Control-Allow-Headers = %q, want the requested \"content-type, x-custom\"", got)
		}
		if s := h.srv.Sessions(); len(s) != 0 {
			t.Errorf("a preflight opened sessions %v", s)
		}
	})
	t.Run("preflight from another origin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS(app))
		res := h.httpDo(t, http.MethodOptions, "EIO=4&transport=polling", "", hdr("Origin", "http://evil.example", "Access-Control-Request-Method", "POST"))
		expectError(t, res, http.StatusBadRequest, 3, "Bad request")
		checkNoCORS(t, "denied preflight", res)
	})
	t.Run("polling responses", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS(app))
		origin := hdr("Origin", app)
		sid, res := h.handshakeWith(t, origin)
		checkCORS(t, "handshake", res, app, true)
		post := h.httpDo(t, http.MethodPost, pollingQuery(sid), "4hi", origin)
		expectOK(t, post)
		checkCORS(t, "POST", post, app, true)
		get := h.httpDo(t, http.MethodGet, pollingQuery(sid), "", origin)
		expectPayload(t, get, "4hi")
		checkCORS(t, "GET", get, app, true)
		// The browser must be able to read errors too.
		bad := h.httpDo(t, http.MethodGet, pollingQuery("no-such-sid"), "", origin)
		expectError(t, bad, http.StatusBadRequest, 1, "Session ID unknown")
		checkCORS(t, "error", bad, app, true)
		// A request without Origin is not a CORS request, but the answer
		// still varies with Origin.
		_, plain := h.handshakeWith(t, nil)
		if v := plain.header.Values("Access-Control-Allow-Origin"); len(v) != 0 {
			t.Errorf("no Origin: Access-Control-Allow-Origin = %q, want none", v)
		}
		if !hasToken(plain.header, "Vary", "Origin") {
			t.Errorf("no Origin: Vary = %q, want Origin", plain.header.Values("Vary"))
		}
	})
	t.Run("origins compared as origins, echoed as sent", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("https://App.Example:443/"))
		_, res := h.handshakeWith(t, hdr("Origin", "https://app.example"))
		checkCORS(t, "handshake", res, "https://app.example", true)
		for _, o := range []string{"http://app.example", "https://app.example:8443", "https://app.example.evil"} {
			res := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", o))
			expectError(t, res, http.StatusBadRequest, 3, "Bad request")
		}
	})
	t.Run("wildcard without credentials", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("*"), engineio.WithCORSCredentials(false))
		origin := hdr("Origin", "http://anything.example")
		sid, res := h.handshakeWith(t, origin)
		checkCORS(t, "handshake", res, "*", false)
		get := h.httpDo(t, http.MethodPost, pollingQuery(sid), "4x", origin)
		checkCORS(t, "POST", get, "*", false)
		pre := h.httpDo(t, http.MethodOptions, "", "", hdr("Origin", "http://anything.example", "Access-Control-Request-Method", "POST"))
		if pre.status != http.StatusNoContent {
			t.Fatalf("preflight: %v, want 204", pre)
		}
		checkCORS(t, "preflight", pre, "*", false)
	})
	t.Run("wildcard with credentials echoes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("*"))
		_, res := h.handshakeWith(t, hdr("Origin", "http://anything.example"))
		checkCORS(t, "handshake", res, "http://anything.example", true)
	})
	t.Run("explicit list without credentials", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS(app, "http://two.example"), engineio.WithCORSCredentials(false))
		_, res := h.handshakeWith(t, hdr("Origin", "http://two.example"))
		checkCORS(t, "handshake", res, "http://two.example", false)
	})
	t.Run("CORS function", func(t *testing.T) {
		t.Parallel()
		var seen sync.Map
		h := newHarness(t, engineio.WithCORS("http://listed.example"), engineio.WithCORSFunc(func(origin string, r *http.Request) bool {
			seen.Store(origin, r.URL.Query().Get("transport"))
			return strings.HasSuffix(origin, ".example.org")
		}))
		_, res := h.handshakeWith(t, hdr("Origin", "https://a.example.org"))
		checkCORS(t, "allowed by the function", res, "https://a.example.org", true)
		if v, _ := seen.Load("https://a.example.org"); v != "polling" {
			t.Errorf("the function saw transport %v, want the request", v)
		}
		// The function takes precedence over WithCORS.
		for _, o := range []string{"http://listed.example", "https://example.com"} {
			expectError(t, h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", o)), http.StatusBadRequest, 3, "Bad request")
		}
	})
	t.Run("same origin only by default", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		res := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", "http://other.example"))
		expectError(t, res, http.StatusBadRequest, 3, "Bad request")
		checkNoCORS(t, "cross-origin", res)
		pre := h.httpDo(t, http.MethodOptions, "EIO=4&transport=polling", "", hdr("Origin", "http://other.example", "Access-Control-Request-Method", "POST"))
		expectError(t, pre, http.StatusBadRequest, 3, "Bad request")
		h.expectNoSessions(t)

		// The server's own origin works, and needs no CORS headers.
		self := hdr("Origin", h.ts.URL)
		sid, ok := h.handshakeWith(t, self)
		checkNoCORS(t, "same origin", ok)
		expectOK(t, h.httpDo(t, http.MethodPost, pollingQuery(sid), "4same", self))
		h.expectTexts(t, sid, "same")
		expectPayload(t, h.httpDo(t, http.MethodGet, pollingQuery(sid), "", self), "4same")
		// And so does a request that is no CORS request at all.
		h.handshake(t)
		// A cross-origin request on an existing session is refused too, and
		// leaves the session alone.
		expectError(t, h.httpDo(t, http.MethodPost, pollingQuery(sid), "4x", hdr("Origin", "http://other.example")), http.StatusBadRequest, 3, "Bad request")
		h.expectNoMessage(t, sid, quiet)
		expectOK(t, h.post(t, sid, "4still"))
		expectPayload(t, h.poll(t, sid), "4still")
	})
	t.Run("same origin behind a proxy", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		sid, res := h.handshakeWith(t, hdr("Origin", "https://public.example", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "public.example"))
		checkNoCORS(t, "forwarded same origin", res)
		h.expectConnect(t, sid, "polling")
	})
	t.Run("bad configuration", func(t *testing.T) {
		t.Parallel()
		for _, o := range []string{"app.example", "http://app.example/path", "http://app.example:99999"} {
			if _, err := engineio.NewServer(engineio.WithCORS(o)); err == nil {
				t.Errorf("WithCORS(%q): no error", o)
			}
		}
		if _, err := engineio.NewServer(engineio.WithCORSFunc(nil)); err == nil {
			t.Error("WithCORSFunc(nil): no error")
		}
	})
}

// ---- 42 ----

// 42. A disallowed Origin on the WebSocket handshake is rejected (browsers
// do not apply CORS to WebSockets, so the server must).
func TestConformance42_WebSocketOrigin(t *testing.T) {
	t.Parallel()
	t.Run("default policy", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		_, resp, err := h.dialWS("EIO=4&transport=websocket", hdr("Origin", "http://other.example"), false)
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 3, "Bad request")
		h.expectNoSessions(t)
		// The server's own origin and no Origin at all are fine.
		for _, hd := range []http.Header{hdr("Origin", h.ts.URL), nil} {
			c := h.mustDialWS(t, "EIO=4&transport=websocket", hd, false)
			parseOpen(t, c.readText(t, within))
			c.send(t, "4ok")
			c.expectText(t, "4ok")
		}
	})
	t.Run("configured policy", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("http://app.example"))
		_, resp, err := h.dialWS("EIO=4&transport=websocket", hdr("Origin", "http://evil.example"), false)
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 3, "Bad request")
		c := h.mustDialWS(t, "EIO=4&transport=websocket", hdr("Origin", "http://app.example"), false)
		sid := parseOpen(t, c.readText(t, within)).SID
		c.send(t, "4ok")
		c.expectText(t, "4ok")
		h.expectConnect(t, sid, "websocket")
	})
	t.Run("the connection is closed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		_, body, raw := h.rawWebSocketRequest(t, "EIO=4&transport=websocket", "Sec-WebSocket-Version: 13\r\nOrigin: http://other.example\r\n")
		if !strings.HasPrefix(raw, "HTTP/1.1 400 Bad Request\r\n") || !strings.Contains(body, "Bad request") {
			t.Fatalf("response = %q, want 400 Bad request", raw)
		}
	})
	t.Run("upgrade from another origin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("http://app.example"))
		sid, _ := h.handshakeWith(t, hdr("Origin", "http://app.example"))
		_, resp, err := h.dialWS("EIO=4&transport=websocket&sid="+sid, hdr("Origin", "http://evil.example"), false)
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 3, "Bad request")
		// The polling session goes on, and may still upgrade properly.
		expectOK(t, h.post(t, sid, "4poll"))
		expectPayload(t, h.poll(t, sid), "4poll")
		c := h.mustDialWS(t, "EIO=4&transport=websocket&sid="+sid, hdr("Origin", "http://app.example"), false)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		c.send(t, "5")
		c.send(t, "4ws")
		c.expectText(t, "4ws")
		h.expectNoDisconnect(t, sid, 0)
	})
}

// ---- 43 ----

// malformedOrigins are Origin values that are not serialised origins.
var malformedOrigins = [][]string{
	{"http://a b"},
	{"http://app.example/"},
	{"http://app.example/path"},
	{"http://app.example:99999"},
	{"http://app.example:"},
	{"http://app.example:80x"},
	{"app.example"},
	{"://app.example"},
	{"http//app.example"},
	{"http://app.example?x"},
	{"http://user@app.example"},
	{"http://[::1"},
	{"http://\xfc.example"},
	{"*"},
	{"http://a.example, http://b.example"},
	{`http://"app".example`},
	{"http://<script>.example"},
	{"http://app.example", "http://app.example"}, // the header twice
}

// 43. An Origin header that is not an origin gets 400 code 3: on polling,
// on the preflight and on the WebSocket handshake, whatever the policy.
func TestConformance43_MalformedOrigin(t *testing.T) {
	t.Parallel()
	for _, policy := range []struct {
		name string
		opts []engineio.Option
	}{
		{"default", nil},
		{"any origin", []engineio.Option{engineio.WithCORS("*")}},
		{"CORS function allowing all", []engineio.Option{engineio.WithCORSFunc(func(string, *http.Request) bool { return true })}},
	} {
		t.Run(policy.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, policy.opts...)
			sid, _ := h.handshake(t)
			for _, origin := range malformedOrigins {
				hd := http.Header{"Origin": origin}
				for _, r := range []struct{ method, query string }{
					{http.MethodGet, "EIO=4&transport=polling"},
					{http.MethodOptions, "EIO=4&transport=polling"},
					{http.MethodPost, pollingQuery(sid)},
				} {
					res := h.httpDo(t, r.method, r.query, "4x", hd)
					if res.status != http.StatusBadRequest {
						t.Fatalf("%s with Origin %q: %v, want 400", r.method, origin, res)
					}
					expectError(t, res, http.StatusBadRequest, 3, "Bad request")
					checkNoCORS(t, fmt.Sprintf("%s with Origin %q", r.method, origin), res)
				}
				_, resp, err := h.dialWS("EIO=4&transport=websocket", hd, false)
				expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 3, "Bad request")
			}
			h.expectNoMessage(t, sid, 0)
			if s := h.srv.Sessions(); len(s) != 1 {
				t.Fatalf("sessions %v, want only %s", s, sid)
			}
		})
	}
}

// ---- 44 ----

// 44. With a cookie configured, Set-Cookie io=<sid>; Path=/; HttpOnly;
// SameSite=Lax appears on the handshake response only (polling and
// WebSocket), never on later responses; without it there is none.
func TestConformance44_Cookie(t *testing.T) {
	t.Parallel()
	cookie := engineio.WithCookie(&http.Cookie{Name: "io", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	want := func(sid string) []string { return []string{"io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"} }
	noCookie := func(t *testing.T, what string, hd http.Header) {
		t.Helper()
		if v := hd.Values("Set-Cookie"); len(v) != 0 {
			t.Errorf("%s: Set-Cookie %q, want none", what, v)
		}
	}
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cookie)
		res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		sid := parseOpen(t, res.body).SID
		if got := res.header.Values("Set-Cookie"); !slices.Equal(got, want(sid)) {
			t.Fatalf("handshake Set-Cookie = %q, want %q", got, want(sid))
		}
		post := h.post(t, sid, "4x")
		expectOK(t, post)
		noCookie(t, "POST", post.header)
		get := h.poll(t, sid)
		expectPayload(t, get, "4x")
		noCookie(t, "GET", get.header)
		// Nor on the WebSocket of an upgrade.
		c := h.wsDial(t, sid)
		noCookie(t, "upgrade 101", c.resp.Header)
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cookie)
		c := h.wsDial(t, "")
		sid := parseOpen(t, c.readText(t, within)).SID
		if got := c.resp.Header.Values("Set-Cookie"); !slices.Equal(got, want(sid)) {
			t.Fatalf("WebSocket handshake Set-Cookie = %q, want %q", got, want(sid))
		}
	})
	t.Run("v3 and JSONP", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t, cookie)
		res := h.request(t, http.MethodGet, "EIO=3&transport=polling&j=0", "")
		sid := parseV3Open(t, v3OnlyRecord(t, expectJSONP(t, res, "0"))).SID
		if got := res.header.Values("Set-Cookie"); !slices.Equal(got, want(sid)) {
			t.Fatalf("JSONP handshake Set-Cookie = %q, want %q", got, want(sid))
		}
	})
	t.Run("not on refused handshakes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, cookie)
		h.srv.OnConnect(func(*engineio.Session) error { return errors.New("no") })
		res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		expectError(t, res, http.StatusForbidden, 4, "no")
		noCookie(t, "refused handshake", res.header)
		noCookie(t, "bad request", h.request(t, http.MethodGet, "EIO=9&transport=polling", "").header)
	})
	t.Run("none by default", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		parseOpen(t, res.body)
		noCookie(t, "handshake", res.header)
		c := h.wsDial(t, "")
		noCookie(t, "WebSocket handshake", c.resp.Header)
	})
	t.Run("template attributes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCookie(&http.Cookie{Name: "lb", Value: "ignored", Domain: "app.example", MaxAge: 60, Secure: true, SameSite: http.SameSiteStrictMode}))
		res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		sid := parseOpen(t, res.body).SID
		if got, w := res.header.Values("Set-Cookie"), []string{"lb=" + sid + "; Domain=app.example; Max-Age=60; Secure; SameSite=Strict"}; !slices.Equal(got, w) {
			t.Fatalf("Set-Cookie = %q, want %q", got, w)
		}
		for _, c := range []*http.Cookie{nil, {}, {Path: "/"}} {
			if _, err := engineio.NewServer(engineio.WithCookie(c)); err == nil {
				t.Errorf("WithCookie(%v): no error", c)
			}
		}
	})
}

// ---- 45 ----

// 45. With HTTP compression on, a polling body of at least the threshold is
// gzip- or deflate-encoded per Accept-Encoding, with Content-Encoding set;
// smaller bodies are not compressed; WithHTTPCompression(-1) turns it off.
func TestConformance45_HTTPCompression(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("compressible ", 160) // 2080 bytes
	// queued sends big and returns the payload a GET will carry.
	queued := func(t *testing.T, h *harness, sid string) string {
		t.Helper()
		mustSend(t, h, sid, big)
		return "4" + big
	}
	t.Run("negotiation", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t) // default: on, threshold 1024
		for _, tc := range []struct{ accept, want string }{
			{"gzip", "gzip"},
			{"deflate", "deflate"},
			{"gzip, deflate, br", "gzip"},
			{"deflate, gzip", "gzip"}, // equal q: gzip
			{"gzip;q=0.5, deflate", "deflate"},
			{"gzip;q=0, deflate;q=0.1", "deflate"},
			{"x-gzip", "gzip"},
			{"GZIP", "gzip"},
			{"*", "gzip"},
			{"br", ""},
			{"identity", ""},
			{"gzip;q=0", ""},
			{"*;q=0", ""},
			{"", ""},
		} {
			sid, _ := h.handshake(t)
			payload := queued(t, h, sid)
			var hd http.Header
			if tc.accept != "" {
				hd = hdr("Accept-Encoding", tc.accept)
			}
			res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", hd)
			if res.status != http.StatusOK {
				t.Fatalf("Accept-Encoding %q: %v", tc.accept, res)
			}
			if got := res.header.Get("Content-Encoding"); got != tc.want {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, got, tc.want)
			}
			if tc.want != "" {
				if !hasToken(res.header, "Vary", "Accept-Encoding") {
					t.Errorf("Accept-Encoding %q: Vary = %q, want Accept-Encoding", tc.accept, res.header.Values("Vary"))
				}
				if len(res.body) >= len(payload) {
					t.Errorf("Accept-Encoding %q: %d bytes on the wire for a %d-byte payload", tc.accept, len(res.body), len(payload))
				}
			}
			if cl := res.header.Get("Content-Length"); cl != fmt.Sprint(len(res.body)) {
				t.Errorf("Accept-Encoding %q: Content-Length %s for %d bytes", tc.accept, cl, len(res.body))
			}
			if got := decodeBody(t, res); got != payload {
				t.Fatalf("Accept-Encoding %q: decoded payload of %d bytes differs from the %d sent", tc.accept, len(got), len(payload))
			}
			if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
		}
	})
	t.Run("threshold", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithHTTPCompression(50))
		gz := hdr("Accept-Encoding", "gzip")
		for _, n := range []int{48, 49, 50, 500} { // payload = "4" + n bytes
			sid, _ := h.handshake(t)
			msg := strings.Repeat("a", n)
			mustSend(t, h, sid, msg)
			res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", gz)
			want := ""
			if 1+n >= 50 {
				want = "gzip"
			}
			if got := res.header.Get("Content-Encoding"); got != want {
				t.Errorf("%d-byte body: Content-Encoding %q, want %q", 1+n, got, want)
			}
			if got := decodeBody(t, res); got != "4"+msg {
				t.Fatalf("%d-byte body: decoded %q", 1+n, got)
			}
		}
		// The handshake is a polling body like any other.
		res := h.rawDo(t, http.MethodGet, "EIO=4&transport=polling", "", gz)
		if res.header.Get("Content-Encoding") != "gzip" {
			t.Errorf("handshake of %d bytes not compressed", len(decodeBody(t, res)))
		}
		parseOpen(t, decodeBody(t, res))
	})
	t.Run("below the default threshold", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		sid, _ := h.handshake(t)
		mustSend(t, h, sid, strings.Repeat("s", 1000))
		res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", hdr("Accept-Encoding", "gzip, deflate"))
		if enc := res.header.Get("Content-Encoding"); enc != "" {
			t.Fatalf("1001-byte body compressed with %s, below the 1024 default", enc)
		}
		expectPayload(t, res, "4"+strings.Repeat("s", 1000))
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithHTTPCompression(-1))
		sid, _ := h.handshake(t)
		payload := queued(t, h, sid)
		res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", hdr("Accept-Encoding", "gzip, deflate"))
		if enc := res.header.Get("Content-Encoding"); enc != "" {
			t.Fatalf("compressed with %s although off", enc)
		}
		expectPayload(t, res, payload)
	})
	t.Run("zero threshold and POST answers", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithHTTPCompression(0))
		sid, _ := h.handshake(t)
		post := h.rawDo(t, http.MethodPost, pollingQuery(sid), "4x", hdr("Accept-Encoding", "gzip"))
		expectOK(t, post) // "ok" as is
		res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", hdr("Accept-Encoding", "deflate"))
		if res.header.Get("Content-Encoding") != "deflate" || decodeBody(t, res) != "4x" {
			t.Fatalf("2-byte body with threshold 0: Content-Encoding %q, decoded %q", res.header.Get("Content-Encoding"), decodeBody(t, res))
		}
	})
	t.Run("v3 payloads", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		mustSend(t, h, sid, big)
		res := h.rawDo(t, http.MethodGet, v3Query(sid, ""), "", hdr("Accept-Encoding", "gzip"))
		if res.header.Get("Content-Encoding") != "gzip" || decodeBody(t, res) != v3Pay("4"+big) {
			t.Fatalf("v3 payload: Content-Encoding %q", res.header.Get("Content-Encoding"))
		}
		// XHR2 binary payloads too.
		data := bytes.Repeat([]byte{1, 2, 3, 4}, 600)
		mustSendBinary(t, h, sid, data)
		res = h.rawDo(t, http.MethodGet, v3Query(sid, ""), "", hdr("Accept-Encoding", "gzip"))
		want := append([]byte{1, 2, 4, 0, 1, 0xFF, 4}, data...)
		if res.header.Get("Content-Encoding") != "gzip" || decodeBody(t, res) != string(want) || res.header.Get("Content-Type") != "application/octet-stream" {
			t.Fatalf("XHR2 payload: Content-Encoding %q, Content-Type %q", res.header.Get("Content-Encoding"), res.header.Get("Content-Type"))
		}
	})
}

// ---- 46 ----

// 46. The engine path is configurable; it is served with and without its
// trailing slash, and nothing else is.
func TestConformance46_Path(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/custom", "/custom/", "/a/b/socket.io/"} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			srv, err := engineio.NewServer(engineio.WithPath(path))
			if err != nil {
				t.Fatal(err)
			}
			srv.OnMessage(func(s *engineio.Session, m engineio.Message) { _ = s.Send(m.Text()) })
			ts := httptest.NewServer(srv)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
				defer cancel()
				_ = srv.Close(ctx)
				ts.Close()
			})
			client := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(client.CloseIdleConnections)
			get := func(p string) (int, string) {
				t.Helper()
				resp, err := client.Get(ts.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			clean := strings.TrimSuffix(path, "/")
			for _, p := range []string{clean, clean + "/"} {
				status, body := get(p + "?EIO=4&transport=polling")
				if status != http.StatusOK {
					t.Fatalf("GET %s: %d %q, want the handshake", p, status, body)
				}
				sid := parseOpen(t, body).SID
				resp, err := client.Post(ts.URL+p+"?EIO=4&transport=polling&sid="+sid, "text/plain", strings.NewReader("4hi"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if status, body := get(p + "?EIO=4&transport=polling&sid=" + sid); status != http.StatusOK || body != "4hi" {
					t.Fatalf("GET %s: %d %q, want the echo", p, status, body)
				}
				d := websocket.Dialer{HandshakeTimeout: within}
				conn, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+p+"?EIO=4&transport=websocket", nil)
				if err != nil {
					t.Fatalf("WebSocket on %s: %v", p, err)
				}
				c := adoptWS(t, conn, nil)
				parseOpen(t, c.readText(t, within))
				c.send(t, "4ws")
				c.expectText(t, "4ws")
			}
			for _, p := range []string{"/engine.io/", "/engine.io", clean + "/x", clean + "//", clean + "x", "/"} {
				if status, _ := get(p + "?EIO=4&transport=polling"); status != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", p, status)
				}
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"", "custom", "engine.io/"} {
			if _, err := engineio.NewServer(engineio.WithPath(p)); err == nil {
				t.Errorf("WithPath(%q): no error", p)
			}
		}
	})
}

// ---- permessage-deflate ----

// rawDeflateOpen performs a WebSocket handshake offering permessage-deflate
// over plain TCP and returns the 101 response and the first byte of the
// first frame (its FIN, RSV1 and opcode bits).
func (h *harness) rawDeflateOpen(t *testing.T) (*http.Response, byte) {
	t.Helper()
	conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(within))
	_, err = io.WriteString(conn, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n"+
		"Host: "+h.ts.Listener.Addr().String()+"\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b0, err := br.ReadByte()
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	return resp, b0
}

// With WithPerMessageDeflate a client that offers permessage-deflate gets
// it, frames at or above the threshold are compressed, and everything
// echoes intact.
func TestHTTPPerMessageDeflate(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("deflate me ", 2000)
	bin := bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 2000)
	echo := func(t *testing.T, c *wsClient) {
		t.Helper()
		for _, m := range []string{"4hi", "4" + text, "4€😀"} {
			c.send(t, m)
			c.expectText(t, m)
		}
		c.sendBinary(t, bin)
		c.expectBinary(t, bin)
	}
	t.Run("threshold 0", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPerMessageDeflate(0))
		c := h.mustDialWS(t, "EIO=4&transport=websocket", nil, true)
		if ext := c.resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
			t.Fatalf("Sec-WebSocket-Extensions = %q, want permessage-deflate", ext)
		}
		parseOpen(t, c.readText(t, within))
		echo(t, c)
		// On the wire: the open packet's frame is compressed (RSV1 set).
		resp, b0 := h.rawDeflateOpen(t)
		if resp.StatusCode != http.StatusSwitchingProtocols || !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
			t.Fatalf("raw handshake: %d %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions"))
		}
		if b0 != 0xC1 { // FIN, RSV1, text
			t.Fatalf("first frame header byte %#x, want 0xC1 (a compressed text frame)", b0)
		}
	})
	t.Run("threshold above the open packet", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPerMessageDeflate(1024))
		_, b0 := h.rawDeflateOpen(t)
		if b0 != 0x81 { // FIN, text, not compressed
			t.Fatalf("first frame header byte %#x, want 0x81 (an uncompressed text frame)", b0)
		}
		c := h.mustDialWS(t, "EIO=4&transport=websocket", nil, true)
		parseOpen(t, c.readText(t, within))
		echo(t, c)
	})
	t.Run("upgrade", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPerMessageDeflate(0))
		sid, _ := h.handshake(t)
		c := h.mustDialWS(t, "EIO=4&transport=websocket&sid="+sid, nil, true)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		c.send(t, "5")
		echo(t, c)
	})
	t.Run("v3", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t, engineio.WithPerMessageDeflate(0))
		c := h.mustDialWS(t, "EIO=3&transport=websocket", nil, true)
		parseV3Open(t, c.readText(t, within))
		c.sendBinary(t, append([]byte{4}, bin...))
		c.expectBinary(t, append([]byte{4}, bin...))
	})
	t.Run("off by default", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		c := h.mustDialWS(t, "EIO=4&transport=websocket", nil, true)
		if ext := c.resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
			t.Fatalf("Sec-WebSocket-Extensions = %q, want none", ext)
		}
		parseOpen(t, c.readText(t, within))
		echo(t, c)
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		if _, err := engineio.NewServer(engineio.WithPerMessageDeflate(-1)); err == nil {
			t.Fatal("WithPerMessageDeflate(-1): no error")
		}
	})
}

// ---- hooks ----

// WithAllowRequest sees every handshake, and only handshakes; a plain error
// rejects with 403 code 4 and its text, a *RequestError with its status,
// code and message.
func TestHTTPHooks_AllowRequest(t *testing.T) {
	t.Parallel()
	t.Run("plain error", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		h := newHarness(t, engineio.WithAllowRequest(func(r *http.Request) error {
			calls.Add(1)
			if r.URL.Query().Get("token") != "secret" {
				return errors.New(`no "token" <here>`)
			}
			return nil
		}))
		res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		expectError(t, res, http.StatusForbidden, 4, `no "token" <here>`)
		h.expectNoSessions(t)
		_, resp, err := h.wsDialRaw("EIO=4&transport=websocket")
		if err == nil || resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest) {
			t.Fatalf("refused WebSocket handshake: %v, want 403 (or 400)", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), `no \"token\" \u003chere\u003e`) {
			t.Fatalf("refused WebSocket handshake body %q, want the JSON-escaped message", body)
		}
		if n := calls.Load(); n != 2 {
			t.Fatalf("gate called %d times, want 2", n)
		}
		h.expectNoSessions(t)

		res = h.request(t, http.MethodGet, "EIO=4&transport=polling&token=secret", "")
		sid := parseOpen(t, res.body).SID
		h.expectConnect(t, sid, "polling")
		// Requests of an open session do not pass the gate again.
		expectOK(t, h.post(t, sid, "4x"))
		h.expectTexts(t, sid, "x")
		expectPayload(t, h.poll(t, sid), "4x")
		h.upgrade(t, sid)
		if n := calls.Load(); n != 3 {
			t.Fatalf("gate called %d times, want 3 (handshakes only)", n)
		}
	})
	t.Run("RequestError", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name         string
			err          error
			status, code int
			message      string
		}{
			// A zero Code is sent as 4, Forbidden (RequestError's doc).
			{"401", &engineio.RequestError{Status: 401, Message: "token expired"}, 401, 4, "token expired"},
			{"wrapped", fmt.Errorf("gate: %w", &engineio.RequestError{Status: 401, Message: "token expired"}), 401, 4, "token expired"},
			{"code and default message", &engineio.RequestError{Status: 429, Code: 3}, 429, 3, "Bad request"},
			{"zero value", &engineio.RequestError{}, 403, 4, "Forbidden"},
			{"403 with a message", &engineio.RequestError{Status: 403, Message: "banned"}, 403, 4, "banned"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, engineio.WithAllowRequest(func(*http.Request) error { return tc.err }))
				expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), tc.status, tc.code, tc.message)
				h.expectNoSessions(t)
			})
		}
	})
	t.Run("sees the request", func(t *testing.T) {
		t.Parallel()
		var got atomic.Value
		h := newV3Harness(t, engineio.WithAllowRequest(func(r *http.Request) error {
			got.Store(r.URL.Query().Get("EIO") + " " + r.URL.Query().Get("transport") + " " + r.Header.Get("X-Client"))
			return nil
		}))
		h.httpDo(t, http.MethodGet, "EIO=3&transport=polling", "", hdr("X-Client", "v3"))
		if v := got.Load(); v != "3 polling v3" {
			t.Fatalf("gate saw %q", v)
		}
		h.mustDialWS(t, "EIO=4&transport=websocket", hdr("X-Client", "ws"), false)
		if v := got.Load(); v != "4 websocket ws" {
			t.Fatalf("gate saw %q", v)
		}
	})
}

// WithInitialHeaders adds headers to handshake responses only.
func TestHTTPHooks_InitialHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, engineio.WithInitialHeaders(func(hd http.Header, r *http.Request) {
		hd.Set("X-Initial", r.URL.Query().Get("transport"))
	}))
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	sid := parseOpen(t, res.body).SID
	if got := res.header.Get("X-Initial"); got != "polling" {
		t.Fatalf("polling handshake X-Initial = %q, want polling", got)
	}
	c := h.wsDial(t, "")
	if got := c.resp.Header.Get("X-Initial"); got != "websocket" {
		t.Fatalf("WebSocket handshake X-Initial = %q, want websocket", got)
	}
	absent := func(what string, hd http.Header) {
		t.Helper()
		if v := hd.Values("X-Initial"); len(v) != 0 {
			t.Errorf("%s: X-Initial %q, want none", what, v)
		}
	}
	post := h.post(t, sid, "4x")
	expectOK(t, post)
	absent("POST", post.header)
	get := h.poll(t, sid)
	expectPayload(t, get, "4x")
	absent("GET", get.header)
	absent("error", h.poll(t, "no-such-sid").header)
	absent("bad handshake", h.request(t, http.MethodGet, "EIO=9&transport=polling", "").header)
	up := h.wsDial(t, sid)
	absent("upgrade 101", up.resp.Header)
	h.srv.OnConnect(func(*engineio.Session) error { return errors.New("no") })
	absent("refused handshake", h.request(t, http.MethodGet, "EIO=4&transport=polling", "").header)
}

// WithHeaders adds headers to every response of the engine path: success,
// errors, preflights and WebSocket 101s.
func TestHTTPHooks_Headers(t *testing.T) {
	t.Parallel()
	h := newHarness(t,
		engineio.WithHeaders(func(hd http.Header, r *http.Request) { hd.Set("X-Every", r.Method) }),
		engineio.WithCORS("http://app.example"),
		engineio.WithAllowRequest(func(r *http.Request) error {
			if r.URL.Query().Has("deny") {
				return errors.New("denied")
			}
			return nil
		}))
	check := func(what string, hd http.Header, method string) {
		t.Helper()
		if got := hd.Get("X-Every"); got != method {
			t.Errorf("%s: X-Every = %q, want %q", what, got, method)
		}
	}
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	sid := parseOpen(t, res.body).SID
	check("handshake", res.header, "GET")
	post := h.post(t, sid, "4x")
	expectOK(t, post)
	check("POST", post.header, "POST")
	get := h.poll(t, sid)
	expectPayload(t, get, "4x")
	check("GET", get.header, "GET")
	check("unknown sid", h.poll(t, "nope").header, "GET")
	check("bad EIO", h.request(t, http.MethodGet, "EIO=9&transport=polling", "").header, "GET")
	check("bad method", h.request(t, http.MethodPut, "EIO=4&transport=polling", "x").header, "PUT")
	check("gate", h.request(t, http.MethodGet, "EIO=4&transport=polling&deny", "").header, "GET")
	check("bad origin", h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", "http://a b")).header, "GET")
	check("denied origin", h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", "http://evil.example")).header, "GET")
	pre := h.httpDo(t, http.MethodOptions, "", "", hdr("Origin", "http://app.example", "Access-Control-Request-Method", "POST"))
	if pre.status != http.StatusNoContent {
		t.Fatalf("preflight: %v", pre)
	}
	check("preflight", pre.header, "OPTIONS")
	c := h.wsDial(t, "")
	check("WebSocket handshake 101", c.resp.Header, "GET")
	up := h.wsDial(t, sid)
	check("upgrade 101", up.resp.Header, "GET")
	_, resp, err := h.wsDialRaw("EIO=4&transport=websocket&sid=nope")
	expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 1, "Session ID unknown")
	check("WebSocket error", resp.Header, "GET")
}

// WithInitialPacket delivers its message first after the open packet, on
// every transport and revision.
func TestHTTPHooks_InitialPacket(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t, engineio.WithInitialPacket("welcome €"))
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		for range 2 { // every session
			res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
			packets := strings.Split(res.body, sep)
			sid := parseOpen(t, packets[0]).SID
			if len(packets) == 1 { // the message may come in the handshake or the first GET
				get := h.poll(t, sid)
				expectPayload(t, get, get.body)
				packets = append(packets, strings.Split(get.body, sep)...)
			}
			if packets[1] != "4welcome €" {
				t.Fatalf("packets after the handshake %q, want 4welcome € first", packets[1:])
			}
			expectOK(t, h.post(t, sid, "4echo"))
			expectPayload(t, h.poll(t, sid), "4echo")
		}
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		c := h.wsDial(t, "")
		parseOpen(t, c.readText(t, within))
		c.expectText(t, "4welcome €")
		c.send(t, "4echo")
		c.expectText(t, "4echo")
	})
	t.Run("v3 polling", func(t *testing.T) {
		t.Parallel()
		res := h.request(t, http.MethodGet, "EIO=3&transport=polling", "")
		packets := v3Records(t, res.body)
		sid := parseV3Open(t, packets[0]).SID
		if len(packets) == 1 {
			get := h.v3Poll(t, sid, "")
			expectV3Text(t, get, v3Records(t, get.body)...)
			packets = append(packets, v3Records(t, get.body)...)
		}
		if packets[1] != "4welcome €" {
			t.Fatalf("packets after the handshake %q, want 4welcome € first", packets[1:])
		}
	})
}

// WithJSONMarshal replaces encoding/json in SendJSON (Server and Session).
func TestHTTPHooks_JSONMarshal(t *testing.T) {
	t.Parallel()
	errNope := errors.New("cannot encode")
	h := newHarness(t, engineio.WithJSONMarshal(func(v any) ([]byte, error) {
		if _, bad := v.(chan int); bad {
			return nil, errNope
		}
		b, err := json.Marshal(v)
		return append([]byte("custom:"), b...), err
	}))
	h.srv.OnMessage(func(s *engineio.Session, m engineio.Message) {
		_ = s.SendJSON(map[string]string{"echo": m.Text()})
	})
	sid, _ := h.handshake(t)
	if err := h.srv.SendJSON(sid, []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, h.poll(t, sid), "4custom:[1,2]")
	expectOK(t, h.post(t, sid, "4hi"))
	expectPayload(t, h.poll(t, sid), `4custom:{"echo":"hi"}`)
	if err := h.srv.SendJSON(sid, make(chan int)); !errors.Is(err, errNope) {
		t.Fatalf("SendJSON with a failing marshal: %v, want it to wrap %v", err, errNope)
	}
	if _, err := engineio.NewServer(engineio.WithJSONMarshal(nil)); err == nil {
		t.Fatal("WithJSONMarshal(nil): no error")
	}
	// The default is encoding/json.
	d := newHarness(t)
	dsid, _ := d.handshake(t)
	if err := d.srv.SendJSON(dsid, map[string]any{"a": 1, "b": "<"}); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, d.poll(t, dsid), `4{"a":1,"b":"\u003c"}`)
}

// WithSIDGenerator names the sessions; an error or a duplicate fails the
// handshake with 400 code 3 and leaves the other sessions alone.
func TestHTTPHooks_SIDGenerator(t *testing.T) {
	t.Parallel()
	t.Run("custom ids", func(t *testing.T) {
		t.Parallel()
		var n atomic.Int32
		h := newHarness(t, engineio.WithSIDGenerator(func() (string, error) {
			return fmt.Sprintf("custom-%d", n.Add(1)), nil
		}))
		if sid, _ := h.handshake(t); sid != "custom-1" {
			t.Fatalf("sid %q, want custom-1", sid)
		}
		if sid, _, _ := h.wsHandshake(t); sid != "custom-2" {
			t.Fatalf("sid %q, want custom-2", sid)
		}
		expectOK(t, h.post(t, "custom-1", "4x"))
		expectPayload(t, h.poll(t, "custom-1"), "4x")
	})
	t.Run("ids that need escaping", func(t *testing.T) {
		t.Parallel()
		const sid = "a+b/c=d"
		h := newHarness(t, engineio.WithSIDGenerator(func() (string, error) { return sid, nil }))
		if got, _ := h.handshake(t); got != sid {
			t.Fatalf("sid %q, want %q", got, sid)
		}
		q := "EIO=4&transport=polling&sid=" + url.QueryEscape(sid)
		expectOK(t, h.request(t, http.MethodPost, q, "4x"))
		expectPayload(t, h.request(t, http.MethodGet, q, ""), "4x")
	})
	t.Run("errors and duplicates", func(t *testing.T) {
		t.Parallel()
		var fail atomic.Bool
		h := newHarness(t, engineio.WithSIDGenerator(func() (string, error) {
			if fail.Load() {
				return "", errors.New("entropy exhausted")
			}
			return "same", nil
		}))
		sid, _ := h.handshake(t)
		expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusBadRequest, 3, "Bad request")
		_, resp, err := h.wsDialRaw("EIO=4&transport=websocket")
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 3, "Bad request")
		fail.Store(true)
		expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusBadRequest, 3, "Bad request")
		// The first session is untouched.
		expectOK(t, h.post(t, sid, "4still"))
		expectPayload(t, h.poll(t, sid), "4still")
		h.expectNoDisconnect(t, sid, 0)
		if s := h.srv.Sessions(); !slices.Equal(s, []string{"same"}) {
			t.Fatalf("sessions %v, want [same]", s)
		}
		if _, err := engineio.NewServer(engineio.WithSIDGenerator(nil)); err == nil {
			t.Fatal("WithSIDGenerator(nil): no error")
		}
	})
}

// IE gets X-XSS-Protection: 0, as from the JS server; others do not.
func TestHTTPIEXSSProtection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ie := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko"))
	if got := ie.header.Get("X-XSS-Protection"); got != "0" {
		t.Fatalf("IE: X-XSS-Protection = %q, want 0", got)
	}
	other := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("User-Agent", "Mozilla/5.0 Firefox/120.0"))
	if v := other.header.Values("X-XSS-Protection"); len(v) != 0 {
		t.Fatalf("Firefox: X-XSS-Protection = %q, want none", v)
	}
}

// ---- bad input ----

// Junk in Accept-Encoding never breaks a response: each gets 200 with a
// body that decodes, per its Content-Encoding, to the payload.
func TestHTTPBadInput_AcceptEncoding(t *testing.T) {
	t.Parallel()
	h := newHarness(t, engineio.WithHTTPCompression(1))
	sid, _ := h.handshake(t)
	for _, ae := range []string{
		"gzip;q=abc", "gzip;q=1.5", "gzip;q=-1", "gzip;q=0.0001", "gzip;q", "gzip;=", "gzip;;;q=1;;",
		";;;,,,", ",", "*;q=", "q=1", "=gzip", "gzip deflate", "gzip;q=1;q=0",
		"identity;q=0, *;q=0", "zstd, br;q=1.0", "\"gzip\"", "gzip\t;\tq=0.5",
		strings.Repeat("gzip;q=0.5, ", 700), strings.Repeat("x", 8000),
		"gzip, ÿ", "deflate;q=0.9,gzip;q=0.9;level=9",
	} {
		msg := "junk " + strings.Repeat("z", 100)
		mustSend(t, h, sid, msg)
		res := h.rawDo(t, http.MethodGet, pollingQuery(sid), "", hdr("Accept-Encoding", ae))
		if res.status != http.StatusOK {
			t.Fatalf("Accept-Encoding %.40q: %v", ae, res)
		}
		if got := decodeBody(t, res); got != "4"+msg {
			t.Fatalf("Accept-Encoding %.40q: decoded body %q", ae, got)
		}
	}
	h.expectNoDisconnect(t, sid, 0)
}

// Nothing a client sends is written back unescaped: error messages are
// JSON-escaped, fixed messages stay fixed, and the Access-Control headers
// never carry a malformed Origin.
func TestHTTPBadInput_NoReflection(t *testing.T) {
	t.Parallel()
	const evil = "\"}<script>alert(1)</script>&\u2028\n\x01"
	errorBody := func(code int, msg string) string {
		b, _ := json.Marshal(msg)
		return fmt.Sprintf(`{"code":%d,"message":%s}`, code, b)
	}
	exact := func(t *testing.T, what string, res httpResult, status, code int, msg string) {
		t.Helper()
		expectError(t, res, status, code, msg)
		if want := errorBody(code, msg); res.body != want {
			t.Errorf("%s: body %q, want %q", what, res.body, want)
		}
		if strings.ContainsAny(res.body, "<>&\n\x01\u2028") {
			t.Errorf("%s: body %q has unescaped characters", what, res.body)
		}
	}
	t.Run("refused by OnConnect", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.OnConnect(func(*engineio.Session) error { return errors.New(evil) })
		exact(t, "polling", h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusForbidden, 4, evil)
		_, body, _ := h.rawWebSocketRequest(t, "EIO=4&transport=websocket", "Sec-WebSocket-Version: 13\r\n")
		if strings.ContainsAny(body, "<>\n\x01") || !strings.Contains(body, `\u003cscript\u003e`) {
			t.Errorf("WebSocket: body %q, want the message JSON-escaped", body)
		}
	})
	t.Run("refused by the gate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithAllowRequest(func(r *http.Request) error {
			return &engineio.RequestError{Status: 401, Code: 4, Message: r.URL.Query().Get("why")}
		}))
		exact(t, "gate", h.request(t, http.MethodGet, "EIO=4&transport=polling&why="+url.QueryEscape(evil), ""), 401, 4, evil)
	})
	t.Run("fixed messages", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithCORS("*"))
		e := url.QueryEscape(evil)
		exact(t, "transport", h.request(t, http.MethodGet, "EIO=4&transport="+e, ""), 400, 0, "Transport unknown")
		exact(t, "EIO", h.request(t, http.MethodGet, "EIO="+e+"&transport=polling", ""), 400, 5, "Unsupported protocol version")
		exact(t, "sid", h.request(t, http.MethodGet, "EIO=4&transport=polling&sid="+e, ""), 400, 1, "Session ID unknown")
		res := h.httpDo(t, http.MethodGet, "EIO=4&transport=polling", "", hdr("Origin", "http://<script>.example"))
		exact(t, "Origin", res, 400, 3, "Bad request")
		checkNoCORS(t, "malformed Origin", res)
		// The preflight echoes requested header names only when they are
		// tokens.
		pre := h.httpDo(t, http.MethodOptions, "", "", hdr("Origin", "http://app.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-ok, <script>"))
		if v := pre.header.Values("Access-Control-Allow-Headers"); len(v) != 0 {
			t.Errorf("preflight Access-Control-Allow-Headers = %q, want none for a malformed list", v)
		}
	})
}

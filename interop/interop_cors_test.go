package interop_test

// Cross-origin interop with the official engine.io-client 6.x, driven by
// client3.mjs's cors scenarios: the client sends Origin
// http://other.example (extraHeaders; in Node it sends none by itself) with
// withCredentials: true, which in Node also gives it a cookie jar.

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eioactor/engineio"
)

const foreignOrigin = "http://other.example"

// TestCORSCredentials: WithCORS(origin) lets the client in, over polling
// and through an upgrade. Every polling response carries the CORS headers
// for a credentialed request, and the sid cookie set by the handshake comes
// back on every later request, the WebSocket's included.
func TestCORSCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, transport string
		reason          engineio.Reason
	}{
		{"polling", "polling", engineio.ReasonClientClose},
		{"upgrade", "websocket", engineio.ReasonTransportClose},
		{"websocket", "websocket", engineio.ReasonTransportClose},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			e, rec := startEchoServer(t,
				engineio.WithCORS(foreignOrigin),
				engineio.WithCookie(&http.Cookie{Name: "io", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}))
			res := runScript(t, e, rec, "cors", tc.mode)
			if res.Transport != tc.transport || (tc.mode == "upgrade") != res.Upgraded {
				t.Errorf("client transport %q upgraded=%v, want %q", res.Transport, res.Upgraded, tc.transport)
			}
			if reason := finish(t, e, res); reason != tc.reason {
				t.Errorf("server: OnDisconnect reason %q, want %q", reason, tc.reason)
			}
			checkEcho(t, e, res, tc.transport)

			xs := rec.exchanges()
			if len(xs) == 0 {
				t.Fatal("the server saw no request")
			}
			cookie := "io=" + res.SID
			for i, x := range xs {
				if got := x.header.Values("Origin"); !slices.Equal(got, []string{foreignOrigin}) {
					t.Errorf("request %v: Origin %q, want %q", x, got, foreignOrigin)
				}
				handshake := i == 0
				if !handshake && !strings.Contains(strings.Join(x.header.Values("Cookie"), "; "), cookie) {
					t.Errorf("request %v: Cookie %q, want the sid cookie %q back", x, x.header.Values("Cookie"), cookie)
				}
				if x.status >= 400 {
					continue // judged below
				}
				if x.status == http.StatusSwitchingProtocols {
					continue // gorilla writes the 101; the conformance tests check its headers
				}
				if got := x.respHeader.Values("Access-Control-Allow-Origin"); !slices.Equal(got, []string{foreignOrigin}) {
					t.Errorf("response to %v: Access-Control-Allow-Origin %q, want %q", x, got, foreignOrigin)
				}
				if got := x.respHeader.Get("Access-Control-Allow-Credentials"); got != "true" {
					t.Errorf("response to %v: Access-Control-Allow-Credentials %q, want true", x, got)
				}
				if !strings.Contains(strings.Join(x.respHeader.Values("Vary"), ","), "Origin") {
					t.Errorf("response to %v: Vary %q, want Origin", x, x.respHeader.Values("Vary"))
				}
				setCookie := x.respHeader.Values("Set-Cookie")
				switch {
				case handshake && !slices.Equal(setCookie, []string{cookie + "; Path=/; HttpOnly; SameSite=Lax"}):
					t.Errorf("handshake %v: Set-Cookie %q", x, setCookie)
				case !handshake && len(setCookie) != 0:
					t.Errorf("response to %v: Set-Cookie %q, want none after the handshake", x, setCookie)
				}
			}
			for _, x := range failures(t, rec) {
				t.Errorf("request %v failed", x)
			}
			if ws := websockets(rec); (tc.transport == "websocket") != (len(ws) == 1) {
				t.Errorf("%d WebSocket requests, want %v:\n%s", len(ws), tc.transport == "websocket", rec.dump())
			}
		})
	}
}

// TestCORSRefused: with no WithCORS the server accepts its own origin only,
// so the foreign client's handshake fails, over polling and WebSocket, and
// the client reports an error instead of opening.
func TestCORSRefused(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"polling", "websocket"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e, rec := startEchoServer(t)
			res := runScript(t, e, rec, "cors-refused", mode)
			if !res.Refused || res.CloseReason != "transport error" || len(res.Errors) == 0 {
				t.Errorf("client: refused=%v close reason %q errors %q, want a transport error before open", res.Refused, res.CloseReason, res.Errors)
			}
			if mode == "polling" && !strings.Contains(strings.Join(res.Errors, " "), "400") {
				t.Errorf("client errors %q, want the HTTP status 400", res.Errors)
			}
			if evs := e.snapshot(); len(evs) != 0 {
				t.Errorf("server saw events for a refused client:\n%s", e.summary())
			}
			xs := rec.exchanges()
			if len(xs) != 1 {
				t.Fatalf("%d exchanges, want the one refused handshake:\n%s", len(xs), rec.dump())
			}
			x := xs[0]
			if x.status != http.StatusBadRequest || x.header.Get("Origin") != foreignOrigin || x.query.Get("transport") != mode {
				t.Errorf("exchange %v, want a %s handshake from %s refused with 400", x, mode, foreignOrigin)
			}
			if v := x.respHeader.Values("Access-Control-Allow-Origin"); len(v) != 0 {
				t.Errorf("refused handshake: Access-Control-Allow-Origin %q, want none", v)
			}
		})
	}
}

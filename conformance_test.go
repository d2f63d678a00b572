package engineio_test

// Protocol conformance tests: one test per item of the conformance
// checklist in docs/protocol.md (items 1-40, Engine.IO v4), driven over the
// wire with plain HTTP requests and raw WebSockets.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/eioactor/engineio"
)

var bg = context.Background()

// 1. GET /engine.io/?EIO=4&transport=polling returns 200 with body 0{json};
// the JSON has exactly the keys sid, upgrades, pingInterval, pingTimeout,
// maxPayload.
func TestConformance01_PollingHandshake(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	expectPayload(t, res, res.body) // 200, text/plain; charset=UTF-8, no-store
	open := parseOpen(t, res.body)  // 0{json} with exactly the five keys
	h.expectConnect(t, open.SID, "polling")

	// The sid names a live session.
	expectOK(t, h.post(t, open.SID, "4hi"))
	expectPayload(t, h.poll(t, open.SID), "4hi")

	// Each handshake opens a new session.
	if other, _ := h.handshake(t); other == open.SID {
		t.Fatalf("two handshakes returned the same sid %q", other)
	}
}

// 2. A polling handshake advertises upgrades:["websocket"] when WebSocket
// is enabled and upgrades are allowed, and [] otherwise.
func TestConformance02_HandshakeUpgrades(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts []engineio.Option
		want []string
	}{
		{"default", nil, []string{"websocket"}},
		{"upgrades disallowed", []engineio.Option{engineio.WithAllowUpgrades(false)}, []string{}},
		{"websocket disabled", []engineio.Option{engineio.WithTransports("polling")}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.opts...)
			_, open := h.handshake(t)
			if !slices.Equal(open.Upgrades, tc.want) {
				t.Fatalf("upgrades = %q, want %q", open.Upgrades, tc.want)
			}
		})
	}
}

// 3. A WebSocket handshake (101) sends 0{json} as its first frame, with
// upgrades:[].
func TestConformance03_WebSocketHandshake(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.wsDial(t, "")
	if c.resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status = %d, want 101", c.resp.StatusCode)
	}
	open := parseOpen(t, c.readText(t, within))
	if open.Upgrades == nil || len(open.Upgrades) != 0 {
		t.Fatalf("upgrades = %q, want []", open.Upgrades)
	}
	h.expectConnect(t, open.SID, "websocket")
	c.send(t, "4hi")
	c.expectText(t, "4hi")
}

// 4. pingInterval, pingTimeout and maxPayload in the handshake are the
// configured values in ms and bytes; sub-second values are accepted.
func TestConformance04_HandshakeValues(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, open openPacket, interval, timeout, maxPayload int64) {
		t.Helper()
		if open.PingInterval != interval || open.PingTimeout != timeout || open.MaxPayload != maxPayload {
			t.Fatalf("pingInterval/pingTimeout/maxPayload = %d/%d/%d, want %d/%d/%d",
				open.PingInterval, open.PingTimeout, open.MaxPayload, interval, timeout, maxPayload)
		}
	}
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		_, open := h.handshake(t)
		check(t, open, 25000, 20000, 1000000)
	})
	t.Run("configured polling", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout), engineio.WithMaxPayload(12345))
		_, open := h.handshake(t)
		check(t, open, 300, 200, 12345)
	})
	t.Run("configured websocket", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout), engineio.WithMaxPayload(12345))
		_, _, open := h.wsHandshake(t)
		check(t, open, 300, 200, 12345)
	})
}

// 5. A missing EIO, EIO=abc, or EIO=3 with v3 disabled gives 400
// {"code":5,"message":"Unsupported protocol version"}.
func TestConformance05_UnsupportedProtocolVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, q := range []string{
		"transport=polling",
		"EIO=abc&transport=polling",
		"EIO=3&transport=polling",
		"EIO=&transport=polling",
		"EIO=5&transport=polling",
	} {
		t.Run(q, func(t *testing.T) {
			expectError(t, h.request(t, http.MethodGet, q, ""), http.StatusBadRequest, 5, "Unsupported protocol version")
		})
	}
	t.Run("websocket EIO=3", func(t *testing.T) {
		_, resp, err := h.wsDialRaw("EIO=3&transport=websocket")
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 5, "Unsupported protocol version")
	})
}

// expectWebSocketRefused checks a WebSocket dial that the server refused
// with an Engine.IO error.
func expectWebSocketRefused(t *testing.T, resp *http.Response, err error, status, code int, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("WebSocket dial succeeded, want HTTP %d", status)
	}
	if resp == nil {
		t.Fatalf("WebSocket dial: %v, want HTTP %d", err, status)
	}
	body, _ := io.ReadAll(resp.Body)
	expectError(t, httpResult{status: resp.StatusCode, header: resp.Header, body: string(body)}, status, code, message)
}

// 6. A missing, unknown or disabled transport gives 400
// {"code":0,"message":"Transport unknown"}.
func TestConformance06_UnknownTransport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, q := range []string{"EIO=4", "EIO=4&transport=", "EIO=4&transport=foo", "EIO=4&transport=webtransport", "EIO=4&transport=Polling"} {
		t.Run(q, func(t *testing.T) {
			expectError(t, h.request(t, http.MethodGet, q, ""), http.StatusBadRequest, 0, "Transport unknown")
		})
	}
	t.Run("polling disabled", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithTransports("websocket"))
		expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusBadRequest, 0, "Transport unknown")
	})
	t.Run("websocket disabled", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithTransports("polling"))
		_, resp, err := h.wsDialRaw("EIO=4&transport=websocket")
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 0, "Transport unknown")
		// Nor may a polling session upgrade to it.
		sid, _ := h.handshake(t)
		_, resp, err = h.wsDialRaw("EIO=4&transport=websocket&sid=" + sid)
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 0, "Transport unknown")
	})
}

// 7. A handshake with a method other than GET (POST or PUT without sid)
// gives 400 {"code":2,"message":"Bad handshake method"}.
func TestConformance07_BadHandshakeMethod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, m := range []string{http.MethodPost, http.MethodPut} {
		t.Run(m, func(t *testing.T) {
			expectError(t, h.request(t, m, "EIO=4&transport=polling", "4hello"), http.StatusBadRequest, 2, "Bad handshake method")
		})
	}
}

// 8. An unknown or closed sid on GET or POST gives 400
// {"code":1,"message":"Session ID unknown"}.
func TestConformance08_UnknownSID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	t.Run("unknown", func(t *testing.T) {
		h.expectGone(t, "no-such-sid")
	})
	t.Run("closed", func(t *testing.T) {
		sid, _ := h.handshake(t)
		expectOK(t, h.post(t, sid, "1"))
		h.expectDisconnect(t, sid, engineio.ReasonClientClose, within)
		h.expectGone(t, sid)
	})
	t.Run("closed while OnDisconnect runs", func(t *testing.T) {
		// The application may take its time in OnDisconnect; the session
		// is closed all the same, and requests for it get code 1 at once.
		h := newHarness(t)
		entered := make(chan struct{}, 1)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		h.srv.OnDisconnect(func(*engineio.Session, engineio.Reason) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-time.After(2 * within):
			}
		})
		sid, _ := h.handshake(t)
		expectOK(t, h.post(t, sid, "1"))
		select {
		case <-entered:
		case <-time.After(within):
			t.Fatal("OnDisconnect did not run")
		}
		h.expectGone(t, sid)
	})
	t.Run("websocket", func(t *testing.T) {
		_, resp, err := h.wsDialRaw("EIO=4&transport=websocket&sid=no-such-sid")
		expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 1, "Session ID unknown")
	})
}

// 9. Error bodies have Content-Type: application/json; a handshake the
// application refuses gets 403 with code 4 and its message.
func TestConformance09_ErrorContentTypeAndForbidden(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const why = `go away: "token" expired`
	h.srv.OnConnect(func(*engineio.Session) error { return errors.New(why) })
	expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusForbidden, 4, why)
	// The refused session does not linger.
	deadline := time.Now().Add(within)
	for len(h.srv.Sessions()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("refused session still open: %v", h.srv.Sessions())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// 10. A WebSocket upgrade failure writes HTTP/1.1 400 Bad Request with the
// message and closes the TCP connection.
func TestConformance10_WebSocketUpgradeFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct{ name, query, extra, message string }{
		{"unknown sid", "EIO=4&transport=websocket&sid=no-such-sid", "Sec-WebSocket-Version: 13\r\n", "Session ID unknown"},
		{"EIO=3", "EIO=3&transport=websocket", "Sec-WebSocket-Version: 13\r\n", "Unsupported protocol version"},
		{"no EIO", "transport=websocket", "Sec-WebSocket-Version: 13\r\n", "Unsupported protocol version"},
		{"bad websocket version", "EIO=4&transport=websocket", "Sec-WebSocket-Version: 7\r\n", "Bad request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, body, raw := h.rawWebSocketRequest(t, tc.query, tc.extra)
			if !strings.HasPrefix(raw, "HTTP/1.1 400 Bad Request\r\n") {
				t.Fatalf("response = %q, want HTTP/1.1 400 Bad Request", raw)
			}
			if !strings.Contains(body, tc.message) {
				t.Fatalf("body = %q, want it to carry %q", body, tc.message)
			}
		})
	}
	t.Run("refused by the application", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.srv.OnConnect(func(*engineio.Session) error { return errors.New("not welcome") })
		resp, body, raw := h.rawWebSocketRequest(t, "EIO=4&transport=websocket", "Sec-WebSocket-Version: 13\r\n")
		// JS answers 400 on the WebSocket path even for Forbidden; the
		// polling answer is 403 (item 9). Either way: refused, with the
		// message, and the connection closed (checked by the helper).
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusForbidden {
			t.Fatalf("response = %q, want 400 (or 403)", raw)
		}
		if !strings.Contains(body, "not welcome") {
			t.Fatalf("body = %q, want the application's message", body)
		}
	})
}

// 11. transport=websocket without an Upgrade header gives 400 code 3.
func TestConformance11_WebSocketWithoutUpgrade(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	t.Run("handshake", func(t *testing.T) {
		expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=websocket", ""), http.StatusBadRequest, 3, "Bad request")
	})
	t.Run("upgrade of a polling session", func(t *testing.T) {
		sid, _ := h.handshake(t)
		expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=websocket&sid="+sid, ""), http.StatusBadRequest, 3, "Bad request")
	})
}

// 12. A polling request on a session whose active transport is websocket
// gives 400 code 3.
func TestConformance12_PollingOnWebSocketSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	t.Run("upgraded", func(t *testing.T) {
		sid, _ := h.handshake(t)
		c := h.upgrade(t, sid)
		expectError(t, h.poll(t, sid), http.StatusBadRequest, 3, "Bad request")
		expectError(t, h.post(t, sid, "4x"), http.StatusBadRequest, 3, "Bad request")
		// The WebSocket is unaffected.
		c.send(t, "4still")
		c.expectText(t, "4still")
	})
	t.Run("websocket only", func(t *testing.T) {
		sid, c, _ := h.wsHandshake(t)
		expectError(t, h.poll(t, sid), http.StatusBadRequest, 3, "Bad request")
		expectError(t, h.post(t, sid, "4x"), http.StatusBadRequest, 3, "Bad request")
		c.send(t, "4still")
		c.expectText(t, "4still")
	})
}

// 13. POST with a valid payload gets 200 ok, and each packet is delivered in
// order.
func TestConformance13_PostDelivered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	expectOK(t, h.post(t, sid, "4one"+sep+"4two"+sep+"4three"))
	expectOK(t, h.post(t, sid, "4four"))
	h.expectTexts(t, sid, "one", "two", "three", "four")
}

// 14. A GET with buffered packets gets 200 text/plain; charset=UTF-8 with all
// of them joined by \x1e.
func TestConformance14_BufferedPacketsJoined(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	for _, m := range []string{"x", "y", "z"} {
		if err := h.srv.Send(sid, m); err != nil {
			t.Fatal(err)
		}
	}
	expectPayload(t, h.poll(t, sid), "4x", "4y", "4z")
}

// 15. A GET with nothing buffered is held until a packet is queued or the
// session closes.
func TestConformance15_GetHeld(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	t.Run("until a packet", func(t *testing.T) {
		sid, _ := h.handshake(t)
		get := h.pollAsync(bg, sid)
		expectNoResult(t, get, quiet, "GET with nothing buffered")
		if err := h.srv.Send(sid, "late"); err != nil {
			t.Fatal(err)
		}
		expectPayload(t, awaitResult(t, get, within, "held GET"), "4late")
	})
	t.Run("until the session closes", func(t *testing.T) {
		sid, _ := h.handshake(t)
		get := h.pollAsync(bg, sid)
		expectNoResult(t, get, quiet, "GET with nothing buffered")
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		expectPayload(t, awaitResult(t, get, within, "held GET"), "1")
	})
}

// 16. Packets POSTed in one request and echoed come back in one GET as
// 4test1\x1e4test2\x1e4test3.
func TestConformance16_EchoBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	expectOK(t, h.post(t, sid, "4test1"+sep+"4test2"+sep+"4test3"))
	expectPayload(t, h.poll(t, sid), "4test1", "4test2", "4test3")
}

// 17. A v4 polling binary message is b<base64> with no type digit; an
// inbound b... is a binary message.
func TestConformance17_PollingBinary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)

	expectOK(t, h.post(t, sid, "bAQIDBA=="))
	h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
	expectPayload(t, h.poll(t, sid), "bAQIDBA==")

	// The spec's mixed example, both ways.
	expectOK(t, h.post(t, sid, "4hello"+sep+"bAQIDBA=="))
	h.expectTexts(t, sid, "hello")
	h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
	expectPayload(t, h.poll(t, sid), "4hello", "bAQIDBA==")

	// A binary message whose first byte is 4 keeps it (no type byte).
	if err := h.srv.SendBinary(sid, []byte{4, 0, 255}); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, h.poll(t, sid), "bBAD/")
}

// 18. A v4 POST with Content-Type application/octet-stream gets 400 and the
// session is closed.
func TestConformance18_OctetStreamPost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	res := h.do(ctx, http.MethodPost, pollingQuery(sid), strings.NewReader("4hello"),
		http.Header{"Content-Type": {"application/octet-stream"}})
	if res.err != nil || res.status != http.StatusBadRequest {
		t.Fatalf("octet-stream POST: %v, want 400", res)
	}
	h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)
	h.expectNoMessage(t, sid, 0)
	h.expectGone(t, sid)
}

// 19. A POST body larger than maxHttpBufferSize gets 413; the session is
// closed and the payload is not delivered.
func TestConformance19_PostTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 100
	big := "4" + strings.Repeat("a", limit) // limit+1 bytes
	t.Run("with Content-Length", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithMaxPayload(limit))
		sid, _ := h.handshake(t)
		if res := h.post(t, sid, big); res.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("POST of %d bytes: %v, want 413", len(big), res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
		h.expectGone(t, sid)
	})
	t.Run("chunked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithMaxPayload(limit))
		sid, _ := h.handshake(t)
		ctx, cancel := context.WithTimeout(bg, within)
		defer cancel()
		// A reader of unknown length: the request has no Content-Length.
		body := io.MultiReader(strings.NewReader(big[:50]), strings.NewReader(big[50:]))
		res := h.do(ctx, http.MethodPost, pollingQuery(sid), body, nil)
		if res.err != nil || res.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked POST of %d bytes: %v, want 413", len(big), res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
		h.expectGone(t, sid)
	})
	t.Run("exactly the limit", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithMaxPayload(limit))
		sid, _ := h.handshake(t)
		expectOK(t, h.post(t, sid, big[:limit]))
		h.expectTexts(t, sid, big[1:limit])
	})
}

// 20. An unparsable POST payload gets 400 (or an aborted request) and the
// session is closed: the next GET gets 400.
func TestConformance20_UnparsablePost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, payload := range map[string]string{
		"abc":            "abc",
		"invalid base64": "b@@@@",
		"bad 2nd record": "4hello" + sep + "xyz",
		"empty record":   "4hello" + sep + sep + "4world",
		"empty body":     "",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sid, _ := h.handshake(t)
			if res := h.post(t, sid, payload); res.status != http.StatusBadRequest {
				t.Fatalf("POST %q: %v, want 400", payload, res)
			}
			h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
			h.expectGone(t, sid)
		})
	}
}

// 21. A second concurrent GET gets 400; the parked GET returns 1; the
// session is closed.
func TestConformance21_OverlappingGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	first := h.pollAsync(bg, sid)
	h.awaitWaiting(t, http.MethodGet, sid, 1)
	second := awaitResult(t, h.pollAsync(bg, sid), within, "second GET")
	if second.status != http.StatusBadRequest {
		t.Fatalf("second GET: %v, want 400", second)
	}
	expectPayload(t, awaitResult(t, first, within, "parked GET"), "1")
	h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)
	h.expectGone(t, sid)
}

// 22. A second concurrent POST gets 400, and the session is closed.
func TestConformance22_OverlappingPost(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	body, bodyWriter := io.Pipe()
	first := make(chan httpResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(bg, within)
		defer cancel()
		first <- h.do(ctx, http.MethodPost, pollingQuery(sid), body, nil)
	}()
	h.awaitWaiting(t, http.MethodPost, sid, 1) // the first POST's body is not finished
	if res := h.post(t, sid, "4second"); res.status != http.StatusBadRequest {
		t.Fatalf("second POST: %v, want 400", res)
	}
	h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)

	// Finishing the first body now delivers nothing: the session is closed.
	go func() {
		_, _ = io.WriteString(bodyWriter, "4first")
		_ = bodyWriter.Close()
	}()
	if res := awaitResult(t, first, within, "first POST"); res.status == http.StatusOK {
		t.Fatalf("first POST answered %v after its session closed", res)
	}
	h.expectNoMessage(t, sid, quiet)
	h.expectGone(t, sid)
}

// 23. A GET aborted by the client before it is answered closes the session:
// the next GET gets 400.
func TestConformance23_AbortedGet(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	ctx, cancel := context.WithCancel(bg)
	get := h.pollAsync(ctx, sid)
	h.awaitWaiting(t, http.MethodGet, sid, 1)
	cancel()
	select {
	case res := <-get:
		if !errors.Is(res.err, context.Canceled) {
			t.Fatalf("cancelled GET: %v", res)
		}
	case <-time.After(within):
		t.Fatal("cancelled GET did not return")
	}
	h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)
	h.expectGone(t, sid)
}

// 24. Polling responses carry Cache-Control: no-store.
func TestConformance24_CacheControl(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	sid := parseOpen(t, res.body).SID
	check := func(what string, res httpResult) {
		t.Helper()
		if cc := res.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", what, cc)
		}
	}
	check("handshake", res)
	post := h.post(t, sid, "4x")
	expectOK(t, post)
	check("POST", post)
	get := h.poll(t, sid)
	expectPayload(t, get, "4x")
	check("GET", get)
}

// 25. A WebSocket text frame 4hello is delivered as a text message; a text
// message from the server goes out as a text frame 4<data>.
func TestConformance25_WebSocketText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, c, _ := h.wsHandshake(t)
	c.send(t, "4hello")
	h.expectTexts(t, sid, "hello")
	c.expectText(t, "4hello")

	c.send(t, "4héllo €")
	h.expectTexts(t, sid, "héllo €")
	c.expectText(t, "4héllo €")

	if err := h.srv.Send(sid, "from server"); err != nil {
		t.Fatal(err)
	}
	c.expectText(t, "4from server")
}

// 26. A v4 WebSocket binary frame is a binary message made of the whole
// frame (no type byte); server binary goes out as a raw binary frame.
func TestConformance26_WebSocketBinary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, c, _ := h.wsHandshake(t)
	frame := []byte{4, 1, 2, 3}
	c.sendBinary(t, frame)
	h.expectMessage(t, sid, engineio.Message{Data: frame, Binary: true})
	c.expectBinary(t, frame)

	if err := h.srv.SendBinary(sid, []byte{0, 255, 7}); err != nil {
		t.Fatal(err)
	}
	c.expectBinary(t, []byte{0, 255, 7})
}

// 27. A WebSocket frame that is not a valid packet closes the WebSocket and
// the session.
func TestConformance27_InvalidWebSocketFrame(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, frame := range map[string]string{"abc": "abc", "empty": "", "polling base64": "bAQIDBA==", "type 9": "9x"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sid, c, _ := h.wsHandshake(t)
			c.send(t, frame)
			c.expectClosed(t, within)
			h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
			h.expectNoMessage(t, sid, 0)
		})
	}
}

// 28. A WebSocket message larger than maxHttpBufferSize closes the session
// with a distinct reason.
func TestConformance28_WebSocketTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 64
	h := newHarness(t, engineio.WithMaxPayload(limit))
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		c.send(t, "4"+strings.Repeat("a", limit))
		c.expectClosed(t, within)
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
	})
	t.Run("binary", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		c.sendBinary(t, make([]byte, limit+1))
		c.expectClosed(t, within)
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
	})
	t.Run("exactly the limit", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		msg := "4" + strings.Repeat("a", limit-1)
		c.send(t, msg)
		c.expectText(t, msg)
		h.expectNoDisconnect(t, sid, 0)
	})
}

// 29. v4: the server sends 2 every pingInterval; a 3 from the client within
// pingTimeout keeps the session.
func TestConformance29_Heartbeat(t *testing.T) {
	t.Parallel()
	checkGap := func(t *testing.T, i int, gap time.Duration) {
		t.Helper()
		if gap < pingInterval || gap > pingInterval+timingSlack {
			t.Fatalf("ping %d came %v after the handshake or pong, want %v (+%v)", i, gap, pingInterval, timingSlack)
		}
	}
	const rounds = 3 // 3 × 300 ms: well past pingInterval+pingTimeout
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		start := time.Now()
		sid, _ := h.handshake(t)
		last := start
		for i := range rounds {
			res := h.poll(t, sid) // parked until the ping
			expectPayload(t, res, "2")
			checkGap(t, i, res.at.Sub(last))
			last = time.Now()
			expectOK(t, h.post(t, sid, "3"))
		}
		h.expectNoDisconnect(t, sid, 0)
		expectOK(t, h.post(t, sid, "4alive"))
		expectPayload(t, h.poll(t, sid), "4alive")
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		start := time.Now()
		sid, c, _ := h.wsHandshake(t)
		last := start
		for i := range rounds {
			if f := c.readText(t, pingInterval+timingSlack); f != "2" {
				t.Fatalf("frame %q, want ping 2", f)
			}
			checkGap(t, i, time.Since(last))
			last = time.Now()
			c.send(t, "3")
		}
		h.expectNoDisconnect(t, sid, 0)
		c.send(t, "4alive")
		c.expectText(t, "4alive")
	})
}

// 30. v4: with no 3 within pingTimeout after a ping, the session closes with
// reason ping timeout; a polling session is gone at pingInterval+pingTimeout
// after the handshake.
func TestConformance30_PingTimeout(t *testing.T) {
	t.Parallel()
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		start := time.Now()
		sid, _ := h.handshake(t)
		h.expectDisconnect(t, sid, engineio.ReasonPingTimeout, pingInterval+pingTimeout+timingSlack)
		if elapsed := time.Since(start); elapsed < pingInterval+pingTimeout || elapsed > pingInterval+pingTimeout+timingSlack {
			t.Fatalf("session closed %v after the handshake, want %v (+%v)", elapsed, pingInterval+pingTimeout, timingSlack)
		}
		h.expectGone(t, sid)
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		sid, c, _ := h.wsHandshake(t)
		if f := c.readText(t, pingInterval+timingSlack); f != "2" {
			t.Fatalf("frame %q, want ping 2", f)
		}
		pinged := time.Now()
		c.expectCloseFrame(t, pingTimeout+timingSlack)
		h.expectDisconnect(t, sid, engineio.ReasonPingTimeout, within)
		if elapsed := time.Since(pinged); elapsed > pingTimeout+timingSlack {
			t.Fatalf("closed %v after the ping, want within %v (+%v)", elapsed, pingTimeout, timingSlack)
		}
	})
}

// 31. v4: a non-probe 2 from the client closes the session.
func TestConformance31_ClientPingCloses(t *testing.T) {
	t.Parallel()
	h := newHarness(t) // default heartbeat: only the 2 can close the session
	checkReason := func(t *testing.T, got engineio.Reason) {
		t.Helper()
		// As in the reference server: a transport error.
		if got != engineio.ReasonTransportError {
			t.Fatalf("closed with reason %q, want transport error", got)
		}
	}
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		c.send(t, "2")
		c.expectClosed(t, within)
		checkReason(t, h.awaitDisconnect(t, sid, within))
	})
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		h.post(t, sid, "2")
		checkReason(t, h.awaitDisconnect(t, sid, within))
		h.expectGone(t, sid)
	})
}

// 32. A client 1 on polling closes the session; a parked GET returns 6 and
// later requests get 400.
func TestConformance32_ClientCloseOnPolling(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	get := h.pollAsync(bg, sid)
	h.awaitWaiting(t, http.MethodGet, sid, 1)
	expectOK(t, h.post(t, sid, "1"))
	expectPayload(t, awaitResult(t, get, within, "parked GET"), "6")
	h.expectDisconnect(t, sid, engineio.ReasonClientClose, within)
	h.expectGone(t, sid)
}

// 33. A client 1 on WebSocket closes the WebSocket and the session promptly,
// without waiting for the ping timeout.
func TestConformance33_ClientCloseOnWebSocket(t *testing.T) {
	t.Parallel()
	const prompt = time.Second // the heartbeat is 25 s + 20 s
	h := newHarness(t)
	t.Run("websocket only", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		c.send(t, "1")
		c.expectClosed(t, prompt)
		h.expectDisconnect(t, sid, engineio.ReasonClientClose, prompt)
	})
	t.Run("upgraded", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		c := h.upgrade(t, sid)
		c.send(t, "1")
		c.expectClosed(t, prompt)
		h.expectDisconnect(t, sid, engineio.ReasonClientClose, prompt)
		h.expectGone(t, sid)
	})
}

// 34. Upgrade: on a WebSocket with a valid polling sid, 2probe gets 3probe on
// that WebSocket only.
func TestConformance34_UpgradeProbe(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	c := h.wsDial(t, sid)
	c.expectSilence(t, quiet) // no open packet on an upgrade WebSocket
	c.send(t, "2probe")
	c.expectText(t, "3probe")
	// Polling sees a noop, never the pong.
	expectPayload(t, h.poll(t, sid), "6")
	h.expectNoDisconnect(t, sid, 0)
}

// 35. Upgrade: after the probe, a pending or next GET is answered 6 within
// 100 ms.
func TestConformance35_UpgradeNoop(t *testing.T) {
	t.Parallel()
	const promptly = 100 * time.Millisecond
	h := newHarness(t)
	t.Run("parked GET", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		get := h.pollAsync(bg, sid)
		h.awaitWaiting(t, http.MethodGet, sid, 1)
		c := h.wsDial(t, sid)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		probed := time.Now()
		res := awaitResult(t, get, within, "parked GET")
		expectPayload(t, res, "6")
		if d := res.at.Sub(probed); d > promptly {
			t.Fatalf("parked GET answered %v after the probe, want within %v", d, promptly)
		}
	})
	t.Run("next GET", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		c := h.wsDial(t, sid)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		start := time.Now()
		res := h.poll(t, sid)
		expectPayload(t, res, "6")
		if d := res.at.Sub(start); d > promptly {
			t.Fatalf("GET during the upgrade answered after %v, want within %v", d, promptly)
		}
	})
}

// 36. Upgrade: 5 on the probing WebSocket switches the transport, and the
// buffered packets are flushed to it in order; later messages are echoed
// over the WebSocket.
func TestConformance36_UpgradeFlush(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	send := func(m string) {
		t.Helper()
		if err := h.srv.Send(sid, m); err != nil {
			t.Fatal(err)
		}
	}
	send("before1")
	send("before2")
	c := h.wsDial(t, sid)
	c.send(t, "2probe")
	c.expectText(t, "3probe")
	send("during")
	expectPayload(t, h.poll(t, sid), "6") // nothing leaves on polling now
	c.send(t, "5")
	c.expectText(t, "4before1")
	c.expectText(t, "4before2")
	c.expectText(t, "4during")
	c.send(t, "4after")
	c.expectText(t, "4after")
	h.expectTexts(t, sid, "after")
	if tr, err := h.srv.Transport(sid); err != nil || tr != "websocket" {
		t.Fatalf("Transport = %q, %v; want websocket", tr, err)
	}
}

// 37. Upgrade works when 2probe and 5 are pipelined without waiting for
// 3probe.
func TestConformance37_PipelinedUpgrade(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sid, _ := h.handshake(t)
	if err := h.srv.Send(sid, "queued"); err != nil {
		t.Fatal(err)
	}
	c := h.wsDial(t, sid)
	c.send(t, "2probe")
	c.send(t, "5")
	c.expectText(t, "3probe")
	c.expectText(t, "4queued")
	c.send(t, "4over ws")
	c.expectText(t, "4over ws")
	expectError(t, h.poll(t, sid), http.StatusBadRequest, 3, "Bad request")
}

// 38. Upgrade: any other packet on the probing WebSocket, or no 5 within
// upgradeTimeout, closes that WebSocket and leaves the polling session
// intact.
func TestConformance38_UpgradeAborted(t *testing.T) {
	t.Parallel()
	const upgradeTimeout = 200 * time.Millisecond
	// pollingIntact checks that the session still works over polling and
	// delivers what was queued while the upgrade was pending.
	pollingIntact := func(t *testing.T, h *harness, sid string, queued ...string) {
		t.Helper()
		h.expectNoDisconnect(t, sid, 0)
		expectPayload(t, h.poll(t, sid), queued...)
		expectOK(t, h.post(t, sid, "4still polling"))
		expectPayload(t, h.poll(t, sid), "4still polling")
		if tr, err := h.srv.Transport(sid); err != nil || tr != "polling" {
			t.Fatalf("Transport = %q, %v; want polling", tr, err)
		}
	}
	// Default upgrade timeout (10 s): a bad packet closes the WebSocket at
	// once.
	h := newHarness(t)
	for name, frames := range map[string][]string{
		"message before the probe":  {"4hello"},
		"garbage before the probe":  {"abc"},
		"pong instead of the probe": {"3probe"},
		"message after the probe":   {"2probe", "4hello"},
		"garbage after the probe":   {"2probe", "abc"},
		"binary after the probe":    {"2probe", "\x00binary"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sid, _ := h.handshake(t)
			c := h.wsDial(t, sid)
			probed := frames[0] == "2probe"
			if probed {
				c.send(t, "2probe")
				c.expectText(t, "3probe")
				if err := h.srv.Send(sid, "during probe"); err != nil {
					t.Fatal(err)
				}
				frames = frames[1:]
			}
			for _, f := range frames {
				if strings.HasPrefix(f, "\x00") {
					c.sendBinary(t, []byte(f[1:]))
				} else {
					c.send(t, f)
				}
			}
			c.expectClosed(t, time.Second)
			if probed {
				pollingIntact(t, h, sid, "4during probe")
			} else {
				expectOK(t, h.post(t, sid, "4x"))
				pollingIntact(t, h, sid, "4x")
			}
		})
	}
	short := newHarness(t, engineio.WithUpgradeTimeout(upgradeTimeout))
	t.Run("no 5 within the upgrade timeout", func(t *testing.T) {
		t.Parallel()
		h := short
		sid, _ := h.handshake(t)
		start := time.Now()
		c := h.wsDial(t, sid)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		if err := h.srv.Send(sid, "during probe"); err != nil {
			t.Fatal(err)
		}
		c.expectClosed(t, upgradeTimeout+timingSlack)
		if d := time.Since(start); d < upgradeTimeout {
			t.Fatalf("probe WebSocket closed after %v, before the upgrade timeout %v", d, upgradeTimeout)
		}
		pollingIntact(t, h, sid, "4during probe")
	})
	t.Run("silent WebSocket", func(t *testing.T) {
		t.Parallel()
		h := short
		sid, _ := h.handshake(t)
		c := h.wsDial(t, sid)
		c.expectClosed(t, upgradeTimeout+timingSlack)
		expectOK(t, h.post(t, sid, "4x"))
		pollingIntact(t, h, sid, "4x")
	})
}

// 39. A second WebSocket for a sid that is already upgraded or upgrading is
// closed at once, and the first WebSocket keeps working.
func TestConformance39_SecondWebSocket(t *testing.T) {
	t.Parallel()
	const promptly = time.Second
	h := newHarness(t)
	t.Run("upgraded", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		first := h.upgrade(t, sid)
		second := h.wsDial(t, sid)
		// A would-be upgrade; it must get nothing back. The server may have
		// closed the WebSocket already, so the write may fail.
		_ = second.conn.WriteMessage(websocket.TextMessage, []byte("2probe"))
		second.expectClosed(t, promptly)
		first.send(t, "4first")
		first.expectText(t, "4first")
		h.expectNoDisconnect(t, sid, 0)
	})
	t.Run("upgrading", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		first := h.wsDial(t, sid)
		first.send(t, "2probe")
		first.expectText(t, "3probe")
		second := h.wsDial(t, sid)
		_ = second.conn.WriteMessage(websocket.TextMessage, []byte("2probe"))
		second.expectClosed(t, promptly)
		first.send(t, "5")
		first.send(t, "4first")
		first.expectText(t, "4first")
		h.expectNoDisconnect(t, sid, 0)
	})
	t.Run("websocket only", func(t *testing.T) {
		t.Parallel()
		sid, first, _ := h.wsHandshake(t)
		second := h.wsDial(t, sid)
		second.expectClosed(t, promptly)
		first.send(t, "4first")
		first.expectText(t, "4first")
		h.expectNoDisconnect(t, sid, 0)
	})
}

// 40. A server-initiated close drains the write buffer, then sends 1
// (polling: on the next or parked GET, with a close timeout; WebSocket: a 1
// frame, then a WebSocket close).
func TestConformance40_ServerInitiatedClose(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sendAll := func(t *testing.T, h *harness, sid string, msgs ...string) {
		t.Helper()
		for _, m := range msgs {
			if err := h.srv.Send(sid, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("polling, next GET", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		sendAll(t, h, sid, "a", "b")
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		// The packets may come in one GET or several; the 1 comes last.
		var got []string
		for len(got) == 0 || got[len(got)-1] != "1" {
			if len(got) > 3 {
				t.Fatalf("packets %q, want 4a 4b 1", got)
			}
			res := h.poll(t, sid)
			expectPayload(t, res, res.body)
			got = append(got, strings.Split(res.body, sep)...)
		}
		if want := []string{"4a", "4b", "1"}; !slices.Equal(got, want) {
			t.Fatalf("packets %q, want %q", got, want)
		}
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, within)
		h.expectGone(t, sid)
	})
	t.Run("polling, parked GET", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		get := h.pollAsync(bg, sid)
		h.awaitWaiting(t, http.MethodGet, sid, 1)
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		expectPayload(t, awaitResult(t, get, within, "parked GET"), "1")
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, within)
		h.expectGone(t, sid)
	})
	t.Run("polling, close timeout", func(t *testing.T) {
		t.Parallel()
		const closeTimeout = 300 * time.Millisecond
		h := newHarness(t, engineio.WithCloseTimeout(closeTimeout))
		sid, _ := h.handshake(t)
		sendAll(t, h, sid, "a")
		start := time.Now()
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		// No GET comes: the session closes after the close timeout.
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, closeTimeout+timingSlack)
		if d := time.Since(start); d < closeTimeout {
			t.Fatalf("session closed %v after Disconnect, before the close timeout %v", d, closeTimeout)
		}
		h.expectGone(t, sid)
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		sid, c, _ := h.wsHandshake(t)
		sendAll(t, h, sid, "a", "b")
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		c.expectText(t, "4a")
		c.expectText(t, "4b")
		c.expectText(t, "1")
		c.expectCloseFrame(t, within)
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, within)
	})
	t.Run("upgraded", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		c := h.upgrade(t, sid)
		sendAll(t, h, sid, "a")
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		c.expectText(t, "4a")
		c.expectText(t, "1")
		c.expectCloseFrame(t, within)
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, within)
		h.expectGone(t, sid)
	})
}

// Shutdown (item 40 for every session at once): after srv.Close(ctx) every
// client has been told (a WebSocket gets its queued messages, 1 and a close
// frame; a parked GET returns 1), and once the HTTP server is closed too no
// goroutine is left behind.
func TestConformanceShutdown_ClientsToldAndNothingLeaks(t *testing.T) {
	// Not parallel: goleak looks at every goroutine of the process.
	ignore := goleak.IgnoreCurrent()
	// The idle polling session below waits out the close timeout, well
	// within Close's deadline.
	h := newHarness(t, engineio.WithCloseTimeout(500*time.Millisecond))

	wsSID, ws, _ := h.wsHandshake(t)
	upSID, _ := h.handshake(t)
	up := h.upgrade(t, upSID)
	pollSID, _ := h.handshake(t)
	get := h.pollAsync(bg, pollSID)
	h.awaitWaiting(t, http.MethodGet, pollSID, 1)
	idleSID, _ := h.handshake(t) // no GET at all: the close timeout applies
	if err := h.srv.Send(wsSID, "bye"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		t.Fatalf("srv.Close: %v", err)
	}
	ws.expectText(t, "4bye")
	ws.expectText(t, "1")
	ws.expectCloseFrame(t, within)
	up.expectText(t, "1")
	up.expectCloseFrame(t, within)
	expectPayload(t, awaitResult(t, get, within, "parked GET"), "1")
	for _, sid := range []string{wsSID, upSID, pollSID, idleSID} {
		h.expectDisconnect(t, sid, engineio.ReasonServerShutdown, within)
	}
	if s := h.srv.Sessions(); len(s) != 0 {
		t.Fatalf("sessions left after Close: %v", s)
	}
	if res := h.request(t, http.MethodGet, "EIO=4&transport=polling", ""); res.status == http.StatusOK {
		t.Fatalf("handshake after Close: %v, want it refused", res)
	}

	_ = ws.conn.Close()
	_ = up.conn.Close()
	h.ts.Close()
	h.client.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

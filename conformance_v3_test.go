package engineio_test

// Protocol conformance tests for Engine.IO revision 3 (checklist items
// 47-51 of docs/protocol.md, WithAllowEIO3) and the malformed revision 3
// input a server must refuse. Like conformance_test.go they speak the wire
// protocol themselves: plain HTTP requests and raw WebSockets.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// ---- revision 3 helpers ----

// utf16Len is JavaScript's String.length: UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// v3Rec is one record of a v3 text payload: <length>:<packet>.
func v3Rec(packet string) string { return strconv.Itoa(utf16Len(packet)) + ":" + packet }

// v3Pay is the v3 text payload of packets.
func v3Pay(packets ...string) string {
	var b strings.Builder
	for _, p := range packets {
		b.WriteString(v3Rec(p))
	}
	return b.String()
}

// xhr2Example is the XHR2 binary payload of the v3 suite: text "4hello",
// then binary message 01 02 03 04.
var xhr2Example = []byte{0x00, 0x06, 0xFF, 0x34, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x01, 0x05, 0xFF, 0x04, 0x01, 0x02, 0x03, 0x04}

func newV3Harness(t *testing.T, opts ...engineio.Option) *harness {
	t.Helper()
	return newHarness(t, append([]engineio.Option{engineio.WithAllowEIO3(true)}, opts...)...)
}

// v3Open is a revision 3 handshake.
type v3Open struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
}

// parseV3Open checks that packet is 0{json} with exactly the v3 keys (no
// maxPayload) and returns it.
func parseV3Open(t *testing.T, packet string) v3Open {
	t.Helper()
	if !strings.HasPrefix(packet, "0{") {
		t.Fatalf("open packet = %q, want 0{json}", packet)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(packet[1:]), &raw); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"pingInterval", "pingTimeout", "sid", "upgrades"}; !slices.Equal(keys, want) {
		t.Fatalf("v3 open packet keys = %v, want exactly %v (no maxPayload)", keys, want)
	}
	var open v3Open
	dec := json.NewDecoder(strings.NewReader(packet[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&open); err != nil {
		t.Fatalf("open packet %q: %v", packet, err)
	}
	if open.SID == "" || open.Upgrades == nil {
		t.Fatalf("open packet %q: empty sid or upgrades not an array", packet)
	}
	return open
}

// v3Query is the query of a polling request of session sid; extra is
// appended as is ("&b64=1", "&j=0").
func v3Query(sid, extra string) string {
	return "EIO=3&transport=polling&sid=" + url.QueryEscape(sid) + extra
}

// v3Handshake opens a v3 polling session (extra: "&b64=1" or "").
func (h *harness) v3Handshake(t *testing.T, extra string) (string, v3Open) {
	t.Helper()
	res := h.request(t, http.MethodGet, "EIO=3&transport=polling"+extra, "")
	if res.status != http.StatusOK {
		t.Fatalf("v3 handshake: %v", res)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Fatalf("v3 handshake Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	open := parseV3Open(t, v3OnlyRecord(t, res.body))
	return open.SID, open
}

// v3OnlyRecord checks that body is exactly one v3 record with a correct
// UTF-16 length and returns its packet.
func v3OnlyRecord(t *testing.T, body string) string {
	t.Helper()
	n, packet, ok := strings.Cut(body, ":")
	if !ok {
		t.Fatalf("payload %q has no length header", body)
	}
	if l, err := strconv.Atoi(n); err != nil || l != utf16Len(packet) {
		t.Fatalf("payload %q: length header %q, want %d (one record)", body, n, utf16Len(packet))
	}
	return packet
}

// v3Records splits a v3 text payload into its packets, checking that each
// length header counts its packet's UTF-16 code units.
func v3Records(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for rest := body; rest != ""; {
		n, after, ok := strings.Cut(rest, ":")
		l, err := strconv.Atoi(n)
		if !ok || err != nil || l < 0 {
			t.Fatalf("payload %q: bad length header at %q", body, rest)
		}
		i, units := 0, 0
		for units < l && i < len(after) {
			r, size := utf8.DecodeRuneInString(after[i:])
			units += utf16Len(string(r))
			i += size
		}
		if units != l {
			t.Fatalf("payload %q: record %q does not hold %d code units", body, rest, l)
		}
		out = append(out, after[:i])
		rest = after[i:]
	}
	return out
}

func (h *harness) v3Poll(t *testing.T, sid, extra string) httpResult {
	t.Helper()
	return h.request(t, http.MethodGet, v3Query(sid, extra), "")
}

func (h *harness) v3PollAsync(ctx context.Context, sid, extra string) <-chan httpResult {
	ch := make(chan httpResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 2*within)
		defer cancel()
		ch <- h.do(ctx, http.MethodGet, v3Query(sid, extra), nil, nil)
	}()
	return ch
}

// v3Post POSTs body with the given Content-Type and fails on a transport
// error.
func (h *harness) v3Post(t *testing.T, sid, extra string, body []byte, contentType string) httpResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, within)
	defer cancel()
	res := h.do(ctx, http.MethodPost, v3Query(sid, extra), bytes.NewReader(body), http.Header{"Content-Type": {contentType}})
	if res.err != nil {
		t.Fatalf("POST %q: %v", body, res.err)
	}
	return res
}

func (h *harness) v3PostText(t *testing.T, sid, payload string) httpResult {
	t.Helper()
	return h.v3Post(t, sid, "", []byte(payload), "text/plain;charset=UTF-8")
}

// expectV3Text checks a v3 text payload response: 200, text/plain;
// charset=UTF-8, no-store, and exactly the records of packets.
func expectV3Text(t *testing.T, res httpResult, packets ...string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (response %v)", res.status, res)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q, want text/plain; charset=UTF-8", ct)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if want := v3Pay(packets...); res.body != want {
		t.Fatalf("v3 payload = %q, want %q", res.body, want)
	}
}

// expectXHR2 checks a v3 XHR2 binary payload response.
func expectXHR2(t *testing.T, res httpResult, want []byte) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (response %v)", res.status, res)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q, want application/octet-stream", ct)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if !bytes.Equal([]byte(res.body), want) {
		t.Fatalf("XHR2 payload = % X, want % X", res.body, want)
	}
}

// adoptWS wraps a dialled WebSocket like harness.wsDial does.
func adoptWS(t *testing.T, conn *websocket.Conn, resp *http.Response) *wsClient {
	t.Helper()
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

// v3DialWS dials the engine path with a raw query.
func (h *harness) v3DialWS(t *testing.T, query string) *wsClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: within}
	conn, resp, err := d.Dial(h.wsBase+"?"+query, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("WebSocket dial ?%s: %v (HTTP %d)", query, err, status)
	}
	return adoptWS(t, conn, resp)
}

// v3WSHandshake opens a v3 WebSocket-only session.
func (h *harness) v3WSHandshake(t *testing.T) (string, *wsClient) {
	t.Helper()
	c := h.v3DialWS(t, "EIO=3&transport=websocket")
	open := parseV3Open(t, c.readText(t, within))
	if len(open.Upgrades) != 0 {
		t.Fatalf("WebSocket handshake upgrades = %q, want []", open.Upgrades)
	}
	return open.SID, c
}

// v3Upgrade moves the v3 polling session sid to a WebSocket.
func (h *harness) v3Upgrade(t *testing.T, sid string) *wsClient {
	t.Helper()
	c := h.v3DialWS(t, "EIO=3&transport=websocket&sid="+url.QueryEscape(sid))
	c.send(t, "2probe")
	c.expectText(t, "3probe")
	c.send(t, "5")
	c.send(t, "4upgraded")
	c.expectText(t, "4upgraded")
	h.expectTexts(t, sid, "upgraded")
	return c
}

func mustSend(t *testing.T, h *harness, sid string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if err := h.srv.Send(sid, s); err != nil {
			t.Fatalf("Send(%q): %v", s, err)
		}
	}
}

func mustSendBinary(t *testing.T, h *harness, sid string, data []byte) {
	t.Helper()
	if err := h.srv.SendBinary(sid, slices.Clone(data)); err != nil {
		t.Fatalf("SendBinary(%v): %v", data, err)
	}
}

// ---- 47 ----

// 47. (v3) EIO=3 is accepted only when enabled. Its polling text payload is
// <len>:<packet>, len counting UTF-16 code units ('€' counts 1, '😀' 2).
func TestConformance47_V3TextPayload(t *testing.T) {
	t.Parallel()
	t.Run("refused unless enabled", func(t *testing.T) {
		t.Parallel()
		for name, opts := range map[string][]engineio.Option{
			"default":   nil,
			"explicit":  {engineio.WithAllowEIO3(false)},
			"after all": {engineio.WithAllowEIO3(true), engineio.WithAllowEIO3(false)},
		} {
			h := newHarness(t, opts...)
			expectError(t, h.request(t, http.MethodGet, "EIO=3&transport=polling", ""), http.StatusBadRequest, 5, "Unsupported protocol version")
			_, resp, err := h.wsDialRaw("EIO=3&transport=websocket")
			expectWebSocketRefused(t, resp, err, http.StatusBadRequest, 5, "Unsupported protocol version")
			if s := h.srv.Sessions(); len(s) != 0 {
				t.Fatalf("%s: sessions %v opened by refused v3 handshakes", name, s)
			}
		}
	})
	t.Run("polling handshake", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout), engineio.WithMaxPayload(12345))
		sid, open := h.v3Handshake(t, "")
		if !slices.Equal(open.Upgrades, []string{"websocket"}) || open.PingInterval != 300 || open.PingTimeout != 200 {
			t.Fatalf("v3 handshake = %+v, want upgrades [websocket], 300/200", open)
		}
		h.expectConnect(t, sid, "polling")
		// The same server still speaks v4, maxPayload included.
		_, open4 := h.handshake(t)
		if open4.MaxPayload != 12345 {
			t.Fatalf("v4 handshake maxPayload = %d, want 12345", open4.MaxPayload)
		}
	})
	t.Run("websocket handshake", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t)
		sid, c := h.v3WSHandshake(t) // 0{json} without maxPayload, upgrades []
		h.expectConnect(t, sid, "websocket")
		c.send(t, "4€😀")
		c.expectText(t, "4€😀")
	})
	t.Run("lengths inbound", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		// Written out: '€' is one code unit, '😀' two.
		expectOK(t, h.v3PostText(t, sid, "6:4hello2:4€3:4😀6:4a€😀b1:4"))
		h.expectTexts(t, sid, "hello", "€", "😀", "a€😀b", "")
		res := h.v3Poll(t, sid, "")
		expectV3Text(t, res, "4hello", "4€", "4😀", "4a€😀b", "4")
		if want := "6:4hello2:4€3:4😀6:4a€😀b1:4"; res.body != want {
			t.Fatalf("echo = %q, want %q", res.body, want)
		}
	})
	t.Run("lengths outbound", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		mustSend(t, h, sid, "€", "😀", "日本語", strings.Repeat("😀", 10))
		res := h.v3Poll(t, sid, "")
		if want := "2:4€3:4😀4:4日本語21:4" + strings.Repeat("😀", 10); res.body != want {
			t.Fatalf("payload = %q, want %q", res.body, want)
		}
		expectV3Text(t, res, "4€", "4😀", "4日本語", "4"+strings.Repeat("😀", 10))
	})
	t.Run("invalid UTF-8 from the application", func(t *testing.T) {
		t.Parallel()
		// A length is only defined for valid UTF-8: each bad byte goes out
		// as U+FFFD, counted once, so the payload stays parseable.
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		mustSend(t, h, sid, "a\xffb")
		expectV3Text(t, h.v3Poll(t, sid, ""), "4a\uFFFDb")
	})
	t.Run("close and noop records", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		if err := h.srv.Disconnect(sid); err != nil {
			t.Fatal(err)
		}
		expectV3Text(t, h.v3Poll(t, sid, ""), "1")
		h.expectDisconnect(t, sid, engineio.ReasonServerClose, within)
		h.expectGone(t, sid)
	})
	t.Run("client close", func(t *testing.T) {
		t.Parallel()
		// The answers to requests pending at the close are checked by
		// TestV3_CloseAnswersPendingRequests.
		h := newV3Harness(t)
		sid, _ := h.v3Handshake(t, "")
		h.v3PostText(t, sid, "1:1")
		h.expectDisconnect(t, sid, engineio.ReasonClientClose, within)
		h.expectGone(t, sid)
	})
}

// ---- 48 ----

// 48. (v3) With b64=1, binary is <len>:b4<base64>. Without b64 and with
// binary present, the response is the XHR2 binary payload
// (application/octet-stream); a client may POST that format too, which v4
// refuses.
func TestConformance48_V3Binary(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t)
	t.Run("b64 outbound", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "&b64=1")
		mustSendBinary(t, h, sid, []byte{1, 2, 3, 4})
		res := h.v3Poll(t, sid, "&b64=1")
		expectV3Text(t, res, "b4AQIDBA==")
		if res.body != "10:b4AQIDBA==" {
			t.Fatalf("payload = %q, want 10:b4AQIDBA==", res.body)
		}
		// Mixed with text, in order.
		mustSend(t, h, sid, "hello")
		mustSendBinary(t, h, sid, []byte{0xFF, 0})
		mustSend(t, h, sid, "€")
		expectV3Text(t, h.v3Poll(t, sid, "&b64=1"), "4hello", "b4/wA=", "4€")
	})
	t.Run("b64 inbound", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "&b64=1")
		expectOK(t, h.v3PostText(t, sid, "6:4hello10:b4AQIDBA=="))
		h.expectTexts(t, sid, "hello")
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		expectV3Text(t, h.v3Poll(t, sid, "&b64=1"), "4hello", "b4AQIDBA==")
	})
	t.Run("XHR2 outbound", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		mustSend(t, h, sid, "hello")
		mustSendBinary(t, h, sid, []byte{1, 2, 3, 4})
		expectXHR2(t, h.v3Poll(t, sid, ""), xhr2Example)
	})
	t.Run("XHR2 lengths", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		// A string record counts UTF-8 bytes; a length of two digits takes
		// two digit bytes.
		ten := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		mustSend(t, h, sid, "€")
		mustSendBinary(t, h, sid, ten)
		want := append([]byte{0, 4, 0xFF, '4', 0xE2, 0x82, 0xAC, 1, 1, 1, 0xFF, 4}, ten...)
		expectXHR2(t, h.v3Poll(t, sid, ""), want)
	})
	t.Run("text only stays text", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		mustSend(t, h, sid, "plain")
		expectV3Text(t, h.v3Poll(t, sid, ""), "4plain")
	})
	t.Run("XHR2 inbound", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		expectOK(t, h.v3Post(t, sid, "", xhr2Example, "application/octet-stream"))
		h.expectTexts(t, sid, "hello")
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		expectXHR2(t, h.v3Poll(t, sid, ""), xhr2Example)
		// UTF-8 text and a base64 string record inside an XHR2 body.
		body := []byte{0, 4, 0xFF, '4', 0xE2, 0x82, 0xAC, 0, 1, 0, 0xFF}
		body = append(body, "b4AQIDBA=="...)
		expectOK(t, h.v3Post(t, sid, "", body, "application/octet-stream"))
		h.expectTexts(t, sid, "€")
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
	})
	t.Run("XHR2 refused for v4", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.handshake(t)
		ctx, cancel := context.WithTimeout(bg, within)
		defer cancel()
		res := h.do(ctx, http.MethodPost, pollingQuery(sid), bytes.NewReader(xhr2Example),
			http.Header{"Content-Type": {"application/octet-stream"}})
		if res.err != nil || res.status != http.StatusBadRequest {
			t.Fatalf("XHR2 POST on a v4 session: %v, want 400", res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)
		h.expectNoMessage(t, sid, 0)
		h.expectGone(t, sid)
	})
}

// ---- 49 ----

// 49. (v3) A WebSocket binary frame carries a leading type byte: [4,1,2,3,4]
// echoes as [4,1,2,3,4].
func TestConformance49_V3WebSocketBinary(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t)
	t.Run("websocket only", func(t *testing.T) {
		t.Parallel()
		sid, c := h.v3WSHandshake(t)
		c.sendBinary(t, []byte{4, 1, 2, 3, 4})
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		c.expectBinary(t, []byte{4, 1, 2, 3, 4})

		mustSendBinary(t, h, sid, []byte{0, 255})
		c.expectBinary(t, []byte{4, 0, 255})
		mustSendBinary(t, h, sid, nil)
		c.expectBinary(t, []byte{4})

		c.send(t, "4hello")
		c.expectText(t, "4hello")
	})
	t.Run("base64 text frame", func(t *testing.T) {
		t.Parallel()
		sid, c := h.v3WSHandshake(t)
		c.send(t, "b4AQIDBA==")
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		c.expectBinary(t, []byte{4, 1, 2, 3, 4})
	})
	t.Run("b64=1 gets base64 text frames", func(t *testing.T) {
		// A client that says b64=1 cannot take binary frames: the JS server
		// (its transport's supportsBinary comes from b64 on every transport)
		// sends it binary messages as "b4<base64>" text frames, as
		// protocol.AppendFrameV3's doc asks too.
		t.Parallel()
		c := h.v3DialWS(t, "EIO=3&transport=websocket&b64=1")
		sid := parseV3Open(t, c.readText(t, within)).SID
		c.send(t, "b4AQIDBA==")
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		c.expectText(t, "b4AQIDBA==")
		mustSendBinary(t, h, sid, []byte{0, 255})
		c.expectText(t, "b4AP8=")
	})
	t.Run("upgraded", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		c := h.v3Upgrade(t, sid)
		c.sendBinary(t, []byte{4, 9, 8, 7})
		h.expectMessage(t, sid, engineio.Message{Data: []byte{9, 8, 7}, Binary: true})
		c.expectBinary(t, []byte{4, 9, 8, 7})
	})
	for name, frame := range map[string][]byte{
		"no type byte":   {},
		"type byte 2":    {2, 1, 2},
		"type byte 9":    {9, 1, 2},
		"ASCII type '4'": {'4', 1, 2},
	} {
		t.Run("bad binary frame/"+name, func(t *testing.T) {
			t.Parallel()
			sid, c := h.v3WSHandshake(t)
			c.sendBinary(t, frame)
			c.expectClosed(t, within)
			h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
			h.expectNoMessage(t, sid, 0)
		})
	}
}

// ---- 50 ----

// 50. (v3) The client sends 2 and the server answers 3. With no client ping
// within pingInterval+pingTimeout the session closes with "ping timeout".
// The noop of an upgrade appears as 1:6 on polling.
func TestConformance50_V3Heartbeat(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
	const deadline = pingInterval + pingTimeout
	t.Run("polling ping pong", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		start := time.Now()
		for range 4 { // 4 × 200 ms: well past pingInterval+pingTimeout
			time.Sleep(pingTimeout)
			expectOK(t, h.v3PostText(t, sid, "1:2"))
			expectV3Text(t, h.v3Poll(t, sid, ""), "3") // the server never pings
		}
		if time.Since(start) <= deadline {
			t.Fatalf("test too fast to prove anything")
		}
		expectOK(t, h.v3PostText(t, sid, "6:4alive"))
		expectV3Text(t, h.v3Poll(t, sid, ""), "4alive")
		h.expectNoDisconnect(t, sid, 0)
	})
	t.Run("polling ping timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		sid, _ := h.v3Handshake(t, "")
		// A v4 session would get a ping at pingInterval; a v3 one gets
		// nothing until the session times out.
		get := h.v3PollAsync(bg, sid, "")
		res := awaitResult(t, get, deadline+within, "parked GET")
		if d := res.at.Sub(start); d < deadline {
			t.Fatalf("parked GET answered %v after the handshake, before pingInterval+pingTimeout (%v): %v", d, deadline, res)
		}
		if res.status == http.StatusOK {
			expectV3Text(t, res, "1") // not a ping; TestV3_CloseAnswersPendingRequests checks the close
		}
		h.expectDisconnect(t, sid, engineio.ReasonPingTimeout, within)
		if d := time.Since(start); d > deadline+timingSlack+within/10 {
			t.Errorf("ping timeout took %v, want about %v", d, deadline)
		}
		h.expectGone(t, sid)
	})
	t.Run("a ping re-arms the timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		sid, _ := h.v3Handshake(t, "")
		time.Sleep(pingInterval)
		before := time.Now()
		expectOK(t, h.v3PostText(t, sid, "1:2"))
		expectV3Text(t, h.v3Poll(t, sid, ""), "3")
		h.expectDisconnect(t, sid, engineio.ReasonPingTimeout, deadline+timingSlack)
		if d := time.Since(before); d < deadline {
			t.Fatalf("closed %v after the last ping, want >= %v", d, deadline)
		}
		if d := time.Since(start); d < pingInterval+deadline {
			t.Fatalf("closed %v after the handshake: the ping did not re-arm the timeout", d)
		}
	})
	t.Run("websocket ping pong", func(t *testing.T) {
		t.Parallel()
		sid, c := h.v3WSHandshake(t)
		for range 4 {
			time.Sleep(pingTimeout)
			c.send(t, "2")
			c.expectText(t, "3")
		}
		c.send(t, "4alive")
		c.expectText(t, "4alive")
		h.expectNoDisconnect(t, sid, 0)
	})
	t.Run("websocket ping timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		sid, c := h.v3WSHandshake(t)
		c.expectClosed(t, deadline+timingSlack+within/10) // no ping, no data frame first
		h.expectDisconnect(t, sid, engineio.ReasonPingTimeout, within)
		if d := time.Since(start); d < deadline {
			t.Fatalf("closed %v after the handshake, before %v", d, deadline)
		}
	})
	t.Run("pong from the client is an error", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		res := h.v3PostText(t, sid, "1:3")
		if res.status != http.StatusOK && res.status != http.StatusBadRequest {
			t.Fatalf("POST 1:3: %v, want 200 or 400", res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonTransportError, within)
		h.expectGone(t, sid)
	})
	t.Run("noop during upgrade", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		get := h.v3PollAsync(bg, sid, "")
		h.awaitWaiting(t, http.MethodGet, sid, 1)
		c := h.v3DialWS(t, "EIO=3&transport=websocket&sid="+sid)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		probed := time.Now()
		res := awaitResult(t, get, within, "parked GET")
		expectV3Text(t, res, "6")
		if res.body != "1:6" {
			t.Fatalf("noop payload = %q, want 1:6", res.body)
		}
		if d := res.at.Sub(probed); d > 100*time.Millisecond {
			t.Errorf("noop came %v after the probe, want promptly", d)
		}
		// A GET during the upgrade is released at once, with a noop too.
		expectV3Text(t, h.v3Poll(t, sid, ""), "6")
		c.send(t, "5")
		c.send(t, "4upgraded")
		c.expectText(t, "4upgraded")
		// The heartbeat goes on over the WebSocket.
		c.send(t, "2")
		c.expectText(t, "3")
		expectError(t, h.v3Poll(t, sid, ""), http.StatusBadRequest, 3, "Bad request")
		h.expectNoDisconnect(t, sid, 0)
	})
}

// ---- 51 ----

// jsonpBody is what a JSONP response must be: ___eio[j]("<payload as a
// JSON string, escaped as encoding/json escapes it>");.
func jsonpBody(t *testing.T, j, payload string) string {
	t.Helper()
	lit, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return "___eio[" + j + "](" + string(lit) + ");"
}

// expectJSONP checks a JSONP response and returns the payload it carries.
func expectJSONP(t *testing.T, res httpResult, j string) string {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d, want 200 (response %v)", res.status, res)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/javascript; charset=UTF-8" {
		t.Errorf("JSONP Content-Type = %q, want text/javascript; charset=UTF-8", ct)
	}
	prefix, suffix := "___eio["+j+"](", ");"
	if !strings.HasPrefix(res.body, prefix) || !strings.HasSuffix(res.body, suffix) {
		t.Fatalf("JSONP body = %q, want %s\"...\"%s", res.body, prefix, suffix)
	}
	var payload string
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(res.body, prefix), suffix)), &payload); err != nil {
		t.Fatalf("JSONP body %q: the argument is not one JSON string: %v", res.body, err)
	}
	if want := jsonpBody(t, j, payload); res.body != want {
		t.Fatalf("JSONP body = %q, want %q", res.body, want)
	}
	return payload
}

// jsonpForm is the body the JS client submits for payload: the form field
// d, with \n (backslash n) doubled and line feeds written as \n.
func jsonpForm(payload string) string {
	escaped := strings.ReplaceAll(payload, `\n`, `\`+"\n")
	escaped = strings.ReplaceAll(escaped, "\n", `\n`)
	return "d=" + url.QueryEscape(escaped)
}

func (h *harness) jsonpPost(t *testing.T, sid, j, form string) httpResult {
	t.Helper()
	return h.v3Post(t, sid, "&j="+j, []byte(form), "application/x-www-form-urlencoded")
}

// v3JSONPHandshake opens a v3 session over JSONP (index j).
func (h *harness) v3JSONPHandshake(t *testing.T, j string) string {
	t.Helper()
	res := h.request(t, http.MethodGet, "EIO=3&transport=polling&j="+j, "")
	return parseV3Open(t, v3OnlyRecord(t, expectJSONP(t, res, j))).SID
}

// 51. (v3) With j=<n>, the response is ___eio[n]("<json-escaped payload>");
// (text/javascript, U+2028 and U+2029 escaped) and POST bodies d=<payload>
// are accepted, with the JS client's escaped newlines undone.
func TestConformance51_V3JSONP(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t)
	t.Run("handshake", func(t *testing.T) {
		t.Parallel()
		res := h.request(t, http.MethodGet, "EIO=3&transport=polling&j=0", "")
		open := parseV3Open(t, v3OnlyRecord(t, expectJSONP(t, res, "0")))
		h.expectConnect(t, open.SID, "polling")
		if cc := res.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", cc)
		}
	})
	t.Run("payloads", func(t *testing.T) {
		t.Parallel()
		sid := h.v3JSONPHandshake(t, "0")
		mustSend(t, h, sid, "hello")
		res := h.v3Poll(t, sid, "&j=1")
		if want := `___eio[1]("6:4hello");`; res.body != want {
			t.Fatalf("JSONP body = %q, want %q", res.body, want)
		}
		expectJSONP(t, res, "1")

		// U+2028 and U+2029 are legal in JSON but not in older JavaScript
		// strings: they must be escaped; so are quotes and </script>.
		msg := "a\u2028b\u2029c \"q\" \\ </script> & \n\t"
		mustSend(t, h, sid, msg)
		res = h.v3Poll(t, sid, "&j=22")
		if got := expectJSONP(t, res, "22"); got != v3Pay("4"+msg) {
			t.Fatalf("JSONP payload = %q, want %q", got, v3Pay("4"+msg))
		}
		for _, raw := range []string{"\u2028", "\u2029", "</script>", "\n"} {
			if strings.Contains(res.body, raw) {
				t.Errorf("JSONP body %q contains %q unescaped", res.body, raw)
			}
		}
		if !strings.Contains(res.body, `\u2028`) || !strings.Contains(res.body, `\u2029`) {
			t.Errorf("JSONP body %q: U+2028/U+2029 not written as \\u2028/\\u2029", res.body)
		}

		// Binary goes as base64 in JSONP, with or without b64.
		mustSendBinary(t, h, sid, []byte{1, 2, 3, 4})
		if res := h.v3Poll(t, sid, "&j=3"); res.body != `___eio[3]("10:b4AQIDBA==");` {
			t.Fatalf("JSONP binary = %q, want ___eio[3](\"10:b4AQIDBA==\");", res.body)
		}
	})
	t.Run("POST form", func(t *testing.T) {
		t.Parallel()
		sid := h.v3JSONPHandshake(t, "0")
		expectOK(t, h.jsonpPost(t, sid, "1", jsonpForm(v3Pay("4hello world", "4€ 😀 +&=%"))))
		h.expectTexts(t, sid, "hello world", "€ 😀 +&=%")
		expectJSONP(t, h.v3Poll(t, sid, "&j=2"), "2")
		// A base64 binary record.
		expectOK(t, h.jsonpPost(t, sid, "3", jsonpForm(v3Pay("b4AQIDBA=="))))
		h.expectMessage(t, sid, engineio.Message{Data: []byte{1, 2, 3, 4}, Binary: true})
		// Other form fields are ignored.
		expectOK(t, h.jsonpPost(t, sid, "4", "x=1&"+jsonpForm(v3Pay("4other"))+"&y"))
		h.expectTexts(t, sid, "other")
	})
	t.Run("POST escaped newlines", func(t *testing.T) {
		t.Parallel()
		sid := h.v3JSONPHandshake(t, "0")
		// A line feed in a message: the client sends it as \n.
		lf := "line1\nline2"
		// A literal backslash-n (as in JSON text): the client sends \\n.
		bsn := `{"s":"a\nb"}`
		form := jsonpForm(v3Pay("4"+lf, "4"+bsn))
		if strings.Contains(form, "%0A") {
			t.Fatalf("form %q carries a raw line feed; jsonpForm is wrong", form)
		}
		expectOK(t, h.jsonpPost(t, sid, "1", form))
		h.expectTexts(t, sid, lf, bsn)
	})
	t.Run("noop during upgrade", func(t *testing.T) {
		t.Parallel()
		sid := h.v3JSONPHandshake(t, "0")
		get := h.v3PollAsync(bg, sid, "&j=5")
		h.awaitWaiting(t, http.MethodGet, sid, 1)
		c := h.v3DialWS(t, "EIO=3&transport=websocket&sid="+sid)
		c.send(t, "2probe")
		c.expectText(t, "3probe")
		if res := awaitResult(t, get, within, "parked JSONP GET"); res.body != `___eio[5]("1:6");` {
			t.Fatalf("noop = %v, want ___eio[5](\"1:6\");", res)
		}
	})
	t.Run("bad form", func(t *testing.T) {
		t.Parallel()
		for name, form := range map[string]string{
			"no d":         "x=6:4hello",
			"two d":        "d=6:4hello&d=6:4hello",
			"bad escape":   "d=6:4hel%zz",
			"empty d":      "d=",
			"lying length": "d=" + url.QueryEscape("9:4hello"),
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sid := h.v3JSONPHandshake(t, "0")
				if res := h.jsonpPost(t, sid, "1", form); res.status != http.StatusBadRequest {
					t.Fatalf("JSONP POST %q: %v, want 400", form, res)
				}
				h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
				h.expectNoMessage(t, sid, 0)
				h.expectGone(t, sid)
			})
		}
	})
}

// ---- bad input ----

// A JSONP index that is not 1 to 10 digits is refused with 400, and nothing
// of it is written back.
func TestV3BadInput_JSONPIndex(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t)
	sid, _ := h.v3Handshake(t, "")
	for _, j := range []string{"abc", "1a", "", " 1", "-1", "1.5", "12345678901", `0");alert(1);//`, "0)</script>", "٣"} {
		q := "&j=" + url.QueryEscape(j)
		for _, query := range []string{"EIO=3&transport=polling" + q, v3Query(sid, q)} {
			res := h.request(t, http.MethodGet, query, "")
			expectError(t, res, http.StatusBadRequest, 3, "Invalid JSONP index number")
			if strings.Contains(res.body, "alert") || strings.Contains(res.body, "script") || strings.Contains(res.body, "___eio") {
				t.Fatalf("error body %q reflects the index %q", res.body, j)
			}
		}
	}
	// The session was not harmed by its refused requests.
	mustSend(t, h, sid, "still here")
	expectJSONP(t, h.v3Poll(t, sid, "&j=0123456789"), "0123456789")
	h.expectNoDisconnect(t, sid, 0)
	if s := h.srv.Sessions(); len(s) != 1 {
		t.Fatalf("sessions %v, want only %s: a refused handshake opened one", s, sid)
	}
}

// v3 text payloads whose length prefixes lie, and other malformed bodies:
// 400, and the session closes with "parse error" without delivering any
// packet of the body.
func TestV3BadInput_Payloads(t *testing.T) {
	t.Parallel()
	h := newV3Harness(t)
	cases := map[string]string{
		"too long":                      "10:4hello",
		"too short":                     "3:4hello",
		"too short, then valid":         "5:4hello2:4x",
		"second record too long":        "6:4hello9:4x",
		"not a number":                  "x:4hello",
		"number with junk":              "6a:4hello",
		"negative":                      "-6:4hello",
		"plus sign":                     "+6:4hello",
		"leading zero":                  "06:4hello",
		"no colon":                      "4hello",
		"no digits":                     ":4hello",
		"length only":                   "6:",
		"split surrogate pair":          "2:4😀",
		"split surrogate pair, 2nd rec": "6:4hello4:4😀😀",
		"UTF-8 bytes as length":         "5:4€",
		"huge":                          "99999999999999999999999999999999:4hello",
		"int64 overflow":                "18446744073709551617:4hello",
		"invalid UTF-8":                 "2:4\xff",
		"bad base64":                    "6:b4@@@@",
		"truncated base64":              "5:b4AQI",
		"binary of another type":        "10:b2AQIDBA==",
		"unknown packet type":           "2:9x",
		"empty body":                    "",
		"v4 payload":                    "4hello\x1e4world",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sid, _ := h.v3Handshake(t, "")
			if res := h.v3PostText(t, sid, body); res.status != http.StatusBadRequest {
				t.Fatalf("POST %q: %v, want 400", body, res)
			}
			h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
			h.expectNoMessage(t, sid, 0)
			h.expectGone(t, sid)
		})
	}
	t.Run("valid after a valid record", func(t *testing.T) {
		// The control: a well-formed body on the same kind of session.
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		expectOK(t, h.v3PostText(t, sid, "6:4hello3:4😀0:"))
		h.expectTexts(t, sid, "hello", "😀")
	})
}

// Malformed XHR2 bodies get 400 and close the session with "parse error";
// one longer than the max payload gets 413 and closes it with "message too
// large". Nothing is delivered.
func TestV3BadInput_XHR2(t *testing.T) {
	t.Parallel()
	const limit = 100
	h := newV3Harness(t, engineio.WithMaxPayload(limit))
	cases := map[string][]byte{
		"kind byte 2":            {2, 1, 0xFF, '4'},
		"kind byte ASCII":        {'0', 1, 0xFF, '4'},
		"length beyond the body": {0, 9, 9, 0xFF, '4', 'x'},
		"length claims over max": {1, 9, 9, 9, 9, 9, 9, 0xFF, 4, 1, 2},
		"length of many digits":  append(append([]byte{0}, bytes.Repeat([]byte{9}, 60)...), 0xFF, '4'),
		"no 0xFF":                {0, 1, '4'},
		"digit byte above 9":     {0, 10, 0xFF, '4', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'},
		"ASCII digit":            {0, '1', 0xFF, '4'},
		"empty length":           {0, 0xFF, '4'},
		"leading zero":           {0, 0, 1, 0xFF, '4'},
		"zero length":            {0, 0, 0xFF},
		"binary with type 2":     {1, 2, 0xFF, 2, 1},
		"binary with type 9":     {1, 2, 0xFF, 9, 1},
		"binary, ASCII type":     {1, 2, 0xFF, '4', 1},
		"string of unknown type": {0, 2, 0xFF, '9', 'x'},
		"trailing garbage":       append(slices.Clone(xhr2Example), 0x00),
		"bad base64 in a string": append([]byte{0, 4, 0xFF}, "b4@@"...),
		"text payload as binary": []byte("6:4hello"),
		"empty":                  {},
		"only a 0xFF terminator": {0xFF},
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sid, _ := h.v3Handshake(t, "")
			if res := h.v3Post(t, sid, "", body, "application/octet-stream"); res.status != http.StatusBadRequest {
				t.Fatalf("XHR2 POST % X: %v, want 400", body, res)
			}
			h.expectDisconnect(t, sid, engineio.ReasonParseError, within)
			h.expectNoMessage(t, sid, 0)
			h.expectGone(t, sid)
		})
	}
	t.Run("over the max payload", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		data := bytes.Repeat([]byte{7}, limit) // the record is limit+5 bytes
		body := append([]byte{1, 1, 0, 1, 0xFF, 4}, data...)
		res := h.v3Post(t, sid, "", body, "application/octet-stream")
		if res.status != http.StatusRequestEntityTooLarge && res.status != http.StatusBadRequest {
			t.Fatalf("XHR2 POST of %d bytes: %v, want 413 (or 400)", len(body), res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
		h.expectGone(t, sid)
	})
	t.Run("over the max payload, chunked", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		body := append([]byte{1, 1, 0, 1, 0xFF, 4}, bytes.Repeat([]byte{7}, limit)...)
		ctx, cancel := context.WithTimeout(bg, within)
		defer cancel()
		rd := io.MultiReader(bytes.NewReader(body[:10]), bytes.NewReader(body[10:]))
		res := h.do(ctx, http.MethodPost, v3Query(sid, ""), rd, http.Header{"Content-Type": {"application/octet-stream"}})
		if res.err != nil || (res.status != http.StatusRequestEntityTooLarge && res.status != http.StatusBadRequest) {
			t.Fatalf("chunked XHR2 POST of %d bytes: %v, want 413 (or 400)", len(body), res)
		}
		h.expectDisconnect(t, sid, engineio.ReasonMessageTooLarge, within)
		h.expectNoMessage(t, sid, 0)
		h.expectGone(t, sid)
	})
	t.Run("exactly the max payload", func(t *testing.T) {
		t.Parallel()
		sid, _ := h.v3Handshake(t, "")
		// kind 1, length 96 in two digit bytes, FF, type 4, 95 data bytes.
		body := append([]byte{1, 9, 6, 0xFF, 4}, bytes.Repeat([]byte{7}, limit-5)...)
		if len(body) != limit {
			t.Fatalf("test body is %d bytes, want %d", len(body), limit)
		}
		expectOK(t, h.v3Post(t, sid, "", body, "application/octet-stream"))
		h.expectMessage(t, sid, engineio.Message{Data: bytes.Repeat([]byte{7}, limit-5), Binary: true})
	})
}

// A session that closes answers the requests it has pending: the parked
// GET gets the close packet (a noop when the client closed), the POST that
// carried the client's close packet gets "ok" — not 400 "Session ID
// unknown". Each case runs on many sessions, since the two answers race
// and a wrong one shows only now and then. The v4 cases are the same code
// path (checklist items 30 and 32).
func TestV3_CloseAnswersPendingRequests(t *testing.T) {
	t.Parallel()
	const sessions = 100
	type outcome struct{ post, get httpResult }
	check := func(t *testing.T, outcomes []outcome, wantPost, wantGet string) {
		t.Helper()
		badPost, badGet := 0, 0
		var examplePost, exampleGet httpResult
		for _, o := range outcomes {
			if wantPost != "" && (o.post.status != http.StatusOK || o.post.body != wantPost) {
				badPost++
				examplePost = o.post
			}
			if o.get.status != http.StatusOK || o.get.body != wantGet {
				badGet++
				exampleGet = o.get
			}
		}
		if badPost > 0 {
			t.Errorf("%d of %d POSTs of the client's close packet were not answered %q, e.g. %v", badPost, len(outcomes), wantPost, examplePost)
		}
		if badGet > 0 {
			t.Errorf("%d of %d parked GETs were not answered %q at the close, e.g. %v", badGet, len(outcomes), wantGet, exampleGet)
		}
	}
	// clientClose parks a GET, then POSTs the close packet.
	clientClose := func(t *testing.T, h *harness, rev, closePacket string) []outcome {
		t.Helper()
		var out []outcome
		for range sessions {
			var sid string
			if rev == "3" {
				sid, _ = h.v3Handshake(t, "")
			} else {
				sid, _ = h.handshake(t)
			}
			q := "EIO=" + rev + "&transport=polling&sid=" + sid
			get := make(chan httpResult, 1)
			go func() {
				ctx, cancel := context.WithTimeout(bg, within)
				defer cancel()
				get <- h.do(ctx, http.MethodGet, q, nil, nil)
			}()
			h.awaitWaiting(t, http.MethodGet, sid, 1)
			post := h.request(t, http.MethodPost, q, closePacket)
			out = append(out, outcome{post: post, get: awaitResult(t, get, within, "parked GET")})
		}
		return out
	}
	t.Run("v3 client close", func(t *testing.T) {
		t.Parallel()
		check(t, clientClose(t, newV3Harness(t), "3", "1:1"), "ok", "1:6")
	})
	t.Run("v4 client close", func(t *testing.T) {
		t.Parallel()
		check(t, clientClose(t, newHarness(t), "4", "1"), "ok", "6")
	})
	t.Run("v3 ping timeout", func(t *testing.T) {
		t.Parallel()
		h := newV3Harness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		results := make(chan httpResult, sessions)
		for range sessions {
			sid, _ := h.v3Handshake(t, "")
			go func() { results <- <-h.v3PollAsync(bg, sid, "") }()
		}
		var out []outcome
		for range sessions {
			out = append(out, outcome{get: awaitResult(t, results, pingInterval+pingTimeout+within, "parked GET")})
		}
		check(t, out, "", "1:1")
	})
	t.Run("v4 ping timeout", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, engineio.WithPingInterval(pingInterval), engineio.WithPingTimeout(pingTimeout))
		results := make(chan httpResult, sessions)
		for range sessions {
			sid, _ := h.handshake(t)
			go func() {
				if ping := <-h.pollAsync(bg, sid); ping.body != "2" {
					results <- ping
					return
				}
				results <- <-h.pollAsync(bg, sid) // parked until the timeout
			}()
		}
		var out []outcome
		for range sessions {
			out = append(out, outcome{get: awaitResult(t, results, pingInterval+pingTimeout+within, "parked GET")})
		}
		check(t, out, "", "1")
	})
}

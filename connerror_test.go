package engineio_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/protocol"
)

// refusals records what OnConnectionError sees.
type refusals struct {
	mu   sync.Mutex
	seen []engineio.ConnectionError
}

func (r *refusals) add(e engineio.ConnectionError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, e)
}

func (r *refusals) all() []engineio.ConnectionError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engineio.ConnectionError(nil), r.seen...)
}

// OnConnectionError sees every request refused with a JSON error, with the
// answer's status, code and message and the request itself, before the
// answer; requests that succeed are not reported.
func TestOnConnectionError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, engineio.WithMaxPayload(16))
	var rec refusals
	h.srv.OnConnectionError(rec.add)
	h.srv.OnConnect(func(s *engineio.Session) error {
		if s.Query().Get("refuse") != "" {
			return errors.New("not today")
		}
		return nil
	})

	sid, _ := h.handshake(t)
	expectOK(t, h.post(t, sid, "4hi"))
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("OnConnectionError saw %d requests that succeeded: %+v", len(got), got)
	}

	for _, tc := range []struct {
		name, method, query, body string
		status                    int
		code                      protocol.ErrorCode
		message                   string
	}{
		{"unknown sid", http.MethodGet, pollingQuery("nope"), "", http.StatusBadRequest, protocol.CodeUnknownSID, "Session ID unknown"},
		{"unknown transport", http.MethodGet, "EIO=4&transport=carrier-pigeon", "", http.StatusBadRequest, protocol.CodeUnknownTransport, "Transport unknown"},
		{"bad handshake method", http.MethodPost, "EIO=4&transport=polling", "4x", http.StatusBadRequest, protocol.CodeBadHandshakeMethod, "Bad handshake method"},
		{"unsupported revision", http.MethodGet, "EIO=5&transport=polling", "", http.StatusBadRequest, protocol.CodeUnsupportedProtocolVersion, "Unsupported protocol version"},
		{"refused by OnConnect", http.MethodGet, "EIO=4&transport=polling&refuse=1", "", http.StatusForbidden, protocol.CodeForbidden, "not today"},
		{"body over the max payload", http.MethodPost, pollingQuery(sid), "4" + strings.Repeat("x", 64), http.StatusRequestEntityTooLarge, protocol.CodeBadRequest, "Payload too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rec.all())
			expectError(t, h.request(t, tc.method, tc.query, tc.body), tc.status, int(tc.code), tc.message)
			got := rec.all()
			if len(got) != before+1 {
				t.Fatalf("OnConnectionError saw %d requests, want 1", len(got)-before)
			}
			e := got[before]
			if e.Status != tc.status || e.Code != tc.code || e.Message != tc.message {
				t.Errorf("saw status %d, code %d, message %q; want %d, %d, %q", e.Status, e.Code, e.Message, tc.status, tc.code, tc.message)
			}
			if e.Request == nil || e.Request.Method != tc.method || e.Request.URL.RawQuery != tc.query || e.Request.RemoteAddr == "" {
				t.Errorf("saw request %+v, want %s ?%s with its remote address", e.Request, tc.method, tc.query)
			}
		})
	}

	// A WebSocket handshake refused before the upgrade is seen too.
	_, resp, err := h.wsDialRaw("EIO=4&transport=websocket&refuse=1")
	expectWebSocketRefused(t, resp, err, http.StatusForbidden, int(protocol.CodeForbidden), "not today")
	got := rec.all()
	if e := got[len(got)-1]; e.Code != protocol.CodeForbidden || e.Request.URL.Query().Get("transport") != "websocket" {
		t.Errorf("last refusal %d %q for ?%s, want the refused WebSocket", e.Code, e.Message, e.Request.URL.RawQuery)
	}

	// After Close, a handshake is refused with 503 "Server closed".
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := h.srv.Close(ctx); err != nil {
		t.Logf("Close: %v", err)
	}
	expectError(t, h.request(t, http.MethodGet, "EIO=4&transport=polling", ""), http.StatusServiceUnavailable, int(protocol.CodeBadRequest), "Server closed")
	got = rec.all()
	if e := got[len(got)-1]; e.Status != http.StatusServiceUnavailable || e.Message != "Server closed" {
		t.Errorf("last refusal %d %q, want 503 \"Server closed\"", e.Status, e.Message)
	}
}

// Setting a handler to nil removes it: a message is then dropped, not a
// panic that closes its session, and a refused request goes unreported.
func TestNilHandlerRemoves(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var rec refusals
	h.srv.OnConnectionError(rec.add)
	h.srv.OnConnectionError(nil)
	h.srv.OnMessage(nil)
	h.srv.OnDrain(nil)
	sid, _ := h.handshake(t)
	expectOK(t, h.post(t, sid, "4hi"))
	expectError(t, h.request(t, http.MethodGet, pollingQuery("nope"), ""), http.StatusBadRequest, int(protocol.CodeUnknownSID), "Session ID unknown")
	if got := rec.all(); len(got) != 0 {
		t.Errorf("a removed OnConnectionError saw %d requests", len(got))
	}
	h.expectNoDisconnect(t, sid, 100*time.Millisecond)
	h.srv.OnConnect(nil)
	h.srv.OnDisconnect(nil)
	res := h.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	if res.status != http.StatusOK || !strings.HasPrefix(res.body, "0{") {
		t.Errorf("handshake without OnConnect: %v", res)
	}
}

// Package routertest is the test the router examples share (stdmux, chi,
// gin and echoframework): each mounts an echo server next to GET /hello on
// a router of its kind, and Run checks that both work through it.
package routertest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// Run serves router, which mounts srv (a server that echoes every message
// to its sender) next to GET /hello, on an httptest server, and checks
// that the engine path works over polling and WebSocket, with and without
// its trailing slash, and that GET /hello still answers "hello". It
// closes both servers when the test ends.
func Run(t *testing.T, srv *engineio.Server, router http.Handler) {
	t.Helper()
	ts := httptest.NewServer(router)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})

	t.Run("hello", func(t *testing.T) {
		status, body := do(t, http.MethodGet, ts.URL+"/hello", "")
		if status != http.StatusOK || body != "hello" {
			t.Fatalf("GET /hello: %d %q, want 200 hello", status, body)
		}
	})

	for _, path := range []string{"/engine.io/", "/engine.io"} {
		t.Run("polling "+path, func(t *testing.T) {
			status, body := do(t, http.MethodGet, ts.URL+path+"?EIO=4&transport=polling", "")
			if status != http.StatusOK || !strings.HasPrefix(body, "0{") {
				t.Fatalf("handshake: %d %q, want 200 and an open packet", status, body)
			}
			url := ts.URL + path + "?EIO=4&transport=polling&sid=" + sidOf(t, body)
			// A text and a binary (base64, "b" prefix) message in one POST.
			if status, body := do(t, http.MethodPost, url, "4hi\x1ebAQID"); status != http.StatusOK || body != "ok" {
				t.Fatalf("POST: %d %q, want 200 ok", status, body)
			}
			var got []string
			for len(got) < 2 {
				status, body := do(t, http.MethodGet, url, "")
				if status != http.StatusOK {
					t.Fatalf("GET: %d %q", status, body)
				}
				got = append(got, strings.Split(body, "\x1e")...)
			}
			if strings.Join(got, " ") != "4hi bAQID" {
				t.Fatalf("echo: %q, want [4hi bAQID]", got)
			}
			// The client closes the session, so that closing the server
			// need not wait for its next poll.
			defer func() {
				if status, body := do(t, http.MethodPost, url, "1"); status != http.StatusOK {
					t.Errorf("close: %d %q", status, body)
				}
			}()
			// OPTIONS reaches the server too (no 404 or 405 from the router).
			if status, body := do(t, http.MethodOptions, url, ""); status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
				t.Fatalf("OPTIONS: %d %q: the router did not pass it on", status, body)
			}
		})

		t.Run("websocket "+path, func(t *testing.T) {
			url := "ws" + strings.TrimPrefix(ts.URL, "http") + path + "?EIO=4&transport=websocket"
			conn, res, err := websocket.DefaultDialer.Dial(url, nil)
			if err != nil {
				if res != nil {
					b, _ := io.ReadAll(res.Body)
					t.Fatalf("dial: %v: %d %q", err, res.StatusCode, b)
				}
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			typ, msg, err := conn.ReadMessage()
			if err != nil || typ != websocket.TextMessage || !strings.HasPrefix(string(msg), "0{") {
				t.Fatalf("first frame: %d %q %v, want the open packet", typ, msg, err)
			}
			if err := conn.WriteMessage(websocket.TextMessage, []byte("4hello")); err != nil {
				t.Fatal(err)
			}
			typ, msg, err = conn.ReadMessage()
			if err != nil || typ != websocket.TextMessage || string(msg) != "4hello" {
				t.Fatalf("text echo: %d %q %v, want text 4hello", typ, msg, err)
			}
			if err := conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			typ, msg, err = conn.ReadMessage()
			if err != nil || typ != websocket.BinaryMessage || string(msg) != "\x01\x02\x03" {
				t.Fatalf("binary echo: %d %q %v, want binary 010203", typ, msg, err)
			}
		})
	}
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		// A redirect (such as /engine.io to /engine.io/) is a failure here.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func sidOf(t *testing.T, open string) string {
	t.Helper()
	i := strings.Index(open, `"sid":"`)
	if i < 0 {
		t.Fatalf("no sid in %q", open)
	}
	rest := open[i+len(`"sid":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

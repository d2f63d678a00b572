package engineio_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// An Engine.IO server in front of an application: the engine path goes to
// the server, everything else to the application.
func ExampleMiddleware() {
	// The handshakes below open sessions that never poll again: let Close
	// wait only briefly for them.
	srv, err := engineio.NewServer(engineio.WithCloseTimeout(100 * time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close(context.Background())
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
			return
		}
		_ = s.Send(msg.Text())
	})

	app := http.NewServeMux()
	app.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})
	ts := httptest.NewServer(engineio.Middleware(srv, app))
	defer ts.Close()
	// In a program: http.ListenAndServe(":3000", engineio.Middleware(srv, app))

	for _, path := range []string{"/engine.io/?EIO=4&transport=polling", "/engine.io?EIO=4&transport=polling", "/hello"} {
		res, err := http.Get(ts.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.HasPrefix(string(body), `0{"sid":`) {
			body = []byte("open packet")
		}
		fmt.Println(res.StatusCode, string(body))
	}
	// Output:
	// 200 open packet
	// 200 open packet
	// 200 hello
}

// mwApp is the application behind the middleware in these tests: it
// answers every request with "next " and its path.
func mwApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "next %s %s", r.Method, r.URL.Path)
	})
}

func mwServer(t *testing.T, next http.Handler, opts ...engineio.Option) (*engineio.Server, *httptest.Server) {
	t.Helper()
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
		} else {
			_ = s.Send(msg.Text())
		}
	})
	ts := httptest.NewServer(engineio.Middleware(srv, next))
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return srv, ts
}

func mwDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	res, err := http.DefaultClient.Do(req)
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

// mwHandshake opens a polling session at path and returns its sid.
func mwHandshake(t *testing.T, base, path string) string {
	t.Helper()
	status, body := mwDo(t, http.MethodGet, base+path+"?EIO=4&transport=polling", "")
	if status != http.StatusOK || !strings.HasPrefix(body, "0{") {
		t.Fatalf("handshake at %s: %d %q, want 200 and an open packet", path, status, body)
	}
	i := strings.Index(body, `"sid":"`)
	if i < 0 {
		t.Fatalf("handshake at %s: no sid in %q", path, body)
	}
	rest := body[i+len(`"sid":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// mwClose ends a polling session as a client does, with a close packet, so
// that closing the server need not wait for it.
func mwClose(t *testing.T, base, path, sid string) {
	t.Helper()
	url := base + path + "?EIO=4&transport=polling&sid=" + sid
	if status, body := mwDo(t, http.MethodPost, url, "1"); status != http.StatusOK {
		t.Fatalf("close %s: %d %q", sid, status, body)
	}
}

func TestServerPath(t *testing.T) {
	for _, tc := range []struct {
		opts []engineio.Option
		want string
	}{
		{nil, "/engine.io/"},
		{[]engineio.Option{engineio.WithPath("/rt")}, "/rt/"},
		{[]engineio.Option{engineio.WithPath("/a/b/")}, "/a/b/"},
	} {
		srv, err := engineio.NewServer(tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Path(); got != tc.want {
			t.Errorf("Path() = %q, want %q", got, tc.want)
		}
		if err := srv.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMiddlewareServesEnginePath(t *testing.T) {
	_, ts := mwServer(t, mwApp())
	for _, path := range []string{"/engine.io/", "/engine.io"} {
		sid := mwHandshake(t, ts.URL, path)
		// POST and GET of the same session also go to the server.
		q := "?EIO=4&transport=polling&sid=" + sid
		if status, body := mwDo(t, http.MethodPost, ts.URL+path+q, "4hi"); status != http.StatusOK || body != "ok" {
			t.Fatalf("POST %s: %d %q, want 200 ok", path, status, body)
		}
		if status, body := mwDo(t, http.MethodGet, ts.URL+path+q, ""); status != http.StatusOK || body != "4hi" {
			t.Fatalf("GET %s: %d %q, want 200 4hi", path, status, body)
		}
		mwClose(t, ts.URL, path, sid)
	}
	// Requests for the engine path that are not Engine.IO requests get the
	// server's error, not the application.
	status, body := mwDo(t, http.MethodGet, ts.URL+"/engine.io/", "")
	if status != http.StatusBadRequest || strings.HasPrefix(body, "next") {
		t.Fatalf("GET /engine.io/ without query: %d %q, want the server's 400", status, body)
	}
}

func TestMiddlewareWebSocket(t *testing.T) {
	_, ts := mwServer(t, mwApp())
	for _, path := range []string{"/engine.io/", "/engine.io"} {
		url := "ws" + strings.TrimPrefix(ts.URL, "http") + path + "?EIO=4&transport=websocket"
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", path, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, msg, err := conn.ReadMessage()
		if err != nil || typ != websocket.TextMessage || !strings.HasPrefix(string(msg), "0{") {
			t.Fatalf("first frame at %s: %d %q %v, want an open packet", path, typ, msg, err)
		}
		if err := conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
		typ, msg, err = conn.ReadMessage()
		if err != nil || typ != websocket.BinaryMessage || string(msg) != "\x01\x02\x03" {
			t.Fatalf("echo at %s: %d %q %v, want binary 010203", path, typ, msg, err)
		}
		conn.Close()
	}
}

func TestMiddlewarePassesOtherPaths(t *testing.T) {
	_, ts := mwServer(t, mwApp())
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/hello"},
		{http.MethodPost, "/api/items"},
		{http.MethodOptions, "/hello"},
		{http.MethodGet, "/engine.io/x"},
		{http.MethodGet, "/engine.iox"},
		{http.MethodGet, "/socket.io/"},
	} {
		status, body := mwDo(t, tc.method, ts.URL+tc.path+"?EIO=4&transport=polling", "")
		want := "next " + tc.method + " " + tc.path
		if status != http.StatusOK || body != want {
			t.Errorf("%s %s: %d %q, want 200 %q", tc.method, tc.path, status, body, want)
		}
	}
}

func TestMiddlewareNilNext(t *testing.T) {
	_, ts := mwServer(t, nil)
	for _, path := range []string{"/engine.io/", "/engine.io"} {
		mwClose(t, ts.URL, path, mwHandshake(t, ts.URL, path))
	}
	for _, path := range []string{"/", "/hello", "/engine.io/x"} {
		if status, _ := mwDo(t, http.MethodGet, ts.URL+path, ""); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
}

func TestMiddlewareCustomPath(t *testing.T) {
	for _, opt := range []string{"/realtime", "/realtime/", "/api/eio/"} {
		srv, ts := mwServer(t, mwApp(), engineio.WithPath(opt))
		path := srv.Path()
		for _, p := range []string{path, strings.TrimSuffix(path, "/")} {
			mwClose(t, ts.URL, p, mwHandshake(t, ts.URL, p))
		}
		// The default path is now just another path of the application.
		status, body := mwDo(t, http.MethodGet, ts.URL+"/engine.io/?EIO=4&transport=polling", "")
		if status != http.StatusOK || body != "next GET /engine.io/" {
			t.Errorf("WithPath(%q): GET /engine.io/: %d %q, want the application", opt, status, body)
		}
	}
}

// Package bench holds the in-process benchmarks of the server's hot paths;
// the load generator and the comparison with the reference server are in
// cmd/eioload and run.sh.
package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/bench/internal/wsecho"
)

func echoServer(b *testing.B) *httptest.Server {
	b.Helper()
	srv := newEcho(b)
	ts := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		_ = srv.Close(ctx)
		ts.Close()
	})
	return ts
}

func newEcho(b *testing.B) *engineio.Server {
	b.Helper()
	srv, err := engineio.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		_ = s.SendMessage(msg) // text as text, binary as binary
	})
	return srv
}

// echoServers runs bench against the echo server mounted on an
// http.Server (its own Handler) and served with Server.Serve, as
// sub-benchmarks, with the server's base URL and a client for it.
func echoServers(b *testing.B, bench func(b *testing.B, base string, client *http.Client)) {
	b.Run("http.Server", func(b *testing.B) {
		ts := echoServer(b)
		bench(b, ts.URL, ts.Client())
	})
	b.Run("Serve", func(b *testing.B) {
		srv := newEcho(b)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		client := &http.Client{Transport: &http.Transport{}}
		b.Cleanup(func() {
			client.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 0)
			defer cancel()
			_ = srv.Close(ctx)
			<-served
		})
		bench(b, "http://"+ln.Addr().String(), client)
	})
}

// BenchmarkWebSocketEcho measures one echoed 64-byte text message over a
// WebSocket session: the client's write, the server's read, session and
// handler, the server's write and the client's read. Allocations count
// both sides; BenchmarkWebSocketClientOnly gives the client's share (plus
// one: see there).
func BenchmarkWebSocketEcho(b *testing.B) {
	ts := echoServer(b)
	wsecho.Run(b, "ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket")
}

// BenchmarkWebSocketClientOnly is the client side of the echo alone,
// against a server that sends one frame (where an open packet would be)
// and then answers every frame with the same frame: no Engine.IO in it.
// Its allocations are the client's share of the above plus the one of that
// server (gorilla's NextReader allocates its message reader); so the
// server's share of BenchmarkWebSocketEcho is its count minus this one's,
// plus one.
func BenchmarkWebSocketClientOnly(b *testing.B) {
	up := websocket.Upgrader{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, []byte("0")); err != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			typ, rd, err := conn.NextReader()
			if err != nil {
				return
			}
			n, _ := io.ReadFull(rd, buf)
			if err := conn.WriteMessage(typ, buf[:n]); err != nil {
				return
			}
		}
	}))
	defer ts.Close()
	wsecho.Run(b, "ws"+strings.TrimPrefix(ts.URL, "http"))
}

// BenchmarkPollingEcho measures one echoed 64-byte text message over
// long-polling: a POST and the GET that returns the echo.
func BenchmarkPollingEcho(b *testing.B) { echoServers(b, pollingEcho) }

func pollingEcho(b *testing.B, server string, client *http.Client) {
	base := server + "/engine.io/?EIO=4&transport=polling"
	res, err := client.Get(base)
	if err != nil {
		b.Fatal(err)
	}
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	i := strings.Index(string(open), `"sid":"`)
	sid := string(open[i+7 : i+7+20])
	url := base + "&sid=" + sid
	body := "4" + strings.Repeat("x", 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := client.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		for {
			res, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if strings.HasPrefix(string(got), "4") {
				break
			}
		}
	}
}

// handshake opens a WebSocket to url, reads the open packet, and closes the
// connection as a client does: a close frame, then the server's close
// frame, then the end of the connection.
func handshake(b *testing.B, url string) {
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, open, err := c.ReadMessage(); err != nil || open[0] != '0' {
		b.Fatalf("open packet: %q, %v", open, err)
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.WriteMessage(websocket.CloseMessage, msg); err != nil {
		b.Fatal(err)
	}
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				b.Fatalf("closing: %v", err)
			}
			return
		}
	}
}

// BenchmarkWebSocketHandshake measures one WebSocket session from
// connection to close: the upgrade, the open packet, the close handshake,
// and the session's end. Allocations count both sides;
// BenchmarkWebSocketHandshakeBare gives the same exchange without
// Engine.IO sessions.
func BenchmarkWebSocketHandshake(b *testing.B) {
	echoServers(b, func(b *testing.B, server string, _ *http.Client) {
		url := "ws" + strings.TrimPrefix(server, "http") + "/engine.io/?EIO=4&transport=websocket"
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			handshake(b, url)
		}
	})
}

// BenchmarkWebSocketHandshakeBare is BenchmarkWebSocketHandshake against a
// server that upgrades, writes a fixed open packet and reads until the
// close: what any server on gorilla/websocket spends, and the client's
// share.
func BenchmarkWebSocketHandshakeBare(b *testing.B) {
	up := websocket.Upgrader{}
	open := []byte(`0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		if err := conn.WriteMessage(websocket.TextMessage, open); err != nil {
			return
		}
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}))
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		handshake(b, url)
	}
}

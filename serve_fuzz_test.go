package engineio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// panicLog counts the records of a logger that tell of a panic.
type panicLog struct{ n atomic.Int32 }

func (p *panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.n.Add(1)
	}
	return nil
}
func (p *panicLog) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicLog) WithGroup(string) slog.Handler      { return p }

// FuzzServeConn sends arbitrary bytes on a connection that Serve reads
// itself (its own HTTP/1.1 request reader, kept connections, the hand-over
// of other paths to net/http, the WebSocket upgrade) and ends the sending
// side. Whatever the bytes, the server answers with HTTP/1.1 responses or
// nothing, closes the connection within the deadline, and never panics.
//
//	go test -run '^$' -fuzz FuzzServeConn .
func FuzzServeConn(f *testing.F) {
	for _, seed := range []string{
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\nGET /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /engine.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n4hello",
		"POST /engine.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n4hell\r\n0\r\n\r\n",
		"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n4hi",
		"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85\x00\x00\x00\x004hello",
		"GET /engine.io/?EIO=3&transport=polling&j=0 HTTP/1.0\r\n\r\n",
		"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://x/engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
		"HEAD /engine.io/ HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Long: " + strings.Repeat("a", 9000) + "\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
		"",
	} {
		f.Add([]byte(seed))
	}
	app := http.NewServeMux()
	app.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
	addr, logs := serveForFuzz(f,
		WithPingInterval(time.Second), WithPingTimeout(time.Second),
		WithHTTPServer(&http.Server{Handler: app, ReadHeaderTimeout: 2 * time.Second}),
	)
	f.Fuzz(func(t *testing.T, input []byte) {
		conn := dialForFuzz(t, addr)
		out := sendAndDrain(t, conn, conn, input)
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.1 ")) && !bytes.HasPrefix(out, []byte("HTTP/1.0 ")) {
			t.Fatalf("answer is not HTTP: %q to %q", out, input)
		}
		logs.check(t, input)
	})
}

// fuzzDeadline bounds one input's exchange: the server must have closed
// the connection by then.
const fuzzDeadline = 10 * time.Second

// serveForFuzz starts an echo server with opts on Serve, for the whole
// fuzz run, and returns its address and its panic count.
func serveForFuzz(f *testing.F, opts ...Option) (string, *panicLog) {
	logs := &panicLog{}
	srv, err := NewServer(append([]Option{WithLogger(slog.New(logs)), WithCloseTimeout(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		f.Fatal(err)
	}
	srv.OnMessage(func(s *Session, msg Message) { _ = s.SendMessage(msg) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		<-done
	})
	return ln.Addr().String(), logs
}

// dialForFuzz connects to addr, with fuzzDeadline for the whole exchange.
func dialForFuzz(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(fuzzDeadline))
	return conn
}

// sendAndDrain writes input to conn, ends the sending side, and reads r
// to its end, which must come before conn's deadline: the server closes.
func sendAndDrain(t *testing.T, conn net.Conn, r io.Reader, input []byte) []byte {
	t.Helper()
	go func() {
		_, _ = conn.Write(input)
		_ = conn.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection was still open %v after the client's end; input %q, got %q", fuzzDeadline, input, out)
	}
	return out
}

// check fails the test if the server logged a panic.
func (p *panicLog) check(t *testing.T, input []byte) {
	t.Helper()
	if n := p.n.Load(); n > 0 {
		t.Fatalf("the server logged %d panics, the last with input %q", n, input)
	}
}

// FuzzWebSocketFrames sends arbitrary bytes as the client's frames of a
// WebSocket session that Serve opened (control frames, fragments, bad
// lengths and opcodes, unmasked frames, any payload), then ends the
// sending side: the server closes the connection within the deadline and
// never panics, and the session ends.
//
//	go test -run '^$' -fuzz FuzzWebSocketFrames .
func FuzzWebSocketFrames(f *testing.F) {
	frame := func(b0 byte, payload string) []byte {
		out := []byte{b0, 0x80 | byte(len(payload)), 0, 0, 0, 0}
		return append(out, payload...)
	}
	for _, seed := range [][]byte{
		frame(0x81, "4hello"),
		frame(0x82, "\x01\x02\x03"),
		frame(0x81, "2"),
		frame(0x81, "3"),
		frame(0x81, "1"),
		frame(0x81, "6"),
		frame(0x81, "9nonsense"),
		frame(0x81, "\xff\xfe"),
		append(frame(0x01, "4he"), frame(0x80, "llo")...),
		frame(0x89, "ping"),
		frame(0x88, "\x03\xe8bye"),
		{0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0x81, 0x05, '4', 'h', 'e', 'l', 'l'},
		{},
	} {
		f.Add(seed)
	}
	addr, logs := serveForFuzz(f, WithMaxPayload(1<<16))
	const upgrade = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

	f.Fuzz(func(t *testing.T, input []byte) {
		conn := dialForFuzz(t, addr)
		if _, err := io.WriteString(conn, upgrade); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v, %v", resp, err)
		}
		sendAndDrain(t, conn, br, input)
		logs.check(t, input)
	})
}

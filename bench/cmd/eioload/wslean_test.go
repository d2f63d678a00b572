package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eioactor/engineio"
	"github.com/gorilla/websocket"
)

func leanDial(t *testing.T, serverURL string, size int) *leanWSSession {
	t.Helper()
	cfg := &config{url: mustURL(t, serverURL+"/engine.io/"), timeout: 5 * time.Second, mode: "echo", size: size}
	s, err := newRawDialer(cfg).dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	l, ok := s.(*leanWSSession)
	if !ok {
		t.Fatalf("an echo dial gave a %T", s)
	}
	return l
}

// The lean client echoes text and binary messages of every size through
// our server, answers its pings between messages, and closes as the
// gorilla client does.
func TestLeanWSEcho(t *testing.T) {
	srv, err := engineio.NewServer(engineio.WithPingInterval(20*time.Millisecond), engineio.WithPingTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	srv.OnMessage(func(s *engineio.Session, m engineio.Message) { _ = s.SendMessage(m) })
	closed := make(chan struct{}, 1)
	srv.OnDisconnect(func(*engineio.Session, engineio.Reason) { closed <- struct{}{} })
	ts := httptest.NewServer(srv)
	defer ts.Close()

	l := leanDial(t, ts.URL, 64)
	if l.open.SID == "" || l.open.PingInterval != 20 {
		t.Errorf("open packet %+v", l.open)
	}
	var st clientStats
	for i, size := range []int{1, 64, 125, 126, 1024, 65535, 65536, 200_000} {
		for _, bin := range []bool{false, true} {
			msg := newPayloadGen(i, size, bin).next(uint64(i))
			got, gotBin, err := l.echo(msg, bin, &st)
			if err != nil {
				t.Fatalf("%d B, binary %v: %v", size, bin, err)
			}
			if gotBin != bin || !bytes.Equal(got, msg) {
				t.Fatalf("%d B, binary %v: %s", size, bin, mismatch(msg, bin, got, gotBin))
			}
		}
	}
	// Pings come while the client is not reading; it answers them with
	// its next message, and the server keeps the session.
	for i := 0; i < 5; i++ {
		time.Sleep(30 * time.Millisecond)
		msg := []byte("after a ping")
		if got, _, err := l.echo(msg, false, &st); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo %d after a ping: %q, %v", i, got, err)
		}
	}
	if st.pings == 0 {
		t.Error("no ping answered")
	}
	l.close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not see the session close")
	}
}

// What a server may send that our server does not: a message right behind
// the open packet, fragmented messages, WebSocket pings, noops. The client
// answers a WebSocket ping with a pong of the same payload and an Engine.IO
// ping with "3", and ends on a close packet.
func TestLeanWSFrames(t *testing.T) {
	serverSaw := make(chan string, 10)
	up := websocket.Upgrader{WriteBufferSize: 256}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		c.SetPongHandler(func(data string) error { serverSaw <- "pong " + data; return nil })
		// The open packet and a ping in one write: the ping comes with
		// the handshake's read.
		nc := c.NetConn()
		_, _ = nc.Write([]byte("\x81\x0d" + `0{"sid":"ab"}` + "\x81\x012"))
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			serverSaw <- string(data)
			switch {
			case string(data) == "3":
				continue
			case mt == websocket.TextMessage && string(data) == "4close":
				_ = c.WriteMessage(websocket.TextMessage, []byte("1"))
				continue
			}
			_ = c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
			_ = c.WriteMessage(websocket.TextMessage, []byte("6"))
			// A message longer than the write buffer goes out in fragments.
			_ = c.WriteMessage(mt, data)
		}
	}))
	defer ts.Close()

	l := leanDial(t, ts.URL, 64)
	var st clientStats
	long := []byte(strings.Repeat("x", 1000))
	got, gotBin, err := l.echo(long, false, &st)
	if err != nil || gotBin || !bytes.Equal(got, long) {
		t.Fatalf("a fragmented text echo: %d B, binary %v, %v", len(got), gotBin, err)
	}
	got, gotBin, err = l.echo(long, true, &st)
	if err != nil || !gotBin || !bytes.Equal(got, long) {
		t.Fatalf("a fragmented binary echo: %d B, binary %v, %v", len(got), gotBin, err)
	}
	if st.pings != 1 {
		t.Errorf("%d pings answered, want 1", st.pings)
	}
	// The ping that came with the handshake is answered once the first
	// message is out.
	want := []string{"4" + string(long), "3", "pong hi", string(long), "pong hi"}
	for _, w := range want {
		select {
		case s := <-serverSaw:
			if s != w {
				t.Errorf("the server saw %.20q, want %.20q", s, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the server did not see %.20q", w)
		}
	}
	if _, _, err := l.echo([]byte("close"), false, &st); classify(err) != errServerClose {
		t.Errorf("after a close packet: %v, want the server's close", err)
	}
	l.close()
}

// A server that breaks the protocol gets the error it deserves.
func TestLeanWSProtocolErrors(t *testing.T) {
	for name, answer := range map[string]string{
		"masked frame":           "\x81\x82\x00\x00\x00\x00" + "4x",
		"unexpected packet":      "\x81\x025x",
		"continuation first":     "\x80\x024x",
		"unknown opcode":         "\x83\x00",
		"a message in a message": "\x01\x024x\x81\x024x",
	} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				accept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n\x81\x0d" + `0{"sid":"ab"}`))
			var b [64]byte
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
			_, _ = conn.Write([]byte(answer))
			for {
				if _, err := conn.Read(b[:]); err != nil {
					return
				}
			}
		}))
		l := leanDial(t, ts.URL, 64)
		var st clientStats
		if _, _, err := l.echo([]byte("x"), false, &st); classify(err) != errProtocol {
			t.Errorf("%s: %v, want a protocol error", name, err)
		}
		l.close()
		ts.Close()
	}
}

// -ws takes gorilla (the default) and lean, and nothing else.
func TestWSFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		lean bool
		ok   bool
	}{
		{nil, false, true},
		{[]string{"-ws", "lean"}, true, true},
		{[]string{"-ws", "gorilla"}, false, true},
		{[]string{"-ws", "fast"}, false, false},
	} {
		cfg, err := parseFlags(c.args)
		switch {
		case !c.ok && err == nil:
			t.Errorf("%q: taken, want an error", c.args)
		case c.ok && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.ok && cfg.leanWS != c.lean:
			t.Errorf("%q: lean %v, want %v", c.args, cfg.leanWS, c.lean)
		}
	}
}

// A client frame's payload is masked with the key in its header, never a
// zero key, and unmasks to what was given (RFC 6455 5.3).
func TestAppendClientFrame(t *testing.T) {
	for _, n := range []int{0, 1, 7, 8, 9, 124, 125, 126, 1000, 65535, 65536, 70000} {
		data := newPayloadGen(n, n, true).next(1)
		f := appendClientFrame([]byte("x"), 0x2, 0, data)[1:]
		size, ok := frameSize(append([]byte{f[0], f[1] &^ 0x80}, f[2:]...))
		if !ok || f[0] != 0x82 || f[1]&0x80 == 0 || size+4 != len(f) {
			t.Fatalf("%d B: a frame of %d bytes, header % x (size %d, %v)", n, len(f), f[:min(len(f), 10)], size, ok)
		}
		hdr := len(f) - n - 4
		key := f[hdr : hdr+4]
		if bytes.Equal(key, []byte{0, 0, 0, 0}) {
			t.Fatalf("%d B: a zero mask key", n)
		}
		payload := bytes.Clone(f[hdr+4:])
		for i := range payload {
			payload[i] ^= key[i%4]
		}
		if !bytes.Equal(payload, data) {
			t.Fatalf("%d B: the payload does not unmask to the data", n)
		}
	}
	f := appendClientFrame(nil, 0x1, packetMessage, []byte("hi"))
	if f[0] != 0x81 || f[1] != 0x83 {
		t.Fatalf("a text frame's header % x", f[:2])
	}
	for i, c := range f[6:] {
		f[6+i] = c ^ f[2+i%4]
	}
	if string(f[6:]) != "4hi" {
		t.Fatalf("a text frame's payload %q, want 4hi", f[6:])
	}
}

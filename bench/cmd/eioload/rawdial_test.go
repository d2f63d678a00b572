package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eioactor/engineio"
)

// rawDialer opens and closes sessions on our server, which sees each one
// open and close; it refuses a response that is not an upgrade, a wrong
// Sec-WebSocket-Accept, and a first frame that is not an open packet.
func TestRawDialer(t *testing.T) {
	srv, err := engineio.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	closed := make(chan string, 10)
	srv.OnDisconnect(func(s *engineio.Session, _ engineio.Reason) { closed <- s.ID() })
	ts := httptest.NewServer(srv)
	defer ts.Close()

	d := newRawDialer(&config{url: mustURL(t, ts.URL+"/engine.io/"), timeout: 5 * time.Second})
	for range 3 {
		s, err := d.dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s.close()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not see the session close")
		}
	}

	for name, handler := range map[string]http.HandlerFunc{
		"no upgrade": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadRequest) },
		"wrong accept": func(w http.ResponseWriter, r *http.Request) {
			rawUpgrade(t, w, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "\x81\x0d"+`0{"sid":"ab"}`)
		},
		"no open packet": func(w http.ResponseWriter, r *http.Request) {
			rawUpgrade(t, w, accept(r.Header.Get("Sec-WebSocket-Key")), "\x81\x014")
		},
		// 2,047 bytes of head: the buffer is full with one byte of the frame.
		"a head that fills the buffer": func(w http.ResponseWriter, r *http.Request) {
			rawUpgrade(t, w, accept(r.Header.Get("Sec-WebSocket-Key"))+"\r\nX-Pad: "+strings.Repeat("x", 1909), "\x81\x0d"+`0{"sid":"ab"}`)
		},
		"binary frame": func(w http.ResponseWriter, r *http.Request) {
			rawUpgrade(t, w, accept(r.Header.Get("Sec-WebSocket-Key")), "\x82\x0d"+`0{"sid":"ab"}`)
		},
	} {
		bad := httptest.NewServer(handler)
		d := newRawDialer(&config{url: mustURL(t, bad.URL+"/engine.io/"), timeout: 5 * time.Second})
		if _, err := d.dial(context.Background()); err == nil {
			t.Errorf("%s: the handshake was taken", name)
		}
		bad.Close()
	}

	// The same server answering correctly is taken.
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rawUpgrade(t, w, accept(r.Header.Get("Sec-WebSocket-Key")), "\x81\x0d"+`0{"sid":"ab"}`)
	}))
	defer good.Close()
	s, err := newRawDialer(&config{url: mustURL(t, good.URL+"/engine.io/"), timeout: 5 * time.Second}).dial(context.Background())
	if err != nil {
		t.Fatalf("a correct handshake: %v", err)
	}
	s.close()
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func accept(key string) string {
	a := acceptKey([]byte(key))
	return string(a[:])
}

// rawUpgrade answers with a 101 carrying acceptKey, then frame, and holds
// the connection until the client closes it.
func rawUpgrade(t *testing.T, w http.ResponseWriter, acceptKey, frame string) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey + "\r\n\r\n" + frame))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [64]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			return
		}
	}
}

// A session that waits for the server's close frame returns only once it
// has it, skipping the frames before it; one that drops the connection
// returns without it.
func TestRawSessionClose(t *testing.T) {
	for _, wait := range []bool{true, false} {
		client, server := net.Pipe()
		var sent atomic.Bool
		release := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			var b [8]byte
			if _, err := io.ReadFull(server, b[:]); err != nil || !bytes.Equal(b[:], closeFrame) {
				t.Errorf("the client's close frame: % x, %v", b, err)
				return
			}
			if !wait {
				<-release
			}
			// A ping of 130 bytes (a 16-bit length), then the close
			// frame, its header split over two writes.
			ping := append([]byte{0x89, 126, 0, 130}, make([]byte, 130)...)
			_, _ = server.Write(append(ping, 0x88))
			sent.Store(true)
			_, _ = server.Write([]byte{0x02, 0x03, 0xe8})
		}()
		(&rawSession{conn: client, awaitClose: wait}).close()
		if got := sent.Load(); got != wait {
			t.Errorf("wait %v: the server had sent its close frame when close returned: %v", wait, got)
		}
		close(release)
		<-done
	}
}

func TestFrameSize(t *testing.T) {
	for _, c := range []struct {
		head []byte
		size int
		ok   bool
	}{
		{[]byte{0x88}, 0, false},
		{[]byte{0x88, 0x02}, 4, true},
		{[]byte{0x82, 125}, 127, true},
		{[]byte{0x82, 126, 1}, 0, false},
		{[]byte{0x82, 126, 1, 0}, 260, true},
		{[]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0}, 0, false},
		{[]byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 65546, true},
	} {
		size, ok := frameSize(c.head)
		if size != c.size || ok != c.ok {
			t.Errorf("frameSize(% x) = %d, %v; want %d, %v", c.head, size, ok, c.size, c.ok)
		}
	}
}

// -close waits by default, takes drop, and refuses anything else.
func TestCloseFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" for an error
	}{
		{nil, "wait"},
		{[]string{"-close", "drop"}, "drop"},
		{[]string{"-close", "wait"}, "wait"},
		{[]string{"-close", "linger"}, ""},
	} {
		cfg, err := parseFlags(append([]string{"-connect-only"}, c.args...))
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%q: taken, want an error", c.args)
		case c.want != "" && err != nil:
			t.Errorf("%q: %v", c.args, err)
		case c.want != "" && cfg.closeMode != c.want:
			t.Errorf("%q: close mode %q, want %q", c.args, cfg.closeMode, c.want)
		}
	}
	// The mode reaches the sessions the dialer opens.
	for mode, want := range map[string]bool{"wait": true, "drop": false} {
		d := newRawDialer(&config{url: mustURL(t, "http://127.0.0.1:1/engine.io/"), closeMode: mode})
		if d.awaitClose != want {
			t.Errorf("-close %s: awaitClose %v", mode, d.awaitClose)
		}
	}
}

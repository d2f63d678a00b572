package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

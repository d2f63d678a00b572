package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eioactor/engineio"
)

// serveEngine serves srv on a loopback port until the test ends, and
// returns its engine's URL.
func serveEngine(t *testing.T, srv *engineio.Server) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	u, _ := url.Parse("http://" + ln.Addr().String() + "/engine.io/")
	return u
}

// An idle polling client sends each pong beside its next long-poll, as
// engine.io-client does, on connections of its own: its polls keep one,
// and each pong takes another, which the server closes after the pong
// (its next POST is a ping interval away).
func TestIdlePollingClientPongsBesideItsPoll(t *testing.T) {
	var conns atomic.Int32
	srv, err := engineio.NewServer(
		engineio.WithPingInterval(100*time.Millisecond),
		engineio.WithPingTimeout(time.Second),
		engineio.WithHTTPServer(&http.Server{ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	u := serveEngine(t, srv)
	d := newPollDialer(&config{url: u, transport: "polling", mode: "idle", clients: 1, timeout: 5 * time.Second, idleGet: true})
	s, err := d.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var st clientStats
	if err := s.hold(time.Now().Add(time.Second), &st); err != nil {
		t.Fatal(err)
	}
	n := conns.Load() // the close packet may need a new one: the last poll's is cancelled
	s.close()
	if st.pings < 5 {
		t.Errorf("%d pings answered in 1 s at a 100 ms interval; want at least 5", st.pings)
	}
	if want := 1 + int32(st.pings); n != want {
		t.Errorf("the client opened %d connections for %d pongs; want %d: one for its polls, one per pong", n, st.pings, want)
	}
}

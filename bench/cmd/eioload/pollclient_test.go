package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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

// A ping that comes just before the end of a hold is answered before the
// client cancels its last poll. Servers that end a session whose poll was
// aborted (ours and the reference do) would otherwise refuse the pong, as
// for an unknown session, and the run would count an error of its own
// making. Here the pong takes 200 ms and the hold ends 50 ms in.
func TestIdlePollingAnswersLastPingBeforeItEnds(t *testing.T) {
	var polls atomic.Int32
	var aborted atomic.Bool
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("sid") == "":
			_, _ = io.WriteString(w, `0{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
		case r.Method == http.MethodGet:
			if polls.Add(1) == 1 {
				_, _ = io.WriteString(w, "2") // a ping, at once
				return
			}
			<-r.Context().Done() // held until the client gives up on it
			aborted.Store(true)
		case r.Method == http.MethodPost:
			time.Sleep(200 * time.Millisecond)
			if aborted.Load() {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"code":1,"message":"Session ID unknown"}`)
				return
			}
			_, _ = io.WriteString(w, "ok")
		}
	}))
	defer ts.Close()
	u, _ := url.Parse(ts.URL + "/engine.io/")
	d := newPollDialer(&config{url: u, transport: "polling", mode: "idle", clients: 1, timeout: 5 * time.Second, idleGet: true})
	s, err := d.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.(*pollSession).dropConnections()
	var st clientStats
	if err := s.hold(time.Now().Add(50*time.Millisecond), &st); err != nil {
		t.Fatalf("hold: %v", err)
	}
	if st.pings != 1 {
		t.Errorf("%d pings answered, want 1", st.pings)
	}
	// The server sees the cancelled poll a moment later.
	for deadline := time.Now().Add(5 * time.Second); !aborted.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the last poll was not cancelled at the end of the hold")
		}
	}
}

package engineio_test

// Graceful drain for rolling deploys: Server.Shutdown(ctx) with
// WithShutdownMessage. New handshakes are refused with 503 at once; every
// client, WebSocket or live long-polling, gets what was sent to it before
// the shutdown, then the shutdown message, then the close packet; a client
// that stopped polling is dropped at ctx's deadline; nothing is left
// running afterwards.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/eioactor/engineio"
)

// sdServer is a server with a shutdown message, on an httptest server, and
// an HTTP client of its own (closed with it, for the leak check).
type sdServer struct {
	srv     *engineio.Server
	ts      *httptest.Server
	client  *http.Client
	base    string // http://host/engine.io/?EIO=4
	reasons sync.Map
}

func newSDServer(t *testing.T) *sdServer {
	t.Helper()
	srv, err := engineio.NewServer(engineio.WithShutdownMessage("bye"))
	if err != nil {
		t.Fatal(err)
	}
	s := &sdServer{srv: srv, client: &http.Client{Transport: &http.Transport{}}}
	srv.OnDisconnect(func(sess *engineio.Session, reason engineio.Reason) { s.reasonsOf(sess.ID()) <- reason })
	s.ts = httptest.NewServer(srv)
	s.base = s.ts.URL + "/engine.io/?EIO=4"
	t.Cleanup(func() { // for a test that stopped early; a no-op otherwise
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		s.close()
	})
	return s
}

func (s *sdServer) reasonsOf(sid string) chan engineio.Reason {
	ch, _ := s.reasons.LoadOrStore(sid, make(chan engineio.Reason, 1))
	return ch.(chan engineio.Reason)
}

// close stops what Shutdown leaves: the HTTP server and the client's
// connections.
func (s *sdServer) close() {
	s.ts.Close()
	s.client.CloseIdleConnections()
}

func (s *sdServer) do(method, query, body string) (int, http.Header, string, error) {
	req, err := http.NewRequest(method, s.base+query, strings.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b), err
}

func (s *sdServer) handshake(t *testing.T) string {
	t.Helper()
	status, _, body, err := s.do(http.MethodGet, "&transport=polling", "")
	const prefix = `0{"sid":"`
	if err != nil || status != http.StatusOK || !strings.HasPrefix(body, prefix) {
		t.Fatalf("handshake: %d %q %v", status, body, err)
	}
	return strings.SplitN(body[len(prefix):], `"`, 2)[0]
}

func (s *sdServer) dial(t *testing.T) (*websocket.Conn, string) {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, open, err := c.ReadMessage()
	const prefix = `0{"sid":"`
	if err != nil || !strings.HasPrefix(string(open), prefix) {
		t.Fatalf("open frame %q, %v", open, err)
	}
	return c, strings.SplitN(string(open[len(prefix):]), `"`, 2)[0]
}

// expectRefused asserts that a new session, over polling and over
// WebSocket, is refused with 503 and the JSON error body.
func (s *sdServer) expectRefused(t *testing.T, when string) {
	t.Helper()
	status, hdr, body, err := s.do(http.MethodGet, "&transport=polling", "")
	if err != nil {
		t.Fatalf("%s: handshake: %v", when, err)
	}
	var e struct {
		Code    *int    `json:"code"`
		Message *string `json:"message"`
	}
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") ||
		json.Unmarshal([]byte(body), &e) != nil || e.Code == nil || e.Message == nil || *e.Message == "" {
		t.Errorf("%s: handshake answered %d %q (%s), want 503 with a JSON error body", when, status, body, hdr.Get("Content-Type"))
	}
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"&transport=websocket", nil)
	if err == nil {
		_ = c.Close()
		t.Errorf("%s: a WebSocket handshake succeeded", when)
		return
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: WebSocket handshake: %v, want 503", when, err)
	}
}

// sdPoller is a live long-polling client: it polls again as soon as a poll
// returns, answers pings, and stops at the close packet or an error.
type sdPoller struct {
	packets []string // every packet received but pings, in order
	err     error
	done    chan struct{}
}

func (s *sdServer) poll(sid string) *sdPoller {
	p := &sdPoller{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			status, _, body, err := s.do(http.MethodGet, "&transport=polling&sid="+sid, "")
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("GET answered %d %s", status, body)
			}
			if err != nil {
				p.err = err
				return
			}
			for _, pkt := range strings.Split(body, "\x1e") {
				if pkt == "2" {
					if status, _, body, err := s.do(http.MethodPost, "&transport=polling&sid="+sid, "3"); err != nil || status != http.StatusOK {
						p.err = fmt.Errorf("pong: %d %s %v", status, body, err)
						return
					}
					continue
				}
				p.packets = append(p.packets, pkt)
				if pkt == "1" {
					return
				}
			}
		}
	}()
	return p
}

// sdReadAll reads text frames until the connection ends.
func sdReadAll(c *websocket.Conn) (frames []string, err error) {
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			return frames, err
		}
		frames = append(frames, string(b))
	}
}

// sdExpectSequence compares received packets with want and describes the
// first difference.
func sdExpectSequence(t *testing.T, who string, got, want []string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			last := "nothing"
			if len(got) > 0 {
				last = fmt.Sprintf("%q", got[len(got)-1])
			}
			t.Errorf("%s: packet %d is %q, want %q (%d packets received, the last %s; %d expected)", who, i, g, w, len(got), last, len(want))
			return
		}
	}
}

func (s *sdServer) expectReason(t *testing.T, who, sid string, want engineio.Reason) {
	t.Helper()
	select {
	case r := <-s.reasonsOf(sid):
		if r != want {
			t.Errorf("%s: disconnect reason %q, want %q", who, r, want)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s: no disconnect", who)
	}
}

// A WebSocket client and a live polling client each get the 1000 messages
// sent to them right before Shutdown, then "bye", then the close packet;
// Shutdown returns nil once they have; new sessions are refused; nothing
// is left running.
func TestShutdownDrainsEveryClient(t *testing.T) {
	// Not parallel: goleak looks at every goroutine of the process.
	ignore := goleak.IgnoreCurrent()
	s := newSDServer(t)
	ws, wsSID := s.dial(t)
	defer ws.Close()
	pollSID := s.handshake(t)
	p := s.poll(pollSID)

	const n = 1000
	want := make([]string, 0, n+2)
	for i := range n {
		text := fmt.Sprintf("message %d", i)
		for _, sid := range []string{wsSID, pollSID} {
			if err := s.srv.Send(sid, text); err != nil {
				t.Fatalf("Send %d to %s: %v", i, sid, err)
			}
		}
		want = append(want, "4"+text)
	}
	want = append(want, "4bye", "1")

	// Live clients take milliseconds; the deadline is only a safety net.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	err := s.srv.Shutdown(ctx)
	took := time.Since(start)
	if err != nil {
		t.Errorf("Shutdown: %v after %v, want nil: every client was live", err, took)
	}
	if took > time.Second {
		t.Errorf("Shutdown took %v with every client live", took)
	}
	s.expectRefused(t, "after Shutdown")

	frames, err := sdReadAll(ws)
	sdExpectSequence(t, "WebSocket client", frames, want)
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("WebSocket client: the connection ended with %v, want a normal close frame", err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("polling client: still polling")
	}
	if p.err != nil {
		t.Errorf("polling client: %v", p.err)
	}
	sdExpectSequence(t, "polling client", p.packets, want)
	s.expectReason(t, "WebSocket client", wsSID, engineio.ReasonServerShutdown)
	s.expectReason(t, "polling client", pollSID, engineio.ReasonServerShutdown)

	_ = ws.Close()
	s.close()
	goleak.VerifyNone(t, ignore)
}

// A polling client that never polls again holds the shutdown up to ctx's
// deadline, not the 30 s close timeout: then it is dropped, and Shutdown
// says so with ctx's error. Meanwhile new sessions are refused and a live
// WebSocket client drains as usual.
func TestShutdownDeadlineDropsSilentPoller(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := newSDServer(t)
	silent := s.handshake(t) // and never a GET
	if err := s.srv.Send(silent, "never delivered"); err != nil {
		t.Fatal(err)
	}
	ws, wsSID := s.dial(t)
	defer ws.Close()
	if err := s.srv.Send(wsSID, "last"); err != nil {
		t.Fatal(err)
	}

	const deadline = 800 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	result := make(chan error, 1)
	go func() { result <- s.srv.Shutdown(ctx) }()

	frames, _ := sdReadAll(ws)
	sdExpectSequence(t, "WebSocket client", frames, []string{"4last", "4bye", "1"})
	s.expectReason(t, "WebSocket client", wsSID, engineio.ReasonServerShutdown)
	// The silent session still holds the shutdown.
	select {
	case err := <-result:
		t.Fatalf("Shutdown returned %v after %v, before the silent client was dropped", err, time.Since(start))
	default:
	}
	s.expectRefused(t, "during Shutdown")

	var err error
	select {
	case err = <-result:
	case <-time.After(5 * time.Second):
		t.Fatalf("Shutdown still running %v after its deadline", 5*time.Second)
	}
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v after %v, want ctx's error (context.DeadlineExceeded): the silent client never got its messages", err, took)
	}
	if took > deadline+time.Second {
		t.Errorf("Shutdown took %v, deadline %v", took, deadline)
	}
	s.expectReason(t, "silent polling client", silent, engineio.ReasonServerShutdown)
	if sids := s.srv.Sessions(); len(sids) != 0 {
		t.Errorf("sessions left after Shutdown: %v", sids)
	}
	s.expectRefused(t, "after Shutdown")

	_ = ws.Close()
	s.close()
	goleak.VerifyNone(t, ignore)
}

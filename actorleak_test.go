package engineio_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
)

// A session that has closed is garbage: nothing in the server, nor in the
// actor system under it, keeps it or what the application hung on it. The
// supervisor's set of children (protoactor's PIDSet) shrinks by cutting
// its slice, and so kept the last PID of every length it had, with the
// process that the PID had cached: after a burst, every closed session of
// the burst stayed reachable until new sessions took its slot.
func TestClosedSessionsAreCollected(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(t.Context())
	var collected atomic.Int32
	srv.OnConnect(func(s *engineio.Session) error {
		runtime.AddCleanup(s, func(int) { collected.Add(1) }, 0)
		return nil
	})
	const n = 200
	var urls []string
	for range n {
		code, open := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
		i := strings.Index(open, `"sid":"`)
		if code != http.StatusOK || i < 0 {
			t.Fatalf("handshake: %d %q", code, open)
		}
		sid := open[i+len(`"sid":"`):]
		urls = append(urls, ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid[:strings.IndexByte(sid, '"')])
	}
	for _, u := range urls {
		res, err := http.Post(u, "text/plain;charset=UTF-8", strings.NewReader("1"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Sessions()) > 0 || collected.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left, %d of the %d closed ones collected", len(srv.Sessions()), collected.Load(), n)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// Clients that misbehave in every way the test can think of, many at once,
// leave nothing behind once their sessions have closed: each session is
// collected, with what the application hung on it, and the package's leak
// check finds no goroutine after Close. The sessions close by the client,
// by the ping timeout, or by a transport error.
func TestAbusiveClientsLeaveNothingBehind(t *testing.T) {
	t.Run("Serve", func(t *testing.T) { abuseServer(t, true) })
	t.Run("http.Server", func(t *testing.T) { abuseServer(t, false) })
}

// abuseServer runs TestAbusiveClientsLeaveNothingBehind on a server that
// Serve serves, or that an http.Server does (net/http reads the requests,
// and the server hijacks connections for held polls and WebSockets).
func abuseServer(t *testing.T, serve bool) {
	srv, ts := newEcho(t, engineio.WithPingInterval(100*time.Millisecond), engineio.WithPingTimeout(100*time.Millisecond), engineio.WithAllowEIO3(true))
	var connected, collected atomic.Int32
	srv.OnConnect(func(s *engineio.Session) error {
		connected.Add(1)
		runtime.AddCleanup(s, func(int) { collected.Add(1) }, 0)
		return nil
	})
	addr := ts.Listener.Addr().String()
	served := make(chan error, 1)
	if serve {
		ts.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { served <- srv.Serve(ln) }()
		addr = ln.Addr().String()
	} else {
		defer ts.Close()
	}
	base := "http://" + addr + "/engine.io/?EIO=4"
	wsBase := "ws://" + addr + "/engine.io/?EIO=4&transport=websocket"

	abuse := func(rng *rand.Rand, client *http.Client) {
		do := func(method, url, body string) string {
			req, _ := http.NewRequest(method, url, strings.NewReader(body))
			if strings.HasPrefix(body, "d=") {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // JSONP's form
			} else if body != "" {
				req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			}
			res, err := client.Do(req)
			if err != nil {
				return ""
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return string(b)
		}
		handshake := func() string {
			open := do(http.MethodGet, base+"&transport=polling", "")
			i := strings.Index(open, `"sid":"`)
			if i < 0 {
				return ""
			}
			sid := open[i+len(`"sid":"`):]
			return sid[:strings.IndexByte(sid, '"')]
		}
		raw := func(req string, cut int) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, req[:min(cut, len(req))])
			if rng.IntN(2) == 0 {
				_ = c.(*net.TCPConn).SetLinger(0) // a reset, not a FIN
			}
			c.Close()
		}
		switch rng.IntN(7) {
		case 0: // messages both ways, then maybe a close
			if sid := handshake(); sid != "" {
				u := base + "&transport=polling&sid=" + sid
				do(http.MethodPost, u, "4hello\x1e4world")
				do(http.MethodGet, u, "")
				if rng.IntN(2) == 0 {
					do(http.MethodPost, u, "1")
				}
			}
		case 1: // a poll given up on while it is held
			if sid := handshake(); sid != "" {
				impatient := &http.Client{Timeout: time.Duration(rng.IntN(30)+1) * time.Millisecond, Transport: client.Transport}
				if res, err := impatient.Get(base + "&transport=polling&sid=" + sid); err == nil {
					res.Body.Close()
				}
			}
		case 2: // a POST cut anywhere
			sid := handshake()
			body := "4" + strings.Repeat("z", rng.IntN(3000))
			req := fmt.Sprintf("POST /engine.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", sid, len(body), body)
			raw(req, rng.IntN(len(req)+1))
		case 3: // a WebSocket that echoes, then drops or resets
			ws, _, err := websocket.DefaultDialer.Dial(wsBase, nil)
			if err != nil {
				return
			}
			_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, _, _ = ws.ReadMessage()
			for range rng.IntN(4) {
				_ = ws.WriteMessage(websocket.TextMessage, []byte("4x"))
				_, _, _ = ws.ReadMessage()
			}
			if rng.IntN(2) == 0 {
				_ = ws.UnderlyingConn().(*net.TCPConn).SetLinger(0)
			}
			ws.Close()
		case 4: // a frame cut short
			ws, _, err := websocket.DefaultDialer.Dial(wsBase, nil)
			if err != nil {
				return
			}
			_, _ = ws.UnderlyingConn().Write([]byte{0x81, 0xfe, 0x10, 0x00, 1, 2, 3, 4, 'a'})
			ws.Close()
		case 6: // revision 3: base64 or JSONP polling, a message, then gone
			v3 := "http://" + addr + "/engine.io/?EIO=3&transport=polling"
			if rng.IntN(2) == 0 {
				v3 += "&b64=1"
			} else {
				v3 += "&j=0"
			}
			open := do(http.MethodGet, v3, "")
			i := strings.Index(open, `"sid":"`)
			if i < 0 {
				i = strings.Index(open, `\"sid\":\"`) // inside JSONP's string
				if i < 0 {
					return
				}
				open = strings.ReplaceAll(open[i:], `\"`, `"`)
				i = 0
			}
			sid := open[i+len(`"sid":"`):]
			u := v3 + "&sid=" + sid[:strings.IndexByte(sid, '"')]
			if strings.Contains(v3, "j=0") {
				do(http.MethodPost, u, "d=6%3A4hello")
			} else {
				do(http.MethodPost, u, "6:4hello")
			}
			if rng.IntN(2) == 0 {
				do(http.MethodGet, u, "")
			}
		case 5: // an upgrade begun, finished or not, then dropped
			sid := handshake()
			if sid == "" {
				return
			}
			ws, _, err := websocket.DefaultDialer.Dial(wsBase+"&sid="+sid, nil)
			if err != nil {
				return
			}
			_ = ws.WriteMessage(websocket.TextMessage, []byte("2probe"))
			_ = ws.SetReadDeadline(time.Now().Add(time.Second))
			_, _, _ = ws.ReadMessage()
			if rng.IntN(2) == 0 {
				_ = ws.WriteMessage(websocket.TextMessage, []byte("5"))
			}
			ws.Close()
		}
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Second)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			transport := &http.Transport{MaxConnsPerHost: 2}
			defer transport.CloseIdleConnections()
			client := &http.Client{Timeout: 2 * time.Second, Transport: transport}
			for time.Now().Before(stop) {
				abuse(rng, client)
			}
		}()
	}
	wg.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Sessions()) > 0 || collected.Load() < connected.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open; %d of the %d closed ones collected", len(srv.Sessions()), collected.Load(), connected.Load())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if connected.Load() < 100 {
		t.Errorf("only %d sessions opened: the clients did little", connected.Load())
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if serve {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
	}
}

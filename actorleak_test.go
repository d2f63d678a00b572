package engineio_test

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

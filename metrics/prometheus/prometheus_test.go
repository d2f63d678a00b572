package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/eioactor/engineio"
	eioprom "github.com/eioactor/engineio/metrics/prometheus"
)

const within = 5 * time.Second

// promServer is an echo server reporting to a Recorder, reached over raw
// HTTP and raw WebSocket.
type promServer struct {
	t    *testing.T
	srv  *engineio.Server
	ts   *httptest.Server
	base string
}

func newPromServer(t *testing.T, rec *eioprom.Recorder) *promServer {
	t.Helper()
	srv, err := engineio.NewServer(engineio.WithMetrics(rec), engineio.WithPingInterval(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) { _ = s.Send(msg.Text()) })
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		ts.Close()
	})
	return &promServer{t: t, srv: srv, ts: ts, base: ts.URL + "/engine.io/?EIO=4"}
}

func (p *promServer) do(method, query, body string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+query, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// handshake opens a polling session and returns its sid.
func (p *promServer) handshake() string {
	p.t.Helper()
	status, body := p.do(http.MethodGet, "&transport=polling", "")
	const prefix = `0{"sid":"`
	if status != http.StatusOK || !strings.HasPrefix(body, prefix) {
		p.t.Fatalf("handshake: %d %q", status, body)
	}
	return strings.SplitN(body[len(prefix):], `"`, 2)[0]
}

func (p *promServer) expect(method, query, body string, wantStatus int, wantBody string) {
	p.t.Helper()
	if status, got := p.do(method, query, body); status != wantStatus || got != wantBody {
		p.t.Fatalf("%s %s: %d %q, want %d %q", method, query, status, got, wantStatus, wantBody)
	}
}

func (p *promServer) dial(query string) *websocket.Conn {
	p.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(p.base, "http")+query, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = c.Close() })
	return c
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func expectText(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	if got := readText(t, c); got != want {
		t.Fatalf("frame %q, want %q", got, want)
	}
}

func write(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// eventually retries check until it returns nil: the sessions report from
// their own actors, a moment after the client has seen the effect.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A real server driven over polling, WebSocket and an upgrade, with a bad
// upgrade and an unknown sid: every metric says what happened.
func TestRecorderWithServer(t *testing.T) {
	rec := eioprom.New(eioprom.Options{})
	p := newPromServer(t, rec)

	// A: polling, a message and its echo.
	a := p.handshake()
	p.expect(http.MethodPost, "&transport=polling&sid="+a, "4hello", http.StatusOK, "ok")
	p.expect(http.MethodGet, "&transport=polling&sid="+a, "", http.StatusOK, "4hello")

	// B: WebSocket from the start.
	b := p.dial("&transport=websocket")
	open := readText(t, b)
	write(t, b, "4hi")
	expectText(t, b, "4hi")

	// A upgrades, then talks over WebSocket.
	up := p.dial("&transport=websocket&sid=" + a)
	write(t, up, "2probe")
	expectText(t, up, "3probe")
	write(t, up, "5")
	write(t, up, "4up")
	expectText(t, up, "4up")

	// C: an upgrade that fails (a message on the probe), then C closes.
	c := p.handshake()
	probe := p.dial("&transport=websocket&sid=" + c)
	write(t, probe, "4bad")
	_ = probe.SetReadDeadline(time.Now().Add(within))
	if _, _, err := probe.ReadMessage(); err == nil {
		t.Fatal("the bad probe stays open")
	}

	// An unknown sid.
	p.expect(http.MethodGet, "&transport=polling&sid=nope", "", http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)

	// Closes: B and C by the client, A by its WebSocket going away.
	write(t, b, "1")
	p.expect(http.MethodPost, "&transport=polling&sid="+c, "1", http.StatusOK, "ok")
	_ = up.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(within))

	want := `
# HELP engineio_sessions Open Engine.IO sessions, by current transport.
# TYPE engineio_sessions gauge
engineio_sessions{transport="polling"} 0
engineio_sessions{transport="websocket"} 0
# HELP engineio_handshakes_total Engine.IO sessions opened, by transport of the handshake.
# TYPE engineio_handshakes_total counter
engineio_handshakes_total{transport="polling"} 2
engineio_handshakes_total{transport="websocket"} 1
# HELP engineio_upgrades_total Engine.IO sessions upgraded from polling to WebSocket.
# TYPE engineio_upgrades_total counter
engineio_upgrades_total 1
# HELP engineio_upgrade_failures_total Engine.IO upgrades abandoned: a bad probe, a timeout or a probing WebSocket that closed.
# TYPE engineio_upgrade_failures_total counter
engineio_upgrade_failures_total 1
# HELP engineio_closes_total Engine.IO sessions closed, by reason.
# TYPE engineio_closes_total counter
engineio_closes_total{reason="client close"} 2
engineio_closes_total{reason="transport close"} 1
# HELP engineio_http_errors_total Engine.IO error responses, by HTTP status and Engine.IO error code.
# TYPE engineio_http_errors_total counter
engineio_http_errors_total{code="1",status="400"} 1
# HELP engineio_packets_total Engine.IO packets received (in) and handed to the transport (out).
# TYPE engineio_packets_total counter
engineio_packets_total{direction="in",transport="polling"} 2
engineio_packets_total{direction="in",transport="websocket"} 3
engineio_packets_total{direction="out",transport="polling"} 1
engineio_packets_total{direction="out",transport="websocket"} 3
# HELP engineio_queued_packets Packets waiting in the outbound queues of all sessions.
# TYPE engineio_queued_packets gauge
engineio_queued_packets 0
# HELP engineio_queued_bytes Payload bytes waiting in the outbound queues of all sessions.
# TYPE engineio_queued_bytes gauge
engineio_queued_bytes 0
`
	eventually(t, func() error {
		return testutil.CollectAndCompare(rec, strings.NewReader(want),
			"engineio_sessions", "engineio_handshakes_total", "engineio_upgrades_total",
			"engineio_upgrade_failures_total", "engineio_closes_total", "engineio_http_errors_total",
			"engineio_packets_total", "engineio_queued_packets", "engineio_queued_bytes")
	})

	// The open packet of a WebSocket session is handed to the transport
	// with its payload: the bytes count it too.
	openBytes := len(open) - 1 // without the type digit
	want = fmt.Sprintf(`
# HELP engineio_bytes_total Payload bytes of Engine.IO packets received (in) and handed to the transport (out).
# TYPE engineio_bytes_total counter
engineio_bytes_total{direction="in",transport="polling"} 5
engineio_bytes_total{direction="in",transport="websocket"} 4
engineio_bytes_total{direction="out",transport="polling"} 5
engineio_bytes_total{direction="out",transport="websocket"} %d
`, openBytes+len("hi")+len("up"))
	if err := testutil.CollectAndCompare(rec, strings.NewReader(want), "engineio_bytes_total"); err != nil {
		t.Errorf("the open packet's %d bytes: %v", openBytes, err)
	}

	problems, err := testutil.CollectAndLint(rec)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// The namespace, subsystem and constant labels apply to every metric, and
// two recorders live side by side on one registry.
func TestRecorderOptions(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := eioprom.New(eioprom.Options{Namespace: "chat", Subsystem: "eio", ConstLabels: prometheus.Labels{"server": "a"}})
	b := eioprom.New(eioprom.Options{Namespace: "chat", Subsystem: "eio", ConstLabels: prometheus.Labels{"server": "b"}})
	reg.MustRegister(a, b)
	a.SessionOpened("polling")
	a.HTTPError(403, 4)
	b.QueueChanged(3, 30)

	want := `
# HELP chat_eio_handshakes_total Engine.IO sessions opened, by transport of the handshake.
# TYPE chat_eio_handshakes_total counter
chat_eio_handshakes_total{server="a",transport="polling"} 1
chat_eio_handshakes_total{server="a",transport="websocket"} 0
chat_eio_handshakes_total{server="b",transport="polling"} 0
chat_eio_handshakes_total{server="b",transport="websocket"} 0
# HELP chat_eio_http_errors_total Engine.IO error responses, by HTTP status and Engine.IO error code.
# TYPE chat_eio_http_errors_total counter
chat_eio_http_errors_total{code="4",server="a",status="403"} 1
# HELP chat_eio_queued_bytes Payload bytes waiting in the outbound queues of all sessions.
# TYPE chat_eio_queued_bytes gauge
chat_eio_queued_bytes{server="a"} 0
chat_eio_queued_bytes{server="b"} 30
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"chat_eio_handshakes_total", "chat_eio_http_errors_total", "chat_eio_queued_bytes"); err != nil {
		t.Fatal(err)
	}
	// 10 families; the fixed label sets are exported from the start.
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 2*(2+2+1+1+0+0+4+4+1+1)+1 {
		t.Fatalf("%d metrics, %v", n, err)
	}
	// Nothing went to the global registry.
	if n, err := testutil.GatherAndCount(prometheus.DefaultGatherer, "engineio_sessions", "chat_eio_sessions"); err != nil || n != 0 {
		t.Fatalf("default registry: %d metrics, %v", n, err)
	}
}

// The hot paths do not allocate: their label children are resolved once.
func TestRecorderHotPathsDoNotAllocate(t *testing.T) {
	rec := eioprom.New(eioprom.Options{})
	for name, f := range map[string]func(){
		"PacketsIn":     func() { rec.PacketsIn("websocket", 1, 64) },
		"PacketsOut":    func() { rec.PacketsOut("polling", 2, 128) },
		"QueueChanged":  func() { rec.QueueChanged(1, 64) },
		"SessionOpened": func() { rec.SessionOpened("websocket") },
		"Upgraded":      func() { rec.SessionUpgraded() },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

func BenchmarkRecorder(b *testing.B) {
	rec := eioprom.New(eioprom.Options{})
	b.Run("PacketsOut", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec.PacketsOut("websocket", 4, 256)
			}
		})
	})
	b.Run("QueueChanged", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec.QueueChanged(1, 64)
			}
		})
	})
}

package engineio_test

// WithMetrics against a real server: polling, WebSocket, an upgrade, a
// failed upgrade, errors and closes, each seen in an in-memory
// metrics.Counters. The client speaks the wire protocol itself (plain
// net/http and gorilla/websocket).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/metrics"
)

// mtServer is an echo server that reports to counters.
type mtServer struct {
	t        *testing.T
	srv      *engineio.Server
	ts       *httptest.Server
	counters *metrics.Counters
	base     string // http://host/engine.io/?EIO=4
}

func newMTServer(t *testing.T) *mtServer {
	t.Helper()
	m := &mtServer{t: t, counters: &metrics.Counters{}}
	srv, err := engineio.NewServer(
		engineio.WithMetrics(m.counters),
		// No heartbeat during the test: every packet is one the test sent
		// or caused.
		engineio.WithPingInterval(time.Minute),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) { _ = s.Send(msg.Text()) })
	m.srv = srv
	m.ts = httptest.NewServer(srv)
	m.base = m.ts.URL + "/engine.io/?EIO=4"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		m.ts.Close()
	})
	return m
}

func (m *mtServer) do(method, query, body string) (int, string) {
	m.t.Helper()
	req, err := http.NewRequest(method, m.base+query, strings.NewReader(body))
	if err != nil {
		m.t.Fatal(err)
	}
	resp, err := m.ts.Client().Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		m.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (m *mtServer) expect(method, query, body string, wantStatus int, wantBody string) {
	m.t.Helper()
	if status, got := m.do(method, query, body); status != wantStatus || got != wantBody {
		m.t.Fatalf("%s %s: %d %q, want %d %q", method, query, status, got, wantStatus, wantBody)
	}
}

func (m *mtServer) handshake() string {
	m.t.Helper()
	status, body := m.do(http.MethodGet, "&transport=polling", "")
	const prefix = `0{"sid":"`
	if status != http.StatusOK || !strings.HasPrefix(body, prefix) {
		m.t.Fatalf("handshake: %d %q", status, body)
	}
	return strings.SplitN(body[len(prefix):], `"`, 2)[0]
}

func (m *mtServer) dial(query string) *websocket.Conn {
	m.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(m.base, "http")+query, nil)
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { _ = c.Close() })
	return c
}

func mtRead(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mtExpect(t *testing.T, c *websocket.Conn, want string) {
	t.Helper()
	if got := mtRead(t, c); got != want {
		t.Fatalf("frame %q, want %q", got, want)
	}
}

func mtWrite(t *testing.T, c *websocket.Conn, text string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// await waits until the counters satisfy check, which describes what it
// misses: sessions report from their own actors, a moment after the
// client has seen the effect.
func (m *mtServer) await(what string, check func(s metrics.Snapshot) string) {
	m.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := m.counters.Snapshot()
		miss := check(s)
		if miss == "" {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("%s: %s\nsnapshot: %+v", what, miss, s)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mtSessions checks the open-sessions gauges.
func mtSessions(polling, websocket int64) func(metrics.Snapshot) string {
	return func(s metrics.Snapshot) string {
		if s.Polling.Sessions != polling || s.WebSocket.Sessions != websocket {
			return fmt.Sprintf("sessions polling %d, websocket %d; want %d, %d", s.Polling.Sessions, s.WebSocket.Sessions, polling, websocket)
		}
		return ""
	}
}

func TestMetricsCountEverything(t *testing.T) {
	m := newMTServer(t)
	poll := func(sid string) string { return "&transport=polling&sid=" + sid }

	// A: a polling session; a message in, its echo queued until the GET.
	a := m.handshake()
	m.await("A opened", mtSessions(1, 0))
	m.expect(http.MethodPost, poll(a), "4hello", http.StatusOK, "ok")
	m.await("the echo waits in A's queue", func(s metrics.Snapshot) string {
		if s.QueuedPackets != 1 || s.QueuedBytes != int64(len("hello")) {
			return fmt.Sprintf("queued %d packets, %d bytes; want 1, 5", s.QueuedPackets, s.QueuedBytes)
		}
		return ""
	})
	m.expect(http.MethodGet, poll(a), "", http.StatusOK, "4hello")
	m.await("A's queue drained", func(s metrics.Snapshot) string {
		if s.QueuedPackets != 0 || s.QueuedBytes != 0 {
			return fmt.Sprintf("queued %d packets, %d bytes; want 0", s.QueuedPackets, s.QueuedBytes)
		}
		return ""
	})

	// B: WebSocket from the handshake on.
	b := m.dial("&transport=websocket")
	open := mtRead(t, b)
	mtWrite(t, b, "4hi")
	mtExpect(t, b, "4hi")
	m.await("B opened", mtSessions(1, 1))

	// A upgrades and talks over WebSocket.
	up := m.dial("&transport=websocket&sid=" + a)
	mtWrite(t, up, "2probe")
	mtExpect(t, up, "3probe")
	mtWrite(t, up, "5")
	mtWrite(t, up, "4up")
	mtExpect(t, up, "4up")
	m.await("A upgraded", mtSessions(0, 2))

	// C: an upgrade abandoned after the probe (its WebSocket drops), then
	// the application closes C; its next GET carries the close packet.
	c := m.handshake()
	probe := m.dial("&transport=websocket&sid=" + c)
	mtWrite(t, probe, "2probe")
	mtExpect(t, probe, "3probe")
	_ = probe.Close()
	m.await("C's upgrade failed", func(s metrics.Snapshot) string {
		if s.UpgradeFailures != 1 {
			return fmt.Sprintf("%d upgrade failures, want 1", s.UpgradeFailures)
		}
		return ""
	})
	m.await("C still polling", mtSessions(1, 2))
	if err := m.srv.Disconnect(c); err != nil {
		t.Fatal(err)
	}
	m.expect(http.MethodGet, poll(c), "", http.StatusOK, "1")

	// Errors: an unknown sid, an unsupported protocol revision.
	m.expect(http.MethodGet, poll("nope"), "", http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	if status, _ := m.do(http.MethodGet, "9&transport=polling", ""); status != http.StatusBadRequest { // EIO=49
		t.Fatalf("EIO=49: %d", status)
	}

	// B closes with a close packet, A's WebSocket goes away.
	mtWrite(t, b, "1")
	_ = up.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))

	m.await("everyone closed", func(s metrics.Snapshot) string {
		if s.Sessions() != 0 || len(s.Closes) < 3 {
			return "sessions still open"
		}
		return ""
	})
	got := m.counters.Snapshot()
	openBytes := int64(len(open) - 1) // the open packet's payload
	want := metrics.Snapshot{
		Polling: metrics.TransportSnapshot{
			Handshakes: 2,             // A, C
			PacketsIn:  1, BytesIn: 5, // "hello"
			PacketsOut: 2, BytesOut: 5, // "hello", C's close packet
		},
		WebSocket: metrics.TransportSnapshot{
			Handshakes: 1,             // B
			PacketsIn:  3, BytesIn: 4, // B: "hi", close; A: "up"
			// B: open, "hi"; A: "up". The probe exchange is not counted.
			PacketsOut: 3, BytesOut: got.WebSocket.BytesOut, // checked below
		},
		Upgrades:        1,
		UpgradeFailures: 1,
		Closes: map[string]int64{
			string(engineio.ReasonClientClose):    1, // B
			string(engineio.ReasonTransportClose): 1, // A
			string(engineio.ReasonServerClose):    1, // C
		},
		HTTPErrors: map[metrics.HTTPErrorKey]int64{
			{Status: http.StatusBadRequest, Code: 1}: 1,
			{Status: http.StatusBadRequest, Code: 5}: 1,
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counters\n got %+v\nwant %+v", got, want)
	}
	// The open packet is a packet handed to the WebSocket with its payload:
	// its bytes count as well as the packet.
	if wantBytes := openBytes + int64(len("hi")+len("up")); got.WebSocket.BytesOut != wantBytes {
		t.Errorf("WebSocket bytes out %d, want %d (%d of them the open packet's)", got.WebSocket.BytesOut, wantBytes, openBytes)
	}
}

// Sessions closed with messages still queued (by the client, by a protocol
// error, by a shutdown) leave the queue and session gauges at zero, and
// each close counts under its reason.
func TestMetricsQueuedGaugesAfterClose(t *testing.T) {
	m := newMTServer(t)
	var sids []string
	for i := 0; i < 3; i++ {
		sid := m.handshake()
		for j := 0; j < 10; j++ {
			if err := m.srv.Send(sid, "0123456789"); err != nil {
				t.Fatal(err)
			}
		}
		sids = append(sids, sid)
	}
	m.await("30 messages queued", func(s metrics.Snapshot) string {
		if s.QueuedPackets != 30 || s.QueuedBytes != 300 {
			return fmt.Sprintf("queued %d packets, %d bytes; want 30, 300", s.QueuedPackets, s.QueuedBytes)
		}
		return ""
	})
	// One client takes its messages and closes; one breaks the protocol;
	// one is closed by the server and never polls again.
	status, body := m.do(http.MethodGet, "&transport=polling&sid="+sids[0], "")
	if status != http.StatusOK || strings.Count(body, "\x1e") != 9 {
		t.Fatalf("GET: %d %q", status, body)
	}
	m.expect(http.MethodPost, "&transport=polling&sid="+sids[0], "1", http.StatusOK, "ok")
	if status, _ := m.do(http.MethodPost, "&transport=polling&sid="+sids[1], "x"); status != http.StatusBadRequest {
		t.Fatalf("bad POST: %d", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = m.srv.Shutdown(ctx) // sids[2] never polls: stopped at the deadline

	got := m.counters.Snapshot()
	if got.Sessions() != 0 || got.QueuedPackets != 0 || got.QueuedBytes != 0 {
		t.Fatalf("after close: %d sessions, %d packets and %d bytes queued; want 0", got.Sessions(), got.QueuedPackets, got.QueuedBytes)
	}
	wantCloses := map[string]int64{
		string(engineio.ReasonClientClose):    1,
		string(engineio.ReasonParseError):     1,
		string(engineio.ReasonServerShutdown): 1,
	}
	if !reflect.DeepEqual(got.Closes, wantCloses) {
		t.Fatalf("closes %v, want %v", got.Closes, wantCloses)
	}
	if got.Polling.PacketsOut != 10 || got.Polling.BytesOut != 100 || got.Polling.PacketsIn != 1 {
		t.Fatalf("polling counts %+v: want 10 packets, 100 bytes out, 1 packet in", got.Polling)
	}
}

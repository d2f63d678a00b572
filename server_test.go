package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/protocol"
)

func newEcho(t *testing.T, opts ...engineio.Option) (*engineio.Server, *httptest.Server) {
	t.Helper()
	// Idle polling test clients never poll again: Close waits for them no
	// longer than this.
	opts = append([]engineio.Option{engineio.WithCloseTimeout(time.Second)}, opts...)
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
		} else {
			_ = s.Send(msg.Text())
		}
	})
	return srv, httptest.NewServer(srv)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func sidOf(t *testing.T, open string) string {
	t.Helper()
	i := strings.Index(open, `"sid":"`)
	if !strings.HasPrefix(open, "0{") || i < 0 {
		t.Fatalf("not an open packet: %q", open)
	}
	rest := open[i+7:]
	return rest[:strings.IndexByte(rest, '"')]
}

// Every option refuses what it cannot work with, and says which option.
func TestOptionsAreValidated(t *testing.T) {
	bad := []struct {
		opt  engineio.Option
		says string
	}{
		{engineio.WithPingInterval(0), "ping interval must be positive"},
		{engineio.WithPingTimeout(-time.Second), "ping timeout must be positive"},
		{engineio.WithUpgradeTimeout(0), "upgrade timeout must be positive"},
		{engineio.WithCloseTimeout(0), "close timeout must be positive"},
		{engineio.WithWriteTimeout(-1), "write timeout must be positive"},
		{engineio.WithMaxPayload(0), "max payload must be positive"},
		{engineio.WithTransports(), "no transport enabled"},
		{engineio.WithTransports("carrier-pigeon"), `unknown transport "carrier-pigeon"`},
		{engineio.WithPath("engine.io"), "must start with /"},
		{engineio.WithLogger(nil), "nil logger"},
		{engineio.WithActorSystem(nil), "nil actor system"},
		{engineio.WithClock(nil), "nil clock"},
		{engineio.WithSIDGenerator(nil), "nil sid generator"},
		{engineio.WithCORSFunc(nil), "nil CORS function"},
		{engineio.WithPerMessageDeflate(-1), "deflate threshold must not be negative"},
		{engineio.WithCookie(nil), "the cookie needs a name"},
		{engineio.WithCookie(&http.Cookie{Path: "/"}), "the cookie needs a name"},
		{engineio.WithJSONMarshal(nil), "nil JSON marshal function"},
		{engineio.WithOutboundQueue(-1, 0, engineio.OverflowClose), "queue bounds must not be negative"},
		{engineio.WithOutboundQueue(0, -1, engineio.OverflowClose), "queue bounds must not be negative"},
		{engineio.WithOutboundQueue(0, 0, engineio.OverflowPolicy(99)), "unknown overflow policy 99"},
		{engineio.WithSupervisorSpawner(nil), "nil spawner"},
		{engineio.WithMetrics(nil), "nil metrics recorder"},
		{engineio.WithDispatcher(nil), "nil dispatcher"},
		{engineio.WithHTTPServer(nil), "needs an http.Server"},
	}
	for _, b := range bad {
		srv, err := engineio.NewServer(b.opt)
		if err == nil {
			_ = srv.Close(t.Context())
			t.Errorf("no error; want one that says %q", b.says)
			continue
		}
		if !strings.Contains(err.Error(), b.says) || !strings.HasPrefix(err.Error(), "engineio: ") {
			t.Errorf("error %q; want one from engineio that says %q", err, b.says)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	srv, ts := newEcho(t, engineio.WithMaxPayload(10))
	defer ts.Close()
	if err := srv.Send("nope", "x"); !errors.Is(err, engineio.ErrUnknownSession) {
		t.Fatalf("Send to unknown sid: %v", err)
	}
	if err := srv.Disconnect("nope"); !errors.Is(err, engineio.ErrUnknownSession) {
		t.Fatalf("Disconnect unknown sid: %v", err)
	}
	if _, err := srv.Transport("nope"); !errors.Is(err, engineio.ErrUnknownSession) {
		t.Fatalf("Transport unknown sid: %v", err)
	}
	_, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
	sid := sidOf(t, body)
	if err := srv.Send(sid, strings.Repeat("x", 11)); !errors.Is(err, engineio.ErrMessageTooLarge) {
		t.Fatalf("oversized Send: %v", err)
	}
	if tr, err := srv.Transport(sid); err != nil || tr != "polling" {
		t.Fatalf("Transport = %q, %v", tr, err)
	}
	if pid, err := srv.PID(sid); err != nil || pid == nil || !strings.HasSuffix(pid.Id, "/"+sid) {
		t.Fatalf("PID = %v, %v", pid, err)
	}
	if got := srv.Sessions(); len(got) != 1 || got[0] != sid {
		t.Fatalf("Sessions = %v", got)
	}
	if err := srv.SendJSON(sid, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid); body != `4{"a":1}` {
		t.Fatalf("SendJSON delivered %q", body)
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Send(sid, "x"); !errors.Is(err, engineio.ErrServerClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if code, _ := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling"); code != http.StatusServiceUnavailable {
		t.Fatalf("handshake after Close: %d", code)
	}
}

func TestConnectRejection(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(context.Background())
	srv.OnConnect(func(s *engineio.Session) error {
		if s.Query().Get("token") != "secret" {
			return errors.New("bad token")
		}
		return nil
	})
	code, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
	if code != http.StatusForbidden || body != `{"code":4,"message":"bad token"}` {
		t.Fatalf("rejected handshake: %d %s", code, body)
	}
	if code, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling&token=secret"); code != 200 || !strings.HasPrefix(body, "0{") {
		t.Fatalf("accepted handshake: %d %s", code, body)
	}
	if n := len(srv.Sessions()); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

func TestDisconnectAll(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(context.Background())
	reasons := make(chan engineio.Reason, 3)
	srv.OnDisconnect(func(s *engineio.Session, r engineio.Reason) { reasons <- r })
	var sids []string
	for i := 0; i < 3; i++ {
		_, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
		sids = append(sids, sidOf(t, body))
	}
	srv.DisconnectAll()
	for _, sid := range sids {
		if _, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid); body != "1" {
			t.Fatalf("poll after DisconnectAll got %q, want close packet", body)
		}
	}
	for range sids {
		select {
		case r := <-reasons:
			if r != engineio.ReasonServerClose {
				t.Fatalf("reason %q", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no disconnect")
		}
	}
}

// Close leaves nothing of the server behind: no goroutine, whatever the
// sessions were doing.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, ts := newEcho(t, engineio.WithPingInterval(200*time.Millisecond), engineio.WithPingTimeout(200*time.Millisecond))
	defer ts.Close()
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	conns := []*websocket.Conn{}
	for i := 0; i < 5; i++ {
		c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, open, err := c.ReadMessage(); err != nil || open[0] != '0' {
			t.Fatalf("open frame %q, %v", open, err)
		}
		conns = append(conns, c)
	}
	// Polling sessions with a parked poll each.
	polls := make(chan string, 5)
	for i := 0; i < 5; i++ {
		_, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
		sid := sidOf(t, body)
		go func() {
			_, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid)
			polls <- body
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the polls park
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if body := <-polls; !strings.HasSuffix(body, "1") {
			t.Fatalf("parked poll got %q, want close packet last", body)
		}
	}
	for _, c := range conns {
		var last string
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				break
			}
			last = string(b)
		}
		if last != "1" {
			t.Fatalf("websocket's last frame %q, want close packet", last)
		}
	}
	if n := len(srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// Session.Protocol is the revision of the client's handshake.
func TestSessionProtocol(t *testing.T) {
	srv, ts := newEcho(t, engineio.WithAllowEIO3(true))
	defer ts.Close()
	defer srv.Close(context.Background())
	got := make(chan protocol.Revision, 1)
	srv.OnConnect(func(s *engineio.Session) error {
		got <- s.Protocol()
		return nil
	})
	for _, want := range []protocol.Revision{protocol.V3, protocol.V4} {
		code, body := get(t, fmt.Sprintf("%s/engine.io/?EIO=%d&transport=polling", ts.URL, want))
		if code != http.StatusOK {
			t.Fatalf("EIO=%d handshake: %d %q", want, code, body)
		}
		if rev := <-got; rev != want {
			t.Errorf("EIO=%d handshake: Protocol() = %d", want, rev)
		}
	}
}

// A session keeps its handshake's headers (not those of the WebSocket
// handshake itself) and query for the application.
func TestSessionKeepsHandshakeHeadersAndQuery(t *testing.T) {
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(context.Background())
	type seen struct {
		header http.Header
		query  url.Values
	}
	got := make(chan seen, 2)
	srv.OnConnect(func(s *engineio.Session) error {
		got <- seen{s.Header(), s.Query()}
		return nil
	})
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/engine.io/?EIO=4&transport=polling&room=a%26b&room=c", nil)
	req.Header.Add("X-Token", "one")
	req.Header.Add("X-Token", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if v := s.header.Values("X-Token"); len(v) != 2 || v[0] != "one" || v[1] != "two" {
		t.Errorf("X-Token = %q, want [one two]", v)
	}
	if v := s.query["room"]; len(v) != 2 || v[0] != "a&b" || v[1] != "c" {
		t.Errorf("room = %q, want [a&b c]", v)
	}

	dialer := websocket.Dialer{}
	hdr := http.Header{"X-Token": {"ws"}}
	conn, _, err := dialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s = <-got
	if s.header.Get("X-Token") != "ws" {
		t.Errorf("X-Token over WebSocket = %q, want ws", s.header.Get("X-Token"))
	}
	for _, k := range []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version"} {
		if _, ok := s.header[k]; ok {
			t.Errorf("the session kept the WebSocket handshake header %s", k)
		}
	}
}

// A session is published before its Connect handler runs: the handler may
// address it by sid through the Server, and its PID is the actor's own.
func TestConnectAddressesItsSession(t *testing.T) {
	t.Parallel()
	srv, ts := newEcho(t)
	defer ts.Close()
	defer srv.Close(context.Background())
	pids := make(chan string, 1)
	srv.OnConnect(func(s *engineio.Session) error {
		pids <- s.PID().Id
		return srv.Send(s.ID(), "welcome")
	})
	code, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling")
	if code != http.StatusOK {
		t.Fatalf("handshake: %d %q", code, body)
	}
	sid := sidOf(t, body)
	if pid := <-pids; !strings.HasSuffix(pid, "/"+sid) {
		t.Errorf("Session.PID() = %s, want the actor named after sid %s", pid, sid)
	}
	if code, body := get(t, ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid); code != http.StatusOK || body != "4welcome" {
		t.Errorf("first poll: %d %q, want 200 \"4welcome\"", code, body)
	}
}

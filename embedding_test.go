package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/eioactor/engineio"
)

// A server embedded in an application's actor system: its supervisor is a
// child of the application's own actor, so the sessions sit in the
// application's hierarchy, served over real HTTP and WebSocket.

const embWait = 5 * time.Second

// embVerifyNone is goleak.VerifyNone with more patience (about 3 s instead
// of half a second) for goroutines that end by themselves: protoactor's
// dead-letter throttle keeps one for its interval (1 s by default) after a
// dead letter, which an earlier test's actor system may still produce. A
// real leak stays, and fails the test.
func embVerifyNone(t *testing.T, ignore goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := goleak.Find(ignore) // retries for about half a second
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// embSystem is the application's actor system. The short dead-letter
// throttle interval only makes the system's throttle goroutine end soon
// enough for the leak check.
func embSystem() *actor.ActorSystem {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		actor.WithDeadLetterRequestLogging(false),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}

// embApp is the application's actor: it makes its Engine.IO server when it
// starts, with the server's supervisor as its child "engineio".
type embApp struct {
	opts  []engineio.Option
	ready chan<- embReady
}

type embReady struct {
	srv *engineio.Server
	err error
}

func (a *embApp) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		srv, err := engineio.NewServer(append([]engineio.Option{
			engineio.WithActorSystem(ctx.ActorSystem()),
			engineio.WithSupervisorSpawner(func(p *actor.Props) (*actor.PID, error) {
				return ctx.SpawnNamed(p, "engineio")
			}),
		}, a.opts...)...)
		a.ready <- embReady{srv, err}
	}
}

// embSpawnApp spawns the application actor under name and returns it with
// its server.
func embSpawnApp(t *testing.T, sys *actor.ActorSystem, name string, opts ...engineio.Option) (*actor.PID, *engineio.Server) {
	t.Helper()
	ready := make(chan embReady, 1)
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &embApp{opts: opts, ready: ready} }), name)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-ready:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return pid, r.srv
	case <-time.After(embWait):
		t.Fatal("the application actor made no server")
		return nil, nil
	}
}

// embEcho answers every message with prefix and the message, and records
// the disconnect reasons.
type embEcho struct {
	mu      sync.Mutex
	reasons map[string]engineio.Reason
	changed chan struct{}
}

func embInstallEcho(srv *engineio.Server, prefix string) *embEcho {
	e := &embEcho{reasons: map[string]engineio.Reason{}, changed: make(chan struct{}, 100)}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) { _ = s.Send(prefix + msg.Text()) })
	srv.OnDisconnect(func(s *engineio.Session, r engineio.Reason) {
		e.mu.Lock()
		e.reasons[s.ID()] = r
		e.mu.Unlock()
		e.changed <- struct{}{}
	})
	return e
}

func (e *embEcho) snapshot() map[string]engineio.Reason {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]engineio.Reason{}
	for k, v := range e.reasons {
		out[k] = v
	}
	return out
}

// awaitDisconnects waits until n sessions have disconnected.
func (e *embEcho) awaitDisconnects(t *testing.T, n int) map[string]engineio.Reason {
	t.Helper()
	deadline := time.After(embWait)
	for {
		if got := e.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-e.changed:
		case <-deadline:
			t.Fatalf("disconnects %v, want %d", e.snapshot(), n)
		}
	}
}

// embClient is an HTTP client of its own, so that the test can close its
// idle connections before the leak check.
type embClient struct {
	t    *testing.T
	http *http.Client
}

func newEmbClient(t *testing.T) *embClient {
	return &embClient{t: t, http: &http.Client{Transport: &http.Transport{}, Timeout: embWait}}
}

func (c *embClient) close() { c.http.CloseIdleConnections() }

func (c *embClient) get(url string) (int, string) {
	c.t.Helper()
	res, err := c.http.Get(url)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *embClient) post(url, body string) int {
	c.t.Helper()
	res, err := c.http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// pollingHandshake opens a polling session and returns its sid.
func (c *embClient) pollingHandshake(base string) string {
	c.t.Helper()
	code, body := c.get(base + "/engine.io/?EIO=4&transport=polling")
	if code != http.StatusOK {
		c.t.Fatalf("handshake: %d %s", code, body)
	}
	return apiSIDOf(c.t, body)
}

type embWS struct {
	t    *testing.T
	conn *websocket.Conn
	sid  string
}

func embDial(t *testing.T, base string) *embWS {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &embWS{t: t, conn: conn}
	open := w.read()
	if !strings.HasPrefix(open, "0{") {
		t.Fatalf("first frame %q, want the open packet", open)
	}
	w.sid = apiSIDOf(t, open)
	return w
}

func (w *embWS) read() string {
	w.t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(embWait))
	_, b, err := w.conn.ReadMessage()
	if err != nil {
		w.t.Fatalf("%s: read: %v", w.sid, err)
	}
	return string(b)
}

func (w *embWS) send(text string) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte("4"+text)); err != nil {
		w.t.Fatalf("%s: write: %v", w.sid, err)
	}
}

// echo sends text and expects prefix+text back.
func (w *embWS) echo(prefix, text string) {
	w.t.Helper()
	w.send(text)
	if got := w.read(); got != "4"+prefix+text {
		w.t.Fatalf("%s: echo %q, want %q", w.sid, got, "4"+prefix+text)
	}
}

// expectEnd reads until the connection ends and returns the last frame.
func (w *embWS) expectEnd() string {
	w.t.Helper()
	var last string
	_ = w.conn.SetReadDeadline(time.Now().Add(embWait))
	for {
		_, b, err := w.conn.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				w.t.Fatalf("%s: still open", w.sid)
			}
			return last
		}
		last = string(b)
	}
}

func embCloseServer(t *testing.T, srv *engineio.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), embWait)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestEmbedding_SupervisorUnderUserActor(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	sys := embSystem()
	app, srv := embSpawnApp(t, sys, "app", engineio.WithCloseTimeout(time.Second))
	embInstallEcho(srv, "")
	ts := httptest.NewServer(srv)
	client := newEmbClient(t)

	if got, want := srv.SupervisorPID().Id, app.Id+"/engineio"; got != want {
		t.Fatalf("supervisor %q, want %q", got, want)
	}
	if srv.ActorSystem() != sys {
		t.Fatal("the server runs in another actor system")
	}
	ws := embDial(t, ts.URL)
	polled := client.pollingHandshake(ts.URL)
	for _, sid := range []string{ws.sid, polled} {
		pid, err := srv.PID(sid)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(pid.Id, app.Id+"/engineio/") {
			t.Fatalf("session %s is %q, want it under %q", sid, pid.Id, app.Id+"/engineio/")
		}
		if pid.Address != app.Address {
			t.Fatalf("session address %q, app %q", pid.Address, app.Address)
		}
	}
	ws.echo("", "hello")
	if code := client.post(ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+polled, "4over polling"); code != http.StatusOK {
		t.Fatalf("POST: %d", code)
	}
	if _, body := client.get(ts.URL + "/engine.io/?EIO=4&transport=polling&sid=" + polled); body != "4over polling" {
		t.Fatalf("poll %q", body)
	}

	// Close everything: the sessions, the server, the client, the
	// application actor and the actor system. Nothing may be left running.
	// The polling client leaves first (see
	// TestEmbedding_ShutdownAnswersPollOnItsWay for why it does not wait
	// for the shutdown), then the server closes.
	if code := client.post(ts.URL+"/engine.io/?EIO=4&transport=polling&sid="+polled, "1"); code != http.StatusOK {
		t.Fatalf("close POST: %d", code)
	}
	embCloseServer(t, srv)
	if last := ws.expectEnd(); last != "1" {
		t.Fatalf("last frame %q, want the close packet", last)
	}
	ws.conn.Close()
	ts.Close()
	client.close()
	if err := sys.Root.StopFuture(app).Wait(); err != nil {
		t.Fatal(err)
	}
	sys.Shutdown()
	embVerifyNone(t, ignore)
}

// Two servers in one process and one actor system, one embedded under an
// application actor and one at the root, with the same sid sequence, so
// that their sessions even share ids: neither disturbs the other.
func TestEmbedding_TwoServersOneSystem(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	sys := embSystem()
	sids := func() func() (string, error) {
		var mu sync.Mutex
		n := 0
		return func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			n++
			return fmt.Sprintf("sid%d", n), nil
		}
	}
	app, srvA := embSpawnApp(t, sys, "app", engineio.WithSIDGenerator(sids()), engineio.WithCloseTimeout(time.Second))
	srvB, err := engineio.NewServer(engineio.WithActorSystem(sys), engineio.WithSIDGenerator(sids()), engineio.WithCloseTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	evA, evB := embInstallEcho(srvA, "A:"), embInstallEcho(srvB, "B:")
	tsA, tsB := httptest.NewServer(srvA), httptest.NewServer(srvB)
	client := newEmbClient(t)

	a1, b1 := embDial(t, tsA.URL), embDial(t, tsB.URL)
	a2, b2 := embDial(t, tsA.URL), embDial(t, tsB.URL)
	aPoll, bPoll := client.pollingHandshake(tsA.URL), client.pollingHandshake(tsB.URL)
	if a1.sid != "sid1" || b1.sid != "sid1" || aPoll != "sid3" || bPoll != "sid3" {
		t.Fatalf("sids %s %s %s %s", a1.sid, b1.sid, aPoll, bPoll)
	}
	for _, srv := range []*engineio.Server{srvA, srvB} {
		got := srv.Sessions()
		slices.Sort(got)
		if !slices.Equal(got, []string{"sid1", "sid2", "sid3"}) {
			t.Fatalf("sessions %v", got)
		}
	}
	pa, _ := srvA.PID("sid1")
	pb, _ := srvB.PID("sid1")
	if pa.Equal(pb) || !strings.HasPrefix(pa.Id, app.Id+"/engineio/") || strings.HasPrefix(pb.Id, app.Id+"/") {
		t.Fatalf("session PIDs %v and %v", pa, pb)
	}

	// Sends reach their own server's session only: B's sid1 gets its own
	// marker first, not A's message.
	a1.echo("A:", "one")
	b1.echo("B:", "one")
	if err := srvA.Send("sid1", "for A only"); err != nil {
		t.Fatal(err)
	}
	if err := srvB.Send("sid1", "for B only"); err != nil {
		t.Fatal(err)
	}
	if got := b1.read(); got != "4for B only" {
		t.Fatalf("B's sid1 got %q", got)
	}
	if got := a1.read(); got != "4for A only" {
		t.Fatalf("A's sid1 got %q", got)
	}
	if code := client.post(tsB.URL+"/engine.io/?EIO=4&transport=polling&sid="+bPoll, "4polled"); code != http.StatusOK {
		t.Fatalf("POST to B: %d", code)
	}
	if _, body := client.get(tsB.URL + "/engine.io/?EIO=4&transport=polling&sid=" + bPoll); body != "4B:polled" {
		t.Fatalf("B's poll %q", body)
	}

	// DisconnectAll of A closes A's sessions only.
	srvA.DisconnectAll()
	for _, w := range []*embWS{a1, a2} {
		if last := w.expectEnd(); last != "1" {
			t.Fatalf("A's %s: last frame %q, want the close packet", w.sid, last)
		}
	}
	if _, body := client.get(tsA.URL + "/engine.io/?EIO=4&transport=polling&sid=" + aPoll); body != "1" {
		t.Fatalf("A's poll after DisconnectAll %q", body)
	}
	reasons := evA.awaitDisconnects(t, 3)
	for sid, r := range reasons {
		if r != engineio.ReasonServerClose {
			t.Fatalf("A's %s closed with %q", sid, r)
		}
	}
	if got := evB.snapshot(); len(got) != 0 {
		t.Fatalf("B's sessions closed: %v", got)
	}
	b1.echo("B:", "two")
	b2.echo("B:", "two")
	if n := len(srvB.Sessions()); n != 3 {
		t.Fatalf("B has %d sessions", n)
	}
	// A goes on taking sessions.
	a3 := embDial(t, tsA.URL)
	a3.echo("A:", "three")

	// Close of A leaves B working.
	embCloseServer(t, srvA)
	if last := a3.expectEnd(); last != "1" {
		t.Fatalf("A's %s: last frame %q", a3.sid, last)
	}
	if code, _ := client.get(tsA.URL + "/engine.io/?EIO=4&transport=polling"); code != http.StatusServiceUnavailable {
		t.Fatalf("handshake with the closed A: %d", code)
	}
	if got := evB.snapshot(); len(got) != 0 {
		t.Fatalf("B's sessions closed: %v", got)
	}
	b1.echo("B:", "three")
	b3 := embDial(t, tsB.URL)
	b3.echo("B:", "four")
	if b3.sid != "sid4" {
		t.Fatalf("B's next sid %q", b3.sid)
	}
	if err := srvB.Send(bPoll, "still here"); err != nil {
		t.Fatal(err)
	}
	if _, body := client.get(tsB.URL + "/engine.io/?EIO=4&transport=polling&sid=" + bPoll); body != "4still here" {
		t.Fatalf("B's poll %q", body)
	}
	// The application actor outlives its server.
	if _, ok := sys.ProcessRegistry.Get(app); !ok {
		t.Fatal("the application actor is gone")
	}

	if code := client.post(tsB.URL+"/engine.io/?EIO=4&transport=polling&sid="+bPoll, "1"); code != http.StatusOK {
		t.Fatalf("close POST: %d", code)
	}
	embCloseServer(t, srvB)
	for _, w := range []*embWS{b1, b2, b3} {
		if last := w.expectEnd(); last != "1" {
			t.Fatalf("B's %s: last frame %q", w.sid, last)
		}
	}
	reasons = evB.awaitDisconnects(t, 4)
	for sid, r := range reasons {
		want := engineio.ReasonServerShutdown
		if sid == bPoll {
			want = engineio.ReasonClientClose
		}
		if r != want {
			t.Fatalf("B's %s closed with %q, want %q", sid, r, want)
		}
	}
	for _, w := range []*embWS{a1, a2, a3, b1, b2, b3} {
		w.conn.Close()
	}
	tsA.Close()
	tsB.Close()
	client.close()
	if err := sys.Root.StopFuture(app).Wait(); err != nil {
		t.Fatal(err)
	}
	sys.Shutdown()
	embVerifyNone(t, ignore)
}

// Shutdown promises that a polling session waits up to the close timeout
// for "its client's next poll" to carry the shutdown message and the close
// packet, "a live polling client has a poll parked or on its way". A poll
// that reaches the server once Close has begun is such a poll: it must be
// answered with them, and Close must not wait out the close timeout.
func TestEmbedding_ShutdownAnswersPollOnItsWay(t *testing.T) {
	const closeTimeout = 3 * time.Second
	srv, err := engineio.NewServer(engineio.WithCloseTimeout(closeTimeout), engineio.WithShutdownMessage("bye"))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client := newEmbClient(t)
	defer client.close()
	sid := client.pollingHandshake(ts.URL)

	start := time.Now()
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*closeTimeout)
		defer cancel()
		closed <- srv.Close(ctx)
	}()
	// The server methods report ErrServerClosed as soon as Close has begun.
	for {
		if _, err := srv.Transport(sid); errors.Is(err, engineio.ErrServerClosed) {
			break
		}
		runtime.Gosched()
	}
	code, body := client.get(ts.URL + "/engine.io/?EIO=4&transport=polling&sid=" + sid)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if code != http.StatusOK || body != "4bye\x1e1" {
		t.Errorf("the poll that arrived during the shutdown got %d %q, want 200 with the shutdown message and the close packet", code, body)
	}
	if took := time.Since(start); took >= closeTimeout {
		t.Errorf("Close took %v: it waited out the close timeout for a poll it had turned away", took.Round(time.Millisecond))
	}
}

// Package interop_test runs the official JavaScript Engine.IO client
// (engine.io-client, six majors pinned in interop/package.json: 4.x to 6.x
// for protocol revision 4, 1.x to 3.x for revision 3) against this
// module's server.
//
// Run from the module root:
//
//	npm ci --prefix interop && go test ./interop/
//
// Each test starts an engineio.Server with an echo handler (text back as
// text, binary back as binary; the text "close-me" makes the server close the
// session) behind httptest.NewServer, then runs
//
//	[EIO_CLIENT=<package>] node client.mjs <scenario> <server-url> [transport]
//
// (client3.mjs for revision 3; EIO_CLIENT names the client's package, see
// clientMajor), which prints one JSON line describing what the client
// observed (see the comment at the top of each script). The test asserts the
// client's report and what the server saw: sessions, messages, and the
// OnDisconnect reason.
//
// The tests fail, and never skip, when node is not on PATH or
// interop/node_modules is missing. Set DEBUG=engine.io-client:* to get the
// client's debug log in the test output (shown on failure and with -v).
package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/internal/netpoll"
	"github.com/eioactor/engineio/protocol"
)

// TestMain fails the package when goroutines outlive the tests: every
// server is closed with srv.Close, which must stop all its sessions.
// TestMain parks quiet WebSocket connections after a few milliseconds
// instead of a second, and holds long-polls that wait as long without
// net/http, so that the clients' connections are parked, resumed and held
// all along, and checks that no goroutine is left behind.
func TestMain(m *testing.M) {
	netpoll.IdleAfter = 5 * time.Millisecond
	httpapi.PollHoldAfter = 5 * time.Millisecond
	goleak.VerifyTestMain(m)
}

const (
	// largeSize is the size of the large text and binary messages sent by
	// client.mjs (500 KiB; the payload limit is 1e6 bytes as in JS).
	largeSize = 500 * 1024
	// orderedCount is the number of messages of the ordered scenario.
	orderedCount = 1000
	// clientTimeout bounds one node run; client.mjs has its own, shorter,
	// per-scenario timeouts.
	clientTimeout = 60 * time.Second
	// disconnectTimeout bounds the wait for OnDisconnect once the client has
	// exited. It is far below the default ping interval plus timeout, so a
	// disconnect seen in time was not a ping timeout.
	disconnectTimeout = 5 * time.Second
)

// clientResult is the JSON line printed by client.mjs on success. Fields a
// scenario does not report stay zero.
type clientResult struct {
	OK               bool     `json:"ok"`
	Scenario         string   `json:"scenario"`
	Mode             string   `json:"mode"`
	Client           string   `json:"client"` // the engine.io-client version that ran
	Transport        string   `json:"transport"`
	FirstTransport   string   `json:"firstTransport"`
	SID              string   `json:"sid"`
	Upgraded         bool     `json:"upgraded"`
	Echoed           int      `json:"echoed"`
	TextLength       int      `json:"textLength"`
	BinaryLength     int      `json:"binaryLength"`
	Pings            int      `json:"pings"`
	PingInterval     int      `json:"pingInterval"`
	PingTimeout      int      `json:"pingTimeout"`
	CloseReason      string   `json:"closeReason"`
	CloseDescription string   `json:"closeDescription"`
	Received         []string `json:"received"`
	Closed           string   `json:"closed"`
	ElapsedMs        int      `json:"elapsedMs"`
	TotalMs          int      `json:"totalMs"`
}

// event is one thing the server's handlers saw, in order.
type event struct {
	kind      string // "connect", "text", "binary", "disconnect"
	sid       string
	transport string // s.Transport() when the handler ran
	text      string // text messages
	data      []byte // binary messages (a copy)
	reason    engineio.Reason
	at        time.Time
}

func (e event) String() string {
	switch e.kind {
	case "text":
		t := e.text
		if len(t) > 40 {
			t = fmt.Sprintf("%.40q... (%d bytes)", t, len(t))
		} else {
			t = fmt.Sprintf("%q", t)
		}
		return fmt.Sprintf("%s text %s on %s", e.sid, t, e.transport)
	case "binary":
		return fmt.Sprintf("%s binary (%d bytes) on %s", e.sid, len(e.data), e.transport)
	case "disconnect":
		return fmt.Sprintf("%s disconnect %q (transport %s)", e.sid, e.reason, e.transport)
	}
	return fmt.Sprintf("%s %s on %s", e.sid, e.kind, e.transport)
}

// echoServer is an engineio.Server with echo handlers that records what
// they saw.
type echoServer struct {
	srv    *engineio.Server
	url    string
	mount  string
	client clientMajor // the client the test runs; zero: the script's default
	// socketIO makes the handlers answer Socket.IO's namespace connection.
	socketIO atomic.Bool

	mu      sync.Mutex
	events  []event
	errs    []string // errors returned by Send, SendBinary, Close
	gone    chan engineio.Reason
	started time.Time
	caFile  string       // with mountTLS: the server's certificate, PEM, for the client to trust
	conns   atomic.Int64 // TCP connections accepted
}

// install registers the echo handlers on e.srv: every message goes back
// as it came, and the text "close-me" closes the session. With socketIO
// set, the server also answers a Socket.IO client's connection to the main
// namespace (see interop_sio_test.go); the rest of Socket.IO's packets are
// echoed as they are, so that the client receives every event it emits.
func (e *echoServer) install() {
	srv := e.srv
	srv.OnConnect(func(s *engineio.Session) error {
		e.record(event{kind: "connect", sid: s.ID(), transport: s.Transport()})
		if e.socketIO.Load() && s.Protocol() == protocol.V3 {
			// Socket.IO protocol 4 (socket.io-client 2.x): the server
			// connects the client to the main namespace unasked.
			if err := s.Send("0"); err != nil {
				e.fail("Send(Socket.IO CONNECT) on %s: %v", s.ID(), err)
			}
		}
		return nil
	})
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			e.record(event{kind: "binary", sid: s.ID(), transport: s.Transport(), data: bytes.Clone(msg.Data)})
			if err := s.SendBinary(msg.Data); err != nil {
				e.fail("SendBinary(%d bytes) on %s: %v", len(msg.Data), s.ID(), err)
			}
			return
		}
		text := msg.Text()
		e.record(event{kind: "text", sid: s.ID(), transport: s.Transport(), text: text})
		if e.socketIO.Load() && text == "0" {
			// Socket.IO protocol 5 (socket.io-client 3.x and 4.x): the
			// client asks to join the main namespace; the answer names
			// its Socket.IO session.
			if err := s.Send(`0{"sid":"` + s.ID() + `"}`); err != nil {
				e.fail("Send(Socket.IO CONNECT) on %s: %v", s.ID(), err)
			}
			return
		}
		if e.socketIO.Load() && text == "1" {
			return // Socket.IO's DISCONNECT: the client is leaving
		}
		if text == "close-me" {
			if err := s.Close(); err != nil {
				e.fail("Close on %s: %v", s.ID(), err)
			}
			return
		}
		if err := s.Send(text); err != nil {
			e.fail("Send(%d bytes) on %s: %v", len(text), s.ID(), err)
		}
	})
	srv.OnDisconnect(func(s *engineio.Session, reason engineio.Reason) {
		e.record(event{kind: "disconnect", sid: s.ID(), transport: s.Transport(), reason: reason})
		select {
		case e.gone <- reason:
		default:
		}
	})
}

// newEchoServer starts an echo server, the http.Server's own Handler (so
// that the connections of held polls are kept). fastPing configures the
// heartbeat of the official test suite: pingInterval 300 ms, pingTimeout
// 200 ms.
func newEchoServer(t *testing.T, fastPing bool) *echoServer {
	return newEchoServerOn(t, fastPing, mountRoot)
}

// How an echo server is reached.
const (
	mountRoot  = "root"       // the http.Server's Handler
	mountMux   = "behind-mux" // on a ServeMux: held polls' connections close after their answer
	mountServe = "serve"      // Server.Serve: the server reads its connections itself
	// Server.Serve with an application handler for the other paths: every
	// request's line is peeked at before it is read.
	mountServeApp = "serve-with-app"
	// The http.Server's Handler over TLS (https://, wss://): quiet
	// WebSockets park through crypto/tls. The client checks the server's
	// certificate, which it trusts through NODE_EXTRA_CA_CERTS.
	mountTLS = "tls"
)

var mounts = []string{mountRoot, mountMux, mountServe, mountServeApp, mountTLS}

// newEchoServerOn starts an echo server mounted as mount says.
func newEchoServerOn(t *testing.T, fastPing bool, mount string) *echoServer {
	t.Helper()
	requireNode(t)
	logw := &testLogWriter{t: t}
	logger := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))

	opts := []engineio.Option{engineio.WithMaxPayload(1_000_000), engineio.WithLogger(logger)}
	if fastPing {
		opts = append(opts, engineio.WithPingInterval(300*time.Millisecond), engineio.WithPingTimeout(200*time.Millisecond))
	}
	if mount == mountServeApp {
		app := http.NewServeMux()
		app.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
		opts = append(opts, engineio.WithHTTPServer(&http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}))
	}
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		t.Fatalf("engineio.NewServer: %v", err)
	}
	e := &echoServer{srv: srv, mount: mount, gone: make(chan engineio.Reason, 16), started: time.Now()}

	e.install()

	var handler http.Handler = srv
	if mount == mountMux {
		mux := http.NewServeMux()
		mux.Handle("/engine.io/", srv)
		handler = mux
	}
	hs := httptest.NewUnstartedServer(handler)
	hs.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			e.conns.Add(1)
		}
	}
	if mount == mountServe || mount == mountServeApp {
		// The test server only provides the listener.
		served := make(chan error, 1)
		go func() { served <- srv.Serve(&countingListener{Listener: hs.Listener, n: &e.conns}) }()
		e.url = "http://" + hs.Listener.Addr().String()
		t.Cleanup(func() {
			select {
			case err := <-served:
				if !errors.Is(err, http.ErrServerClosed) {
					t.Errorf("Serve returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Serve still running 10s after srv.Close")
			}
		})
	} else if mount == mountTLS {
		hs.StartTLS()
		e.url = hs.URL
		e.caFile = filepath.Join(t.TempDir(), "server-cert.pem")
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
		if err := os.WriteFile(e.caFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
	} else {
		hs.Start()
		e.url = hs.URL
	}

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			if t.Failed() {
				// A client that died mid-scenario can leave a polling
				// session waiting for its next poll to deliver the close.
				t.Logf("srv.Close after a failure: %v", err)
			} else {
				t.Errorf("srv.Close: %v", err)
			}
		}
		if mount == mountServe || mount == mountServeApp {
			logw.stop()
			return
		}
		// httptest.Server.Close waits for in-flight requests: a long-poll
		// still parked after srv.Close would block it forever.
		done := make(chan struct{})
		go func() {
			hs.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("HTTP requests still in flight 10s after srv.Close returned")
			hs.CloseClientConnections()
			<-done
		}
		logw.stop()
	})
	return e
}

func (e *echoServer) record(ev event) {
	ev.at = time.Now()
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
}

func (e *echoServer) fail(format string, args ...any) {
	e.mu.Lock()
	e.errs = append(e.errs, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

// snapshot returns the events recorded so far.
func (e *echoServer) snapshot() []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]event(nil), e.events...)
}

// summary renders the server's view for failure messages.
func (e *echoServer) summary() string {
	evs := e.snapshot()
	var b strings.Builder
	texts := 0
	for _, ev := range evs {
		if ev.kind == "text" {
			texts++
			if texts > 20 {
				continue
			}
		}
		fmt.Fprintf(&b, "  +%v %s\n", ev.at.Sub(e.started).Round(time.Millisecond), ev)
	}
	if texts > 20 {
		fmt.Fprintf(&b, "  (%d text messages in all)\n", texts)
	}
	e.mu.Lock()
	for _, s := range e.errs {
		fmt.Fprintf(&b, "  handler error: %s\n", s)
	}
	e.mu.Unlock()
	if b.Len() == 0 {
		return "  (nothing)\n"
	}
	return b.String()
}

// waitDisconnect waits for OnDisconnect and returns its reason.
func (e *echoServer) waitDisconnect(t *testing.T) engineio.Reason {
	t.Helper()
	select {
	case r := <-e.gone:
		return r
	case <-time.After(disconnectTimeout):
		t.Fatalf("OnDisconnect did not fire within %v of the client's exit; server saw:\n%s", disconnectTimeout, e.summary())
		return ""
	}
}

// checkCommon asserts what holds for every scenario once the client has
// closed: one session, the client's sid, one disconnect, no handler errors,
// no session left on the server.
func (e *echoServer) checkCommon(t *testing.T, res clientResult) engineio.Reason {
	t.Helper()
	reason := e.waitDisconnect(t)
	evs := e.snapshot()
	var connects, disconnects []event
	for _, ev := range evs {
		switch ev.kind {
		case "connect":
			connects = append(connects, ev)
		case "disconnect":
			disconnects = append(disconnects, ev)
		}
	}
	if len(connects) != 1 {
		t.Errorf("server saw %d connects, want 1:\n%s", len(connects), e.summary())
	} else if connects[0].sid != res.SID {
		t.Errorf("server session id %q, client reports %q", connects[0].sid, res.SID)
	}
	if len(disconnects) != 1 {
		t.Errorf("server saw %d disconnects, want 1:\n%s", len(disconnects), e.summary())
	}
	if n := len(evs); n > 0 && evs[n-1].kind != "disconnect" {
		t.Errorf("server saw %s after the disconnect:\n%s", evs[n-1], e.summary())
	}
	e.mu.Lock()
	errs := append([]string(nil), e.errs...)
	e.mu.Unlock()
	for _, s := range errs {
		t.Errorf("echo handler: %s", s)
	}
	// OnDisconnect may run just before the session is unregistered.
	deadline := time.Now().Add(time.Second)
	for len(e.srv.Sessions()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ss := e.srv.Sessions(); len(ss) > 0 {
		t.Errorf("srv.Sessions() = %v after the disconnect, want none", ss)
	}
	if e.mount == mountServeApp {
		e.checkAppRoute(t)
	}
	t.Logf("server: disconnect reason %q", reason)
	return reason
}

// checkAppRoute requests the application's own route, which Serve hands to
// the http.Server given with WithHTTPServer.
func (e *echoServer) checkAppRoute(t *testing.T) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.url+"/hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Close = true // leave no idle connection in the default transport
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET /hello beside the engine: %v", err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "hello" {
		t.Errorf("GET /hello beside the engine: HTTP %d %q (%v), want 200 \"hello\"", resp.StatusCode, body, err)
	}
}

// messages returns the text and binary messages the server received.
func (e *echoServer) messages() (texts []event, binaries []event) {
	for _, ev := range e.snapshot() {
		switch ev.kind {
		case "text":
			texts = append(texts, ev)
		case "binary":
			binaries = append(binaries, ev)
		}
	}
	return texts, binaries
}

// testLogWriter sends the server's log to t.Log until stop is called, so a
// late log line cannot reach a finished test.
type testLogWriter struct {
	t       *testing.T
	mu      sync.Mutex
	stopped bool
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Logf("server log: %s", bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

func (w *testLogWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error
)

// clientMajor is one installed major of engine.io-client: the npm alias it
// is installed under in interop/package.json, which client.mjs and
// client3.mjs load when EIO_CLIENT names it, and its pinned version.
type clientMajor struct {
	version string // as in package.json; subtests are named after it
	pkg     string // the directory in interop/node_modules
}

// v4Clients speak protocol revision 4 and are driven by client.mjs;
// v3Clients speak revision 3 and are driven by client3.mjs's v3-*
// scenarios. The first of each is the default of its script.
var (
	v4Clients = []clientMajor{{"6.6.8", "engine.io-client"}, {"5.2.0", "engine.io-client-v5"}, {"4.1.4", "engine.io-client-v4"}}
	v3Clients = []clientMajor{{"3.5.6", "engine.io-client-v3"}, {"2.1.1", "engine.io-client-v2"}, {"1.8.6", "engine.io-client-v1"}}
)

// forEachClient runs test as a subtest per client, named after its version.
func forEachClient(t *testing.T, clients []clientMajor, test func(t *testing.T, c clientMajor)) {
	t.Helper()
	for _, c := range clients {
		t.Run(c.version, func(t *testing.T) { test(t, c) })
	}
}

// forEachMount runs test, in parallel, for every client of v4Clients
// against an echo server on every mount.
func forEachMount(t *testing.T, test func(t *testing.T, e *echoServer)) {
	t.Helper()
	forEachV4Case(t, mounts,
		func(t *testing.T, mount string) *echoServer { return newEchoServerOn(t, false, mount) },
		func(t *testing.T, e *echoServer, _ string) { test(t, e) })
}

// forEachTransport runs test, in parallel, for every client of v4Clients
// and every transport of transports, against an echo server of its own.
func forEachTransport(t *testing.T, test func(t *testing.T, e *echoServer, tr string)) {
	t.Helper()
	forEachV4Case(t, transports, func(t *testing.T, _ string) *echoServer { return newEchoServer(t, false) }, test)
}

// forEachV4Case runs test, in parallel, for every client of v4Clients and
// every case, as a subtest named after it, with a server made by start.
func forEachV4Case(t *testing.T, cases []string, start func(t *testing.T, c string) *echoServer, test func(t *testing.T, e *echoServer, c string)) {
	t.Helper()
	forEachClient(t, v4Clients, func(t *testing.T, client clientMajor) {
		t.Parallel()
		for _, c := range cases {
			t.Run(c, func(t *testing.T) {
				t.Parallel()
				e := start(t, c)
				e.client = client
				test(t, e, c)
			})
		}
	})
}

// requireNode returns the path of node, failing the test when node or one
// of the installed clients is missing or not the version the tests expect.
func requireNode(t *testing.T) string {
	t.Helper()
	nodeOnce.Do(func() {
		nodePath, nodeErr = exec.LookPath("node")
		if nodeErr != nil {
			nodeErr = fmt.Errorf("node is not on PATH (%v): install Node.js 18 or later and run `npm ci --prefix interop` first", nodeErr)
			return
		}
		for _, c := range slices.Concat(v4Clients, v3Clients) {
			if nodeErr = checkInstalled(c, "engine.io-client"); nodeErr != nil {
				return
			}
		}
		for _, c := range sioClients {
			if nodeErr = checkInstalled(c.clientMajor, "socket.io-client"); nodeErr != nil {
				return
			}
		}
	})
	if nodeErr != nil {
		t.Fatal(nodeErr)
	}
	return nodePath
}

// checkInstalled reports an error unless c is installed at its version,
// and is the package called name.
func checkInstalled(c clientMajor, name string) error {
	b, err := os.ReadFile(filepath.Join("node_modules", c.pkg, "package.json"))
	if err != nil {
		return fmt.Errorf("%s is not installed in interop/node_modules (%v): run `npm ci --prefix interop` first", c.pkg, err)
	}
	var pj struct {
		Name, Version string
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		return fmt.Errorf("interop/node_modules/%s/package.json: %w", c.pkg, err)
	}
	if pj.Name != name || pj.Version != c.version {
		return fmt.Errorf("interop/node_modules/%s is %s %s, want %s %s: run `npm ci --prefix interop`", c.pkg, pj.Name, pj.Version, name, c.version)
	}
	return nil
}

// checkClientVersion fails the test unless the script ran the client the
// test asked for (def when it asked for none).
func checkClientVersion(t *testing.T, cmdline, ran string, asked, def clientMajor) {
	t.Helper()
	if asked == (clientMajor{}) {
		asked = def
	}
	if ran != asked.version {
		t.Fatalf("%s: the script ran client version %q, want %s", cmdline, ran, asked.version)
	}
}

// clientCommand returns the node command that runs script with args for
// client c, named by the environment variable pick (the script's default
// client when c is zero).
func clientCommand(ctx context.Context, node, pick string, c clientMajor, script string, args []string) (*exec.Cmd, string) {
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmdline := "node " + script + " " + strings.Join(args, " ")
	// Never a choice from the test's own environment.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, pick+"=") })
	if c.pkg != "" {
		cmd.Env = append(cmd.Env, pick+"="+c.pkg)
		cmdline = pick + "=" + c.pkg + " " + cmdline
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd, cmdline
}

// runClient runs client.mjs and returns its report; it fails the test when
// the client exits non-zero or prints no valid report.
func runClient(t *testing.T, e *echoServer, scenario string, transport string) clientResult {
	t.Helper()
	node := requireNode(t)
	args := []string{scenario, e.url}
	if transport != "" {
		args = append(args, transport)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd, cmdline := clientCommand(ctx, node, "EIO_CLIENT", e.client, "client.mjs", args)
	if e.caFile != "" {
		cmd.Env = append(cmd.Env, "NODE_EXTRA_CA_CERTS="+e.caFile)
		cmdline = "NODE_EXTRA_CA_CERTS=" + e.caFile + " " + cmdline
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (killed after %v)", err, clientTimeout)
		}
		t.Fatalf("%s: %v\nclient stdout:\n%s\nclient stderr:\n%s\nserver saw:\n%s",
			cmdline, err, indent(stdout.String()), indent(stderr.String()), e.summary())
	}
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", cmdline, indent(stderr.String()))
	}
	line := lastLine(stdout.String())
	var res clientResult
	if err := json.Unmarshal([]byte(line), &res); err != nil || !res.OK {
		t.Fatalf("%s: exit 0 but no {\"ok\":true,...} report (%v); stdout:\n%s", cmdline, err, indent(stdout.String()))
	}
	checkClientVersion(t, cmdline, res.Client, e.client, v4Clients[0])
	t.Logf("%s (%v): %s", cmdline, time.Since(start).Round(time.Millisecond), line)
	return res
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// checkTransports asserts that every message reached the server over want.
func checkTransports(t *testing.T, e *echoServer, want string) {
	t.Helper()
	texts, bins := e.messages()
	for _, ev := range append(texts, bins...) {
		if ev.transport != want {
			t.Errorf("server: %s, want transport %s", ev, want)
		}
	}
}

// checkBasicEcho asserts the server side of the text + binary echo.
func checkBasicEcho(t *testing.T, e *echoServer, res clientResult) {
	t.Helper()
	if res.Echoed != 2 {
		t.Errorf("client echoed %d messages, want 2", res.Echoed)
	}
	texts, bins := e.messages()
	if len(texts) != 1 || texts[0].text != "hello" {
		t.Errorf("server text messages %v, want [hello]:\n%s", texts, e.summary())
	}
	if len(bins) != 1 || !bytes.Equal(bins[0].data, []byte{1, 2, 3, 4}) {
		t.Errorf("server binary messages %v, want one [1 2 3 4]:\n%s", bins, e.summary())
	}
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func TestPollingEcho(t *testing.T) {
	forEachMount(t, func(t *testing.T, e *echoServer) {
		res := runClient(t, e, "polling-echo", "")
		if res.Transport != "polling" || res.Upgraded {
			t.Errorf("client transport %q upgraded=%v, want polling without upgrade", res.Transport, res.Upgraded)
		}
		e.checkCommon(t, res)
		checkBasicEcho(t, e, res)
		checkTransports(t, e, "polling")
	})
}

func TestWebSocketEcho(t *testing.T) {
	forEachMount(t, func(t *testing.T, e *echoServer) {
		res := runClient(t, e, "websocket-echo", "")
		if res.Transport != "websocket" {
			t.Errorf("client transport %q, want websocket", res.Transport)
		}
		e.checkCommon(t, res)
		checkBasicEcho(t, e, res)
		checkTransports(t, e, "websocket")
	})
}

func TestUpgrade(t *testing.T) {
	forEachMount(t, func(t *testing.T, e *echoServer) {
		res := runClient(t, e, "upgrade", "")
		if res.FirstTransport != "polling" || res.Transport != "websocket" || !res.Upgraded {
			t.Errorf("client: first transport %q, transport %q, upgraded=%v; want polling then websocket",
				res.FirstTransport, res.Transport, res.Upgraded)
		}
		e.checkCommon(t, res)
		if evs := e.snapshot(); len(evs) > 0 && evs[0].transport != "polling" {
			t.Errorf("server: session opened on %q, want polling", evs[0].transport)
		}
		checkBasicEcho(t, e, res)
		// The client sends only after its "upgrade" event, which follows
		// the "5" packet on the same WebSocket.
		checkTransports(t, e, "websocket")
	})
}

// transports of the parameterised scenarios: polling only, websocket only,
// and polling upgraded to websocket while the traffic flows.
var transports = []string{"polling", "websocket", "upgrade"}

func TestLarge(t *testing.T) {
	t.Parallel()
	forEachTransport(t, func(t *testing.T, e *echoServer, tr string) {
		res := runClient(t, e, "large", tr)
		if res.TextLength != largeSize || res.BinaryLength != largeSize {
			t.Errorf("client echoed text of %d and binary of %d chars, want %d each", res.TextLength, res.BinaryLength, largeSize)
		}
		e.checkCommon(t, res)
		texts, bins := e.messages()
		if len(texts) != 1 || len(texts[0].text) != largeSize {
			t.Errorf("server text messages: %v, want one of %d bytes", texts, largeSize)
		}
		if len(bins) != 1 || len(bins[0].data) != largeSize {
			t.Errorf("server binary messages: %v, want one of %d bytes", bins, largeSize)
		}
		if tr != "upgrade" {
			checkTransports(t, e, tr)
		}
	})
}

func TestOrdered(t *testing.T) {
	t.Parallel()
	forEachTransport(t, func(t *testing.T, e *echoServer, tr string) {
		res := runClient(t, e, "ordered", tr)
		if res.Echoed != orderedCount {
			t.Errorf("client echoed %d messages, want %d", res.Echoed, orderedCount)
		}
		e.checkCommon(t, res)
		texts, bins := e.messages()
		if len(bins) != 0 {
			t.Errorf("server received %d binary messages, want 0", len(bins))
		}
		if len(texts) != orderedCount {
			t.Errorf("server received %d text messages, want %d", len(texts), orderedCount)
		}
		for i, ev := range texts {
			if want := fmt.Sprintf("m%d", i); ev.text != want {
				t.Errorf("server message #%d is %q, want %q", i, ev.text, want)
				break
			}
		}
		if tr != "upgrade" {
			checkTransports(t, e, tr)
		}
	})
}

func TestServerClose(t *testing.T) {
	t.Parallel()
	forEachTransport(t, func(t *testing.T, e *echoServer, tr string) {
		res := runClient(t, e, "server-close", tr)
		// client.mjs checks the reason is "transport close" and that the
		// echo of "before-close" arrived before the close.
		t.Logf("client: close reason %q (%s)", res.CloseReason, res.CloseDescription)
		reason := e.checkCommon(t, res)
		if reason != engineio.ReasonServerClose {
			t.Errorf("server: OnDisconnect reason %q, want %q", reason, engineio.ReasonServerClose)
		}
		texts, _ := e.messages()
		if len(texts) != 2 || texts[0].text != "before-close" || texts[1].text != "close-me" {
			t.Errorf("server text messages %v, want [before-close close-me]", texts)
		}
		wantTransport := tr
		if tr == "upgrade" {
			wantTransport = "websocket" // client.mjs waits for the upgrade
		}
		if res.Transport != wantTransport {
			t.Errorf("client transport at close %q, want %q", res.Transport, wantTransport)
		}
		checkTransports(t, e, wantTransport)
	})
}

// TestClientClose: engine.io-client's socket.close() sends a "1" packet over
// polling but only closes the WebSocket (close frame, no "1" packet) over
// websocket. The server documents "client close" for a close packet and
// "transport close" for a connection closed cleanly by the client.
func TestClientClose(t *testing.T) {
	t.Parallel()
	forEachClient(t, v4Clients, func(t *testing.T, c clientMajor) {
		t.Parallel()
		for _, tc := range []struct {
			transport string
			want      engineio.Reason
		}{
			{"polling", engineio.ReasonClientClose},
			{"websocket", engineio.ReasonTransportClose},
		} {
			t.Run(tc.transport, func(t *testing.T) {
				t.Parallel()
				e := newEchoServer(t, false)
				e.client = c
				res := runClient(t, e, "client-close", tc.transport)
				if res.CloseReason != "forced close" {
					t.Errorf("client close reason %q, want \"forced close\"", res.CloseReason)
				}
				if res.Transport != tc.transport {
					t.Errorf("client closed over %q, want %q", res.Transport, tc.transport)
				}
				if strings.Contains(res.Closed, "not confirmed") {
					t.Errorf("client: %s", res.Closed)
				}
				reason := e.checkCommon(t, res)
				if reason != tc.want {
					t.Errorf("server: OnDisconnect reason %q, want %q", reason, tc.want)
				}
				texts, _ := e.messages()
				if len(texts) != 1 || texts[0].text != "hi" {
					t.Errorf("server text messages %v, want [hi]", texts)
				}
			})
		}
	})
}

// TestHeartbeat runs with the official suite's 300 ms / 200 ms heartbeat.
// It is timing-sensitive, so its subtests do not run in parallel with each
// other nor with the other tests (no t.Parallel). The older clients run
// with the server as the http.Server's Handler only.
func TestHeartbeat(t *testing.T) {
	forEachClient(t, v4Clients, func(t *testing.T, c clientMajor) {
		// Over TLS, the WebSocket parks between pings (a quiet one parks
		// after 5 ms here) and each pong resumes it through crypto/tls.
		mounts := []string{mountRoot, mountServe, mountTLS}
		if c != v4Clients[0] {
			mounts = mounts[:1]
		}
		for _, tr := range append(transports, "polling-keepalive") {
			for _, mount := range mounts {
				heartbeat(t, c, tr, mount)
			}
		}
	})
}

func heartbeat(t *testing.T, c clientMajor, tr, mount string) {
	t.Run(tr+"/"+mount, func(t *testing.T) {
		e := newEchoServerOn(t, true, mount)
		e.client = c
		res := runClient(t, e, "heartbeat", tr)
		if res.PingInterval != 300 || res.PingTimeout != 200 {
			t.Errorf("client saw pingInterval %d, pingTimeout %d in the handshake, want 300, 200", res.PingInterval, res.PingTimeout)
		}
		// 2 s at one ping per 300 ms; client.mjs requires at least 3.
		if res.Pings < 5 {
			t.Errorf("client answered %d pings in 2 s, want at least 5 at a 300 ms interval", res.Pings)
		}
		// Over polling, each ping is a held poll's answer, a pong POST
		// and a new poll. With a keep-alive client the polls go on the
		// connection the server keeps, not on new ones (two per ping if
		// it closed); each pong's connection closes after it, its next
		// POST being a ping interval away: one new connection per ping,
		// and the handshake's and the message's. Over TLS too.
		t.Logf("%d connections for %d pings", e.conns.Load(), res.Pings)
		if n := e.conns.Load(); tr == "polling-keepalive" && n > int64(res.Pings)+2 {
			t.Errorf("%d connections for %d pings over polling; want the held polls' connection kept", n, res.Pings)
		}
		reason := e.checkCommon(t, res)
		if reason == engineio.ReasonPingTimeout {
			t.Errorf("server: OnDisconnect reason %q although the client answered every ping", reason)
		}
		evs := e.snapshot()
		var msg, gone event
		for _, ev := range evs {
			switch ev.kind {
			case "text":
				msg = ev
			case "disconnect":
				gone = ev
			}
		}
		if msg.text != "still-alive" {
			t.Fatalf("server did not receive \"still-alive\":\n%s", e.summary())
		}
		if alive := msg.at.Sub(evs[0].at); alive < 2*time.Second {
			t.Errorf("server received \"still-alive\" %v after the connect, want >= 2s", alive)
		}
		if gone.at.Before(msg.at) {
			t.Errorf("server disconnected (%q) before \"still-alive\" arrived", gone.reason)
		}
	})
}

// The server is mounted as an http.Handler.
var _ http.Handler = (*engineio.Server)(nil)

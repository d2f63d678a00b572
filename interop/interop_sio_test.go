package interop_test

// Interop with the official socket.io-client, driven by sioclient.mjs: its
// Manager runs engine.io-client with Socket.IO's own settings (its path
// option, no reconnection here, its packets as Engine.IO messages). The
// echo server answers the client's connection to the main namespace and
// echoes every other packet as it is, so each event the client emits comes
// back to it; the tests check the packets on the server's side, byte for
// byte.

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/eioactor/engineio"
)

// sioClient is one installed major of socket.io-client.
type sioClient struct {
	clientMajor
	revision3 bool // speaks Engine.IO revision 3 (and Socket.IO protocol 4)
}

// sioClients: 4.x runs engine.io-client 6.x, 2.x runs 3.5.
var sioClients = []sioClient{
	{clientMajor{"4.8.3", "socket.io-client"}, false},
	{clientMajor{"2.5.0", "socket.io-client-v2"}, true},
}

// sioResult is the JSON line printed by sioclient.mjs.
type sioResult struct {
	OK             bool   `json:"ok"`
	Client         string `json:"client"`
	SID            string `json:"sid"`
	FirstTransport string `json:"firstTransport"`
	Transport      string `json:"transport"`
	Echoed         int    `json:"echoed"`
	CloseReason    string `json:"closeReason"`
	Closed         string `json:"closed"` // how the close reached the wire
}

// sioBinary is the Buffer sioclient.mjs emits with its "bin" event.
var sioBinary = []byte{1, 2, 3, 4, 0, 255}

func TestSocketIOClient(t *testing.T) {
	t.Parallel()
	for _, c := range sioClients {
		t.Run(c.version, func(t *testing.T) {
			t.Parallel()
			for _, mode := range transports {
				t.Run(mode, func(t *testing.T) {
					t.Parallel()
					var e *echoServer
					if c.revision3 {
						e, _ = startEchoServer(t, eio3()...)
					} else {
						e = newEchoServer(t, false)
					}
					e.socketIO.Store(true)
					res := runSIOClient(t, e, c.clientMajor, mode)
					checkSocketIO(t, e, c, mode, res)
				})
			}
		})
	}
}

// runSIOClient runs sioclient.mjs with client c and returns its report.
func runSIOClient(t *testing.T, e *echoServer, c clientMajor, mode string) sioResult {
	t.Helper()
	node := requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd, cmdline := clientCommand(ctx, node, "SIO_CLIENT", c, "sioclient.mjs", []string{"echo", e.url, mode})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nclient stdout:\n%s\nclient stderr:\n%s\nserver saw:\n%s",
			cmdline, err, indent(stdout.String()), indent(stderr.String()), e.summary())
	}
	line := lastLine(stdout.String())
	var res sioResult
	if err := json.Unmarshal([]byte(line), &res); err != nil || !res.OK {
		t.Fatalf("%s: exit 0 but no {\"ok\":true,...} report (%v); stdout:\n%s", cmdline, err, indent(stdout.String()))
	}
	checkClientVersion(t, cmdline, res.Client, c, c)
	t.Logf("%s: %s", cmdline, line)
	return res
}

// checkSocketIO asserts the server's side of sioclient.mjs's echo: the
// Socket.IO packets as the client's parser wrote them, on the transport
// the mode calls for, and the session's end.
func checkSocketIO(t *testing.T, e *echoServer, c sioClient, mode string, res sioResult) {
	t.Helper()
	want := "websocket"
	if mode == "polling" {
		want = "polling"
	}
	if res.Transport != want || (mode != "websocket") != (res.FirstTransport == "polling") {
		t.Errorf("client: first transport %q, transport %q; want %q at the end", res.FirstTransport, res.Transport, want)
	}
	if res.CloseReason != "forced close" || strings.Contains(res.Closed, "not confirmed") {
		t.Errorf("client: close reason %q, %s", res.CloseReason, res.Closed)
	}
	reason := e.checkCommon(t, clientResult{SID: res.SID})
	wantReason := engineio.ReasonTransportClose // the client closes its WebSocket
	if want == "polling" {
		wantReason = engineio.ReasonClientClose // a close packet
	}
	if reason != wantReason {
		t.Errorf("server: OnDisconnect reason %q, want %q", reason, wantReason)
	}

	// What the client sent: its namespace connection (protocol 5 only),
	// the two events and its disconnection, in order.
	texts, bins := e.messages()
	var got []string
	for _, ev := range texts {
		got = append(got, ev.text)
	}
	packets := []string{
		`2["text","hello","€ 😀 ünïcödé"]`,
		`51-["bin",{"_placeholder":true,"num":0}]`,
		`1`,
	}
	if !c.revision3 {
		packets = append([]string{"0"}, packets...)
	}
	if !slices.Equal(got, packets) {
		t.Errorf("server text messages %q, want %q", got, packets)
	}
	if len(bins) != 1 || !bytes.Equal(bins[0].data, sioBinary) {
		t.Errorf("server binary messages %v, want one %v", bins, sioBinary)
	}
	for _, ev := range append(texts, bins...) {
		if ev.text != "0" && ev.transport != want {
			t.Errorf("server: %s, want transport %s", ev, want)
		}
	}
}

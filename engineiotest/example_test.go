package engineiotest_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/eioactor/engineio"
	"github.com/eioactor/engineio/engineiotest"
)

// exampleT stands in, in these examples, for the *testing.T a real test
// passes to engineiotest.New.
type exampleT struct {
	testing.TB // not used: only the methods below are called
	cleanups   []func()
}

func newExampleT() *exampleT { return &exampleT{} }

func (t *exampleT) Helper()             {}
func (t *exampleT) Logf(string, ...any) {}
func (t *exampleT) Cleanup(f func())    { t.cleanups = append(t.cleanups, f) }

func (t *exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// finish runs the cleanups, as the testing package does when a test ends.
func (t *exampleT) finish() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// Testing a handler: a chat-like server answers "ping" with "pong" and
// ignores the rest. The client talks over polling, then upgrades to
// WebSocket and goes on.
func Example() {
	t := newExampleT() // in a test: func TestChat(t *testing.T)
	defer t.finish()

	h := engineiotest.New(t)
	h.Server().OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Text() == "ping" {
			_ = s.Send("pong")
		}
	})

	c := h.Connect(engineiotest.Polling)
	c.Send("ping")
	c.Send("hello")
	fmt.Println(c.SID(), engineiotest.Texts(c.Receive()))

	c.Upgrade()
	c.Send("ping")
	fmt.Println(c.Transport(), engineiotest.Texts(c.Receive()))
	// Output:
	// sid1 [pong]
	// websocket [pong]
}

// Testing the heartbeat with the fake clock: the server pings every ping
// interval and closes a session whose pong does not come within the ping
// timeout. No time passes for real.
func Example_heartbeat() {
	t := newExampleT()
	defer t.finish()

	h := engineiotest.New(t,
		engineio.WithPingInterval(25*time.Second),
		engineio.WithPingTimeout(20*time.Second))
	h.Server().OnDisconnect(func(s *engineio.Session, reason engineio.Reason) {
		fmt.Println("disconnect:", s.ID(), reason)
	})
	live := h.Connect(engineiotest.WebSocket)
	silent := h.Connect(engineiotest.Polling)

	h.Advance(25 * time.Second) // the server pings both
	live.Pong()                 // only one answers
	h.Advance(20 * time.Second) // the silent one's ping timeout

	reason, closed := silent.Closed()
	fmt.Println("silent:", closed, reason)
	_, closed = live.Closed()
	fmt.Println("live:", closed, live.Pings())

	// When the test ends, the harness closes the server: the last line.

	// Output:
	// disconnect: sid2 ping timeout
	// silent: true ping timeout
	// live: false 1
	// disconnect: sid1 server shutdown
}

// Testing backpressure: a WebSocket client that does not read (Stall)
// leaves the server's messages in the session's outbound queue, whose
// bounds WithOutboundQueue sets.
func Example_backpressure() {
	t := newExampleT()
	defer t.finish()

	h := engineiotest.New(t, engineio.WithOutboundQueue(2, 0, engineio.OverflowReject))
	srv := h.Server()
	srv.OnDrain(func(s *engineio.Session) { fmt.Println("drained") })
	c := h.Connect(engineiotest.WebSocket)
	c.Stall()

	for _, text := range []string{"a", "b", "c", "d"} {
		// "a" is with the stuck writer, "b" and "c" fill the queue.
		err := srv.Send(c.SID(), text)
		fmt.Println(text, errors.Is(err, engineio.ErrQueueFull))
	}
	c.Resume()
	fmt.Println(engineiotest.Texts(c.Receive()))
	// Output:
	// a false
	// b false
	// c false
	// d true
	// drained
	// [a b c]
}

// Testing a handshake the OnConnect handler rejects.
func ExampleHarness_TryConnect() {
	t := newExampleT()
	defer t.finish()

	h := engineiotest.New(t)
	h.Server().OnConnect(func(s *engineio.Session) error {
		if s.Query().Get("token") != "secret" {
			return errors.New("bad token")
		}
		return nil
	})
	_, err := h.TryConnect(engineiotest.Polling, nil, nil)
	var rejected *engineiotest.RejectedError
	if errors.As(err, &rejected) {
		fmt.Println(rejected.Status, rejected.Message)
	}
	c, err := h.TryConnect(engineiotest.Polling, nil, map[string][]string{"token": {"secret"}})
	fmt.Println(c.SID(), err)
	// Output:
	// 403 bad token
	// sid2 <nil>
}

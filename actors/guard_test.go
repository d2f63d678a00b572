package actors

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// collector is a process that keeps what it is sent.
type collector struct {
	mu   sync.Mutex
	msgs []any
}

func (c *collector) SendUserMessage(_ *actor.PID, m any) {
	c.mu.Lock()
	c.msgs = append(c.msgs, actor.UnwrapEnvelopeMessage(m))
	c.mu.Unlock()
}
func (c *collector) SendSystemMessage(*actor.PID, any) {}
func (c *collector) Stop(*actor.PID)                   {}

func (c *collector) take() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs := c.msgs
	c.msgs = nil
	return msgs
}

// The stop guard answers requests once the session stops: as they are
// posted once it is stopping, as they are dropped once it has stopped; a
// poll with a routed failure, anything else with *SessionClosed. Messages
// without a sender get nothing, and nothing is answered before.
func TestStopGuardAnswers(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		// A dead letter starts a goroutine that lasts one interval: short,
		// so that the package's leak check finds it gone.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	col := &collector{}
	sender, _ := sys.ProcessRegistry.Add(col, "collector")
	g := &stopGuard{info: &Info{SID: "s1"}}
	poll := &actor.MessageEnvelope{Message: &Poll{ID: 7}, Sender: sender}
	post := &actor.MessageEnvelope{Message: &PostBegin{}, Sender: sender}
	send := &actor.MessageEnvelope{Message: &Send{}}

	for _, m := range []any{poll, post, send} {
		g.MessagePosted(m)
		g.MessageReceived(m)
	}
	if got := col.take(); len(got) != 0 {
		t.Fatalf("answered before the session stopped: %v", got)
	}

	g.root.Store(sys.Root)
	g.stopping.Store(true)
	for _, m := range []any{poll, post, send} {
		g.MessageReceived(m) // still handled by the session
	}
	if got := col.take(); len(got) != 0 {
		t.Fatalf("answered what the closing session handles itself: %v", got)
	}
	for _, m := range []any{poll, post, send} {
		g.MessagePosted(m)
	}
	expectGuardAnswers(t, col.take())

	g.stopped.Store(true)
	for _, m := range []any{poll, post, send} {
		g.MessageReceived(m)
	}
	expectGuardAnswers(t, col.take())
}

// expectGuardAnswers checks the answers to a poll with ID 7 and a post.
func expectGuardAnswers(t *testing.T, got []any) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("answers %v; want one to the poll and one to the post", got)
	}
	if f, ok := got[0].(*Failure); !ok || f.Poll != 7 || f.Code != unknownSID().Code {
		t.Errorf("the poll got %#v; want an unknown-sid failure routed to poll 7", got[0])
	}
	if sc, ok := got[1].(*SessionClosed); !ok || sc.SID != "s1" {
		t.Errorf("the post got %#v; want *SessionClosed for s1", got[1])
	}
}

// lockedLog is a log's output, written from the actor system's goroutines.
type lockedLog struct {
	mu  sync.Mutex
	out []byte
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out = append(l.out, p...)
	return len(p), nil
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.out)
}

// The messages that may reach a session as it stops, with no sender, are
// no dead-letter news: protoactor neither logs them nor starts its
// throttle's goroutine for them. Anything else still is.
func TestLateSessionMessagesAreNoDeadLetters(t *testing.T) {
	var log lockedLog
	logger := slog.New(slog.NewTextHandler(&log, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []any{&Send{}, &Close{}, &PollAbandoned{}, &WebSocketOpened{}} {
		sys.Root.Send(pid, m)
	}
	// Dead letters are logged as they are sent: this one is the only news.
	sys.Root.Send(pid, "news")
	if got := strings.Count(log.String(), "[DeadLetter]"); got != 1 || !strings.Contains(log.String(), "news") {
		t.Errorf("dead-letter log:\n%s\nwant one line, of the string", log.String())
	}
	time.Sleep(20 * time.Millisecond) // the throttle's goroutine of the news ends
}

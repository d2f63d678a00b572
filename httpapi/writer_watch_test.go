package httpapi

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
)

// watchCmd and unwatchCmd ask a watcher actor to watch, or stop watching,
// a PID.
type (
	watchCmd   struct{ pid *actor.PID }
	unwatchCmd struct {
		pid  *actor.PID
		done chan struct{}
	}
)

// spawnWatcher starts an actor that watches what it is told to and sends
// the PID of every *actor.Terminated it gets to the returned channel.
func spawnWatcher(sys *actor.ActorSystem) (*actor.PID, <-chan *actor.PID) {
	terminated := make(chan *actor.PID, 4)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case watchCmd:
			ctx.Watch(m.pid)
		case unwatchCmd:
			ctx.Unwatch(m.pid)
			close(m.done)
		case *actor.Terminated:
			terminated <- m.Who
		}
	}))
	return pid, terminated
}

func expectTerminated(t *testing.T, who string, got <-chan *actor.PID, want *actor.PID) {
	t.Helper()
	select {
	case pid := <-got:
		if !pid.Equal(want) {
			t.Fatalf("%s: Terminated for %v; want %v", who, pid, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no Terminated", who)
	}
}

// A WebSocket writer keeps protoactor's watch contract, though it is no
// actor of protoactor's: a watcher learns when it stops (Terminated),
// at once if it has stopped already, and not after Unwatch. A writer that
// fails (a panic while writing) logs it, closes its connection and stops.
func TestWriterWatchers(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	server, client := net.Pipe()
	defer client.Close()
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, client)
		close(ended)
	}()
	var logs bytes.Buffer
	ww := &wsWriter{nc: server, closer: server, timeout: time.Second, deflateThreshold: -1, logger: slog.New(slog.NewTextHandler(&logs, nil))}
	pid := ww.start(sys, nil)

	stays, staysGot := spawnWatcher(sys)
	leaves, leavesGot := spawnWatcher(sys)
	defer sys.Root.Stop(stays)
	defer sys.Root.Stop(leaves)
	sys.Root.Send(stays, watchCmd{pid})
	sys.Root.Send(leaves, watchCmd{pid})
	done := make(chan struct{})
	sys.Root.Send(leaves, unwatchCmd{pid, done})
	<-done

	// A message whose handling panics: a nil batch.
	sys.Root.Send(pid, (*actors.WriteFrames)(nil))
	expectTerminated(t, "a watcher, when the writer failed", staysGot, pid)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the failed writer's connection is still open")
	}
	if !strings.Contains(logs.String(), "websocket writer failed") {
		t.Errorf("the failure was not logged: %q", logs.String())
	}
	late, lateGot := spawnWatcher(sys)
	defer sys.Root.Stop(late)
	sys.Root.Send(late, watchCmd{pid})
	expectTerminated(t, "a watcher of a writer stopped already", lateGot, pid)
	select {
	case got := <-leavesGot:
		t.Fatalf("Terminated for %v after Unwatch", got)
	case <-time.After(50 * time.Millisecond):
	}
}

package engineio

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The compacted registry keeps the system's own processes and serves new
// ones: an actor answers a request (a future is a process too), and a
// stopped actor leaves the registry.
func TestCompactProcessRegistry(t *testing.T) {
	sys := newActorSystem(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if n := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); n != 1 {
		t.Fatalf("registry has %d sharded maps, want 1", n)
	}
	for _, id := range []string{"deadletter", "eventstream"} {
		if _, ok := sys.ProcessRegistry.GetLocal(id); !ok {
			t.Errorf("process %q lost in the compaction", id)
		}
	}
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			c.Respond(s + "!")
		}
	}))
	got, err := sys.Root.RequestFuture(pid, "hi", time.Second).Result()
	if err != nil || got != "hi!" {
		t.Fatalf("request: %v, %v", got, err)
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sys.ProcessRegistry.Get(pid); ok {
		t.Error("a stopped actor is still registered")
	}
}

package reply

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystemWithConfig(actor.Configure(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }),
		// A dead letter starts a goroutine that lasts one interval: short,
		// so that the package's leak check finds it gone.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	))
	t.Cleanup(sys.Shutdown)
	return sys
}

func registered(sys *actor.ActorSystem, ib *Inbox) bool {
	_, ok := sys.ProcessRegistry.GetLocal(ib.PID().Id)
	return ok
}

func TestInboxWait(t *testing.T) {
	sys := newSystem(t)
	ib := New(sys)
	defer ib.Release()
	sys.Root.Send(ib.PID(), "hello")
	got, err := ib.Wait(context.Background(), time.Second)
	if err != nil || got != "hello" {
		t.Fatalf("Wait = %v, %v; want hello", got, err)
	}
	if _, err := ib.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Wait without a reply = %v; want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ib.Wait(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context = %v; want context.Canceled", err)
	}
	// A reply already there is returned without a timer, even when the
	// context is done.
	fresh := New(sys)
	defer fresh.Release()
	sys.Root.Send(fresh.PID(), "ready")
	for deadline := time.Now().Add(time.Second); len(fresh.ch) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if got, err := fresh.Wait(ctx, time.Second); err != nil || got != "ready" {
		t.Fatalf("Wait with the reply there = %v, %v; want ready", got, err)
	}
	if fresh.timer != nil {
		t.Fatal("Wait armed a timer for a reply that was there")
	}
	// The timer is reused: a timeout after replies still fires.
	if _, err := ib.Wait(context.Background(), 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second timeout = %v; want ErrTimeout", err)
	}
}

func TestPoolReusesSettledInboxes(t *testing.T) {
	sys := newSystem(t)
	p := NewPool(sys, 2)
	a := p.Get()
	p.Put(a, true)
	if b := p.Get(); b != a {
		t.Fatal("a settled inbox was not reused")
	}
	if !registered(sys, a) {
		t.Fatal("a pooled inbox was unregistered")
	}
	// Not settled: released, never handed out again.
	p.Put(a, false)
	if registered(sys, a) {
		t.Fatal("an unsettled inbox is still registered")
	}
	if c := p.Get(); c == a {
		t.Fatal("an unsettled inbox was reused")
	}
}

func TestPoolReleasesInboxWithPendingReply(t *testing.T) {
	sys := newSystem(t)
	p := NewPool(sys, 2)
	ib := p.Get()
	sys.Root.Send(ib.PID(), "late")
	deadline := time.Now().Add(time.Second)
	for len(ib.ch) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.Put(ib, true)
	if registered(sys, ib) {
		t.Fatal("an inbox holding a reply was kept")
	}
}

func TestPoolBoundAndClose(t *testing.T) {
	sys := newSystem(t)
	p := NewPool(sys, 1)
	a, b := p.Get(), p.Get()
	p.Put(a, true)
	p.Put(b, true) // over the bound
	if registered(sys, b) {
		t.Fatal("an inbox over the bound was kept")
	}
	p.Close()
	if registered(sys, a) {
		t.Fatal("Close left an idle inbox registered")
	}
	c := p.Get()
	p.Put(c, true)
	if registered(sys, c) {
		t.Fatal("an inbox put back after Close was kept")
	}
}

// waitQueued waits until ib holds a reply.
func waitQueued(t *testing.T, ib *Inbox) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); len(ib.ch) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no reply queued")
		}
		time.Sleep(time.Millisecond)
	}
}

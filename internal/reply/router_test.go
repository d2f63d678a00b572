package reply

import (
	"context"
	"errors"
	"testing"
	"time"
)

// routed is a reply naming the request it answers.
type routed struct {
	id   uint64
	text string
}

func (r *routed) ReplyID() uint64 { return r.id }

func TestRouterDelivers(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	a, b := r.Get(), r.Get()
	if a.PID() != b.PID() || a.ID() == b.ID() || a.ID() == 0 {
		t.Fatalf("inboxes share the router's PID under distinct IDs: %v %d, %v %d", a.PID(), a.ID(), b.PID(), b.ID())
	}
	if _, ok := sys.ProcessRegistry.GetLocal(a.PID().Id); !ok {
		t.Fatal("the router is not registered")
	}
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "to b"})
	sys.Root.Send(r.pid, &routed{id: a.ID(), text: "to a"})
	sys.Root.Send(r.pid, "not routed")
	sys.Root.Send(r.pid, &routed{id: 1 << 40, text: "to nobody"})
	for _, c := range []struct {
		ib   *Inbox
		want string
	}{{a, "to a"}, {b, "to b"}} {
		got, err := c.ib.Wait(context.Background(), time.Second, nil)
		if err != nil || got.(*routed).text != c.want {
			t.Fatalf("Wait = %v, %v; want %q", got, err, c.want)
		}
		if got, err := c.ib.Wait(context.Background(), 10*time.Millisecond, nil); !errors.Is(err, ErrTimeout) {
			t.Fatalf("a second Wait = %v, %v; want ErrTimeout", got, err)
		}
	}

	// A held request's reply goes to its handoff.
	handed := make(chan any, 1)
	a.Handoff(func(m any) { handed <- m })
	sys.Root.Send(r.pid, &routed{id: a.ID(), text: "held"})
	select {
	case m := <-handed:
		if m.(*routed).text != "held" {
			t.Fatalf("handoff got %v", m)
		}
	case <-time.After(time.Second):
		t.Fatal("no reply handed off")
	}
}

// An inbox handed back answers under a new ID when reused: a late reply
// to its earlier request is dropped.
func TestRouterDropsLateReplies(t *testing.T) {
	sys := newSystem(t)
	r := NewRouter(sys, 4)
	defer r.Close()
	a := r.Get()
	old := a.ID()
	r.Put(a, true)
	if a.ID() != 0 {
		t.Fatalf("an inbox handed back keeps ID %d", a.ID())
	}
	b := r.Get()
	if b != a || b.ID() == old {
		t.Fatalf("Get after Put: %p ID %d; want the same inbox (%p) under a new ID (not %d)", b, b.ID(), a, old)
	}
	sys.Root.Send(r.pid, &routed{id: old, text: "late"})
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "current"})
	got, err := b.Wait(context.Background(), time.Second, nil)
	if err != nil || got.(*routed).text != "current" {
		t.Fatalf("Wait = %v, %v; want the current reply", got, err)
	}

	// An inbox with a reply left unread is not reused.
	sys.Root.Send(r.pid, &routed{id: b.ID(), text: "unread"})
	deadline := time.Now().Add(time.Second)
	for len(b.ch) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	r.Put(b, true)
	if c := r.Get(); c == b {
		t.Fatal("an inbox with an unread reply was reused")
	}
}

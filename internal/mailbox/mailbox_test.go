package mailbox

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (a mailbox
// run that never ends, a fallback that never returns).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testWait = 10 * time.Second

// newSystem is an actor system that does not log. The short dead-letter
// throttle interval only makes the throttle goroutine end soon, should a
// test produce a dead letter, for the leak checks.
func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return discard }),
		actor.WithDeadLetterRequestLogging(false),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	t.Cleanup(sys.Shutdown)
	return sys
}

// wait fails the test if ch is not closed (or sent on) within testWait.
func wait[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testWait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventLog is a goroutine-safe list of events.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev := l.events
	l.events = nil
	return ev
}

// recInvoker is an actor.MessageInvoker that records what it is given.
type recInvoker struct {
	log    *eventLog
	onUser func(msg any) // called after the message is recorded
	onSys  func(msg any)
}

func (r *recInvoker) InvokeSystemMessage(msg any) {
	r.log.add("sys %v", msg)
	if r.onSys != nil {
		r.onSys(msg)
	}
}

func (r *recInvoker) InvokeUserMessage(msg any) {
	r.log.add("user %v", msg)
	if r.onUser != nil {
		r.onUser(msg)
	}
}

func (r *recInvoker) EscalateFailure(reason, msg any) {
	r.log.add("escalate %v: %v", reason, msg)
}

// recMiddleware is an actor.MailboxMiddleware that records its calls.
type recMiddleware struct{ log *eventLog }

func (r recMiddleware) MailboxStarted()         { r.log.add("mw started") }
func (r recMiddleware) MessagePosted(msg any)   { r.log.add("mw posted %v", msgName(msg)) }
func (r recMiddleware) MessageReceived(msg any) { r.log.add("mw received %v", msgName(msg)) }
func (r recMiddleware) MailboxEmpty()           { r.log.add("mw empty") }

func msgName(msg any) string {
	switch msg.(type) {
	case *actor.SuspendMailbox:
		return "suspend"
	case *actor.ResumeMailbox:
		return "resume"
	}
	return fmt.Sprint(msg)
}

// direct returns a started mailbox that runs on the poster's goroutine.
func direct(inv actor.MessageInvoker, mws ...actor.MailboxMiddleware) *Mailbox {
	m := New(mws...)
	m.RegisterHandlers(inv, actor.NewSynchronizedDispatcher(300))
	m.Start()
	return m
}

var (
	suspendMsg = &actor.SuspendMailbox{}
	resumeMsg  = &actor.ResumeMailbox{}
)

// checkRing verifies the invariants of r against want, its expected
// contents: the FIFO order, a power-of-two capacity, and no reference kept
// outside the queued slots.
func checkRing(t *testing.T, r *ring, want []int) {
	t.Helper()
	n, head := int(r.n), int(r.head)
	if n != len(want) {
		t.Fatalf("n = %d, want %d", n, len(want))
	}
	size := len(r.buf)
	switch {
	case size == 1 && &r.buf[0] != &r.one[0]:
		t.Fatal("a ring of one slot is not the inner slot")
	case size > 1 && (size < ringInitial || size&(size-1) != 0):
		t.Fatalf("len(buf) = %d, not 0, 1 or a power of two >= %d", size, ringInitial)
	}
	if n > size {
		t.Fatalf("n = %d > len(buf) = %d", n, size)
	}
	if size > 0 && (head < 0 || head >= size) {
		t.Fatalf("head = %d out of [0, %d)", head, size)
	}
	for i := range size {
		inQueue := (i-head+size)%size < n
		switch v := r.buf[i]; {
		case inQueue && v != want[(i-head+size)%size]:
			t.Fatalf("buf[%d] = %v, want %d", i, v, want[(i-head+size)%size])
		case !inQueue && v != nil:
			t.Fatalf("buf[%d] = %v outside the queue: a popped message is still referenced", i, v)
		}
	}
	if r.one[0] != nil && (size != 1 || n == 0) {
		t.Fatalf("the inner slot holds %v outside the queue", r.one[0])
	}
}

// A queue of one message, the usual case, lives in the ring's own slot.
func TestRingQueueOfOneAllocatesNothing(t *testing.T) {
	var r ring
	msg := &struct{}{}
	allocs := testing.AllocsPerRun(100, func() {
		r.push(msg)
		if r.pop(shrinkAbove) != msg {
			t.Fatal("pop returned another message")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per push and pop of one message, want 0", allocs)
	}
	if r.buf != nil || r.one[0] != nil {
		t.Fatalf("empty ring: buf %v, inner slot %v; want both nil", r.buf, r.one[0])
	}
}

func TestRingFIFOAcrossWrapAround(t *testing.T) {
	var r ring
	var model []int
	next := 0
	push := func(k int) {
		for range k {
			r.push(next)
			model = append(model, next)
			next++
		}
		checkRing(t, &r, model)
	}
	pop := func(k int) {
		for range k {
			got := r.pop(shrinkAbove)
			if got != model[0] {
				t.Fatalf("pop = %v, want %d", got, model[0])
			}
			model = model[1:]
		}
		checkRing(t, &r, model)
	}

	push(1) // in the inner slot
	if len(r.buf) != 1 {
		t.Fatalf("len(buf) = %d after one push, want the inner slot", len(r.buf))
	}
	pop(1)
	push(4) // grown out of the inner slot: full at its initial size
	if len(r.buf) != ringInitial {
		t.Fatalf("len(buf) = %d after %d pushes, want %d", len(r.buf), ringInitial, ringInitial)
	}
	pop(3)
	push(3) // wraps around: head 3, the tail at 0..1
	if r.head != 3 || len(r.buf) != 4 {
		t.Fatalf("head = %d, len(buf) = %d; want a wrapped ring of 4 (head 3)", r.head, len(r.buf))
	}
	push(1) // grows while wrapped: the order must survive the copy
	if len(r.buf) != 8 || r.head != 0 {
		t.Fatalf("after growing: len(buf) = %d, head = %d; want 8, 0", len(r.buf), r.head)
	}
	pop(2)
	push(6) // wraps again at 8 slots
	push(1) // grows to 16 while wrapped
	if len(r.buf) != 16 {
		t.Fatalf("len(buf) = %d, want 16", len(r.buf))
	}
	pop(len(model))
	if r.pop(shrinkAbove) != nil {
		t.Fatal("pop of an empty ring is not nil")
	}
	if r.head != 0 || len(r.buf) != 16 {
		t.Fatalf("emptied small ring: head = %d, len(buf) = %d; want 0, 16 (kept)", r.head, len(r.buf))
	}
}

func TestRingRandomAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r ring
	var model []int
	next, released, wrapped := 0, 0, 0
	for step := range 5000 {
		// Bursts of pushes, then of pops, so that the ring grows past
		// shrinkAbove and empties again now and then.
		burst := 1 + rng.IntN(150)
		if len(model) < 400 && rng.IntN(2) == 0 {
			for range burst {
				r.push(next)
				model = append(model, next)
				next++
			}
		} else {
			for range burst {
				got := r.pop(shrinkAbove)
				if len(model) == 0 {
					if got != nil {
						t.Fatalf("step %d: pop of an empty ring = %v", step, got)
					}
					break
				}
				if got != model[0] {
					t.Fatalf("step %d: pop = %v, want %d", step, got, model[0])
				}
				model = model[1:]
			}
		}
		if len(model) == 0 && len(r.buf) > shrinkAbove {
			t.Fatalf("step %d: empty ring keeps %d slots", step, len(r.buf))
		}
		if len(model) == 0 && r.buf == nil && step > 0 {
			released++
		}
		if r.head > 0 && int(r.head+r.n) > len(r.buf) {
			wrapped++
		}
		checkRing(t, &r, model)
	}
	if released == 0 || wrapped == 0 {
		t.Fatalf("the sequence never released the storage (%d) or wrapped (%d)", released, wrapped)
	}
}

func TestRingReleasesStorageAfterBurst(t *testing.T) {
	var r ring
	for i := range shrinkAbove + 1 {
		r.push(i)
	}
	if len(r.buf) != 2*shrinkAbove {
		t.Fatalf("len(buf) = %d after %d pushes, want %d", len(r.buf), shrinkAbove+1, 2*shrinkAbove)
	}
	for i := range shrinkAbove {
		if got := r.pop(shrinkAbove); got != i {
			t.Fatalf("pop = %v, want %d", got, i)
		}
	}
	if r.buf == nil {
		t.Fatal("storage released while a message is queued")
	}
	if got := r.pop(shrinkAbove); got != shrinkAbove {
		t.Fatalf("pop = %v, want %d", got, shrinkAbove)
	}
	if r.buf != nil || r.head != 0 || r.n != 0 {
		t.Fatalf("after the burst: buf of %d slots, head %d, n %d; want nil, 0, 0", len(r.buf), r.head, r.n)
	}
	// The ring is usable again and starts in its inner slot.
	r.push("again")
	if len(r.buf) != 1 {
		t.Fatalf("len(buf) = %d after a push to a released ring, want 1", len(r.buf))
	}
	if got := r.pop(shrinkAbove); got != "again" {
		t.Fatalf("pop = %v, want again", got)
	}
}

func TestRingKeepsSmallStorage(t *testing.T) {
	for _, k := range []int{1, ringInitial, ringInitial + 1, shrinkAbove} {
		var r ring
		for i := range k {
			r.push(i)
		}
		size := len(r.buf)
		if size > shrinkAbove {
			t.Fatalf("k=%d: len(buf) = %d", k, size)
		}
		for range k {
			r.pop(shrinkAbove)
		}
		if size == 1 {
			size = 0 // the inner slot: nothing to keep
		}
		if len(r.buf) != size || r.head != 0 {
			t.Fatalf("k=%d: emptied ring has %d slots (head %d), want %d kept (head 0)", k, len(r.buf), r.head, size)
		}
		checkRing(t, &r, nil)
	}
}

func TestMailboxReleasesQueueAfterBurst(t *testing.T) {
	log := &eventLog{}
	m := direct(&recInvoker{log: log})

	m.PostSystemMessage(suspendMsg)
	for i := range 100 {
		m.PostUserMessage(i)
	}
	if len(m.user.buf) != 128 {
		t.Fatalf("user queue of %d slots with 100 queued, want 128", len(m.user.buf))
	}
	m.PostSystemMessage(resumeMsg)
	if got := len(log.take()); got != 100 {
		t.Fatalf("%d messages handled, want 100", got)
	}
	if m.user.buf != nil {
		t.Fatalf("user queue keeps %d slots after the burst", len(m.user.buf))
	}

	// A small queue is kept: no allocation on the next post.
	m.PostSystemMessage(suspendMsg)
	for i := range 10 {
		m.PostUserMessage(i)
	}
	m.PostSystemMessage(resumeMsg)
	if len(m.user.buf) != 16 {
		t.Fatalf("user queue of %d slots after a small burst, want 16 kept", len(m.user.buf))
	}
}

func TestMailboxSystemMessagesFirst(t *testing.T) {
	log := &eventLog{}
	var m *Mailbox
	inv := &recInvoker{log: log}
	// While the first message is handled, the mailbox is running: what is
	// posted then waits, and the system message goes first.
	inv.onUser = func(msg any) {
		if msg == "u0" {
			m.PostUserMessage("u1")
			m.PostUserMessage("u2")
			m.PostSystemMessage("s1")
			m.PostUserMessage("u3")
			m.PostSystemMessage("s2")
			if got := m.UserMessageCount(); got != 3 {
				t.Errorf("UserMessageCount = %d while u1..u3 wait, want 3", got)
			}
		}
	}
	m = direct(inv)
	m.PostUserMessage("u0")

	want := []string{"user u0", "sys s1", "sys s2", "user u1", "user u2", "user u3"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	if got := m.UserMessageCount(); got != 0 {
		t.Fatalf("UserMessageCount = %d, want 0", got)
	}
}

func TestMailboxSystemMessageBetweenUserMessages(t *testing.T) {
	// A system message posted while user messages wait is handled before
	// the next of them, not after all of them.
	log := &eventLog{}
	var m *Mailbox
	inv := &recInvoker{log: log}
	inv.onUser = func(msg any) {
		switch msg {
		case "u0":
			m.PostUserMessage("u1")
			m.PostUserMessage("u2")
		case "u1":
			m.PostSystemMessage("s")
		}
	}
	m = direct(inv)
	m.PostUserMessage("u0")
	want := []string{"user u0", "user u1", "sys s", "user u2"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
}

func TestMailboxSuspendResume(t *testing.T) {
	log := &eventLog{}
	m := direct(&recInvoker{log: log})

	m.PostUserMessage("before")
	m.PostSystemMessage(suspendMsg)
	m.PostUserMessage("a")
	m.PostUserMessage("b")
	if got := log.take(); !slices.Equal(got, []string{"user before"}) {
		t.Fatalf("handled %q while suspended, want only the message before", got)
	}
	if got := m.UserMessageCount(); got != 2 {
		t.Fatalf("UserMessageCount = %d while suspended, want 2", got)
	}

	// System messages still run while suspended.
	m.PostSystemMessage("watch")
	if got := log.take(); !slices.Equal(got, []string{"sys watch"}) {
		t.Fatalf("handled %q, want the system message alone", got)
	}
	// A second suspension changes nothing.
	m.PostSystemMessage(suspendMsg)
	m.PostUserMessage("c")
	if got := log.take(); len(got) != 0 || m.UserMessageCount() != 3 {
		t.Fatalf("handled %q (count %d), want nothing and 3 waiting", got, m.UserMessageCount())
	}

	m.PostSystemMessage(resumeMsg)
	if got, want := log.take(), []string{"user a", "user b", "user c"}; !slices.Equal(got, want) {
		t.Fatalf("handled %q after resume, want %q", got, want)
	}
	if got := m.UserMessageCount(); got != 0 {
		t.Fatalf("UserMessageCount = %d after resume, want 0", got)
	}
	m.PostUserMessage("after")
	if got := log.take(); !slices.Equal(got, []string{"user after"}) {
		t.Fatalf("handled %q, want the message after", got)
	}
}

func TestMailboxSuspendFromHandler(t *testing.T) {
	// As an actor context does on a failure: the handler suspends its own
	// mailbox, and the messages behind wait for the resume.
	log := &eventLog{}
	var m *Mailbox
	inv := &recInvoker{log: log}
	inv.onUser = func(msg any) {
		if msg == "u0" {
			m.PostUserMessage("u1")
			m.PostSystemMessage(suspendMsg)
		}
	}
	m = direct(inv)
	m.PostUserMessage("u0")
	if got := log.take(); !slices.Equal(got, []string{"user u0"}) {
		t.Fatalf("handled %q, want u0 alone", got)
	}
	if m.UserMessageCount() != 1 {
		t.Fatalf("UserMessageCount = %d, want 1", m.UserMessageCount())
	}
	m.PostSystemMessage(resumeMsg)
	if got := log.take(); !slices.Equal(got, []string{"user u1"}) {
		t.Fatalf("handled %q after resume, want u1", got)
	}
}

func TestMailboxMiddlewares(t *testing.T) {
	log := &eventLog{}
	inv := &recInvoker{log: log}
	m := New(recMiddleware{log}, recMiddleware{log})
	m.RegisterHandlers(inv, actor.NewSynchronizedDispatcher(300))

	m.Start()
	step := func(name string, want ...string) {
		t.Helper()
		if got := log.take(); !slices.Equal(got, want) {
			t.Fatalf("%s: calls\n%q\nwant\n%q", name, got, want)
		}
	}
	step("start", "mw started", "mw started")

	m.PostUserMessage("u")
	step("user message",
		"mw posted u", "mw posted u",
		"user u",
		"mw received u", "mw received u",
		"mw empty", "mw empty")

	m.PostSystemMessage("s")
	step("system message",
		"mw posted s", "mw posted s",
		"sys s",
		"mw received s", "mw received s",
		"mw empty", "mw empty")

	// Suspended with a message waiting: the mailbox is not empty.
	m.PostSystemMessage(suspendMsg)
	step("suspend", "mw posted suspend", "mw posted suspend",
		"mw received suspend", "mw received suspend")
	m.PostUserMessage("w")
	step("post while suspended", "mw posted w", "mw posted w")
	m.PostSystemMessage(resumeMsg)
	step("resume",
		"mw posted resume", "mw posted resume",
		"mw received resume", "mw received resume",
		"user w",
		"mw received w", "mw received w",
		"mw empty", "mw empty")
}

func TestMailboxMiddlewaresInActorSystem(t *testing.T) {
	sys := newSystem(t)
	log := &eventLog{}
	m := New(recMiddleware{log})
	got := make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if ctx.Message() == "hello" {
			close(got)
		}
	}, actor.WithMailbox(m.Producer())))
	sys.Root.Send(pid, "hello")
	wait(t, got, "hello")

	// MailboxEmpty comes after the handler returns: poll for it.
	deadline := time.Now().Add(testWait)
	var events []string
	for {
		log.mu.Lock()
		events = slices.Clone(log.events)
		log.mu.Unlock()
		if slices.Contains(events, "mw posted hello") && slices.Contains(events, "mw received hello") &&
			events[len(events)-1] == "mw empty" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("middleware calls %q", events)
		}
		time.Sleep(time.Millisecond)
	}
	// protoactor posts Started before it starts the mailbox.
	if !slices.Contains(events, "mw started") {
		t.Fatalf("MailboxStarted not called: %q", events)
	}
	if i, j := slices.Index(events, "mw posted hello"), slices.Index(events, "mw received hello"); i > j {
		t.Fatalf("hello received before it was posted: %q", events)
	}
}

type failure struct{ reason string }

func TestMailboxPanicEscalates(t *testing.T) {
	log := &eventLog{}
	var m *Mailbox
	inv := &recInvoker{log: log}
	inv.onUser = func(msg any) {
		switch msg {
		case "first":
			// Queued behind the message that fails.
			m.PostUserMessage("boom")
			m.PostUserMessage("next")
		case "boom":
			panic(failure{"user"})
		}
	}
	inv.onSys = func(msg any) {
		if msg == "sysboom" {
			panic(failure{"sys"})
		}
	}
	m = direct(inv)

	m.PostUserMessage("first")
	want := []string{"user first", "user boom", "escalate {user}: boom", "user next"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if m.status.Load() != idle || m.UserMessageCount() != 0 {
		t.Fatalf("after a failure: status %d, %d waiting; want idle, 0", m.status.Load(), m.UserMessageCount())
	}

	m.PostSystemMessage("sysboom")
	want = []string{"sys sysboom", "escalate {sys}: sysboom"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	m.PostUserMessage("after")
	if got := log.take(); !slices.Equal(got, []string{"user after"}) {
		t.Fatalf("events %q, want the next message handled", got)
	}
}

type panicMsg struct{}

func TestMailboxPanicRestartsActor(t *testing.T) {
	// With protoactor's actor context: the failure suspends the mailbox,
	// the actor restarts, the mailbox resumes, and the messages after the
	// failing one are handled in order.
	sys := newSystem(t)
	log := &eventLog{}
	done := make(chan struct{})
	m := New()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			log.add("started")
		case *actor.Restarting:
			log.add("restarting")
		case *panicMsg:
			panic("boom")
		case string:
			log.add("%s", msg)
			if msg == "c" {
				close(done)
			}
		}
	}, actor.WithMailbox(m.Producer())))
	sys.Root.Send(pid, "a")
	sys.Root.Send(pid, &panicMsg{})
	sys.Root.Send(pid, "b")
	sys.Root.Send(pid, "c")
	wait(t, done, "the messages after the failure")
	want := []string{"started", "a", "restarting", "started", "b", "c"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

type batch []any

func (b batch) GetMessages() []any { return b }

func TestMailboxBatchIsOneMessage(t *testing.T) {
	log := &eventLog{}
	m := direct(&recInvoker{log: log})
	m.PostUserMessage(batch{"x", "y"})
	if got := log.take(); !slices.Equal(got, []string{"user [x y]"}) {
		t.Fatalf("handled %q, want the batch as one message", got)
	}
}

type seqMsg struct{ poster, seq int }

func TestMailboxFIFOInActorSystem(t *testing.T) {
	const posters, perPoster = 8, 2000
	sys := newSystem(t)
	m := New()

	next := make([]int, posters) // the actor's own state
	total := 0
	var orderErr error
	done := make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		msg, ok := ctx.Message().(*seqMsg)
		if !ok {
			return
		}
		if msg.seq != next[msg.poster] && orderErr == nil {
			orderErr = fmt.Errorf("poster %d: got message %d, want %d", msg.poster, msg.seq, next[msg.poster])
		}
		next[msg.poster] = msg.seq + 1
		total++
		if total == posters*perPoster {
			close(done)
		}
	}, actor.WithMailbox(m.Producer())))

	var wg sync.WaitGroup
	start := make(chan struct{})
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perPoster {
				sys.Root.Send(pid, &seqMsg{poster: p, seq: i})
			}
		}()
	}
	close(start)
	wg.Wait()
	wait(t, done, "every message")
	if orderErr != nil {
		t.Fatal(orderErr)
	}
	for p, n := range next {
		if n != perPoster {
			t.Fatalf("poster %d: %d messages handled, want %d", p, n, perPoster)
		}
	}
	if got := m.UserMessageCount(); got != 0 {
		t.Fatalf("UserMessageCount = %d after all were handled", got)
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestMailboxFIFOSinglePoster(t *testing.T) {
	// Through the actor system, with the dispatcher's throughput crossed
	// many times and the ring grown, wrapped and released.
	sys := newSystem(t)
	m := New()
	const n = 5000
	got := make([]int, 0, n)
	done := make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if v, ok := ctx.Message().(int); ok {
			got = append(got, v)
			if len(got) == n {
				close(done)
			}
		}
	}, actor.WithMailbox(m.Producer()), actor.WithDispatcher(actor.NewDefaultDispatcher(7))))
	for i := range n {
		sys.Root.Send(pid, i)
	}
	wait(t, done, "every message")
	for i, v := range got {
		if v != i {
			t.Fatalf("message %d is %d", i, v)
		}
	}
}

type nopInvoker struct{ n int }

func (i *nopInvoker) InvokeSystemMessage(any)  {}
func (i *nopInvoker) InvokeUserMessage(any)    { i.n++ }
func (i *nopInvoker) EscalateFailure(any, any) {}

func TestMailboxPostAllocatesNothing(t *testing.T) {
	inv := &nopInvoker{}
	m := New()
	m.RegisterHandlers(inv, actor.NewSynchronizedDispatcher(300))
	m.Start()
	msg := &seqMsg{}

	m.PostUserMessage(msg) // the ring's first storage
	if a := testing.AllocsPerRun(1000, func() { m.PostUserMessage(msg) }); a != 0 {
		t.Fatalf("PostUserMessage and its handling: %v allocations, want 0", a)
	}
	if inv.n != 1002 { // AllocsPerRun runs the function once more to warm up
		t.Fatalf("%d messages handled, want 1002", inv.n)
	}

	// Messages that queue up (while suspended) and drain: the user ring is
	// reused. The suspend and resume each find the system queue empty and
	// take its inner slot.
	queued := func() {
		m.PostSystemMessage(suspendMsg)
		for range 32 {
			m.PostUserMessage(msg)
		}
		m.PostSystemMessage(resumeMsg)
	}
	queued()
	if a := testing.AllocsPerRun(100, queued); a != 0 {
		t.Fatalf("a queue of 32 messages: %v allocations, want 0", a)
	}
	if m.UserMessageCount() != 0 {
		t.Fatalf("UserMessageCount = %d", m.UserMessageCount())
	}

	// With a middleware.
	mw := New(nopMiddleware{})
	mw.RegisterHandlers(inv, actor.NewSynchronizedDispatcher(300))
	mw.PostUserMessage(msg)
	if a := testing.AllocsPerRun(1000, func() { mw.PostUserMessage(msg) }); a != 0 {
		t.Fatalf("with a middleware: %v allocations, want 0", a)
	}
}

type nopMiddleware struct{}

func (nopMiddleware) MailboxStarted()     {}
func (nopMiddleware) MessagePosted(any)   {}
func (nopMiddleware) MessageReceived(any) {}
func (nopMiddleware) MailboxEmpty()       {}

func TestMailboxConcurrentPostersDirect(t *testing.T) {
	// Posters race for the mailbox on a dispatcher that starts a goroutine
	// per run: every message is handled once, in order per poster, and
	// no run overlaps another.
	const posters, perPoster = 8, 3000
	var (
		running  atomic.Int32
		overlaps atomic.Int32
		next     = make([]int, posters) // plain: a concurrent run is a race
		total    int
		orderErr error
		done     = make(chan struct{})
	)
	inv := &funcInvoker{user: func(msg any) {
		if running.Add(1) != 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		s := msg.(*seqMsg)
		if s.seq != next[s.poster] && orderErr == nil {
			orderErr = fmt.Errorf("poster %d: got %d, want %d", s.poster, s.seq, next[s.poster])
		}
		next[s.poster] = s.seq + 1
		total++
		if total == posters*perPoster {
			close(done)
		}
	}}
	m := New()
	m.RegisterHandlers(inv, actor.NewDefaultDispatcher(5))
	m.Start()
	var wg sync.WaitGroup
	for p := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPoster {
				m.PostUserMessage(&seqMsg{poster: p, seq: i})
			}
		}()
	}
	wg.Wait()
	wait(t, done, "every message")
	if orderErr != nil {
		t.Fatal(orderErr)
	}
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d runs overlapped another", n)
	}
	waitIdle(t, m)
}

type funcInvoker struct {
	user func(any)
	sys  func(any)
}

func (f *funcInvoker) InvokeSystemMessage(msg any) {
	if f.sys != nil {
		f.sys(msg)
	}
}
func (f *funcInvoker) InvokeUserMessage(msg any) {
	if f.user != nil {
		f.user(msg)
	}
}
func (f *funcInvoker) EscalateFailure(reason, msg any) {
	panic(fmt.Sprintf("unexpected failure %v on %v", reason, msg))
}

// waitIdle waits, with a deadline, until m has nothing queued and no run
// in progress, so that the next post schedules it afresh.
func waitIdle(t *testing.T, m *Mailbox) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for m.status.Load() != idle || m.userCount.Load() != 0 || m.sysCount.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("mailbox not idle: status %d, %d user, %d system messages",
				m.status.Load(), m.userCount.Load(), m.sysCount.Load())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// A system queue keeps no storage once empty: an idle actor does not hold
// the queue of the one system message it got at its start.
func TestRingKeepNone(t *testing.T) {
	var r ring
	r.push("started")
	if got := r.pop(0); got != "started" {
		t.Fatalf("pop = %v, want started", got)
	}
	if r.buf != nil {
		t.Fatalf("an emptied ring told to keep nothing has %d slots", len(r.buf))
	}
}

// heldDispatcher keeps the runs it is given until the test starts them.
type heldDispatcher struct{ runs []func() }

func (d *heldDispatcher) Schedule(fn func()) { d.runs = append(d.runs, fn) }
func (d *heldDispatcher) Throughput() int    { return 300 }

// runAll runs what was scheduled, and what that schedules, in order.
func (d *heldDispatcher) runAll() {
	for len(d.runs) > 0 {
		fn := d.runs[0]
		d.runs = d.runs[1:]
		fn()
	}
}

func held(inv actor.MessageInvoker) (*Mailbox, *heldDispatcher) {
	d := &heldDispatcher{}
	m := New()
	m.RegisterHandlers(inv, d)
	m.Start()
	return m, d
}

func TestMailboxFirstMessageSkipsTheQueue(t *testing.T) {
	log := &eventLog{}
	m, d := held(&recInvoker{log: log})
	m.PostUserMessage("a")
	if m.first != "a" || m.UserMessageCount() != 0 || m.user.n != 0 {
		t.Fatalf("after a post to an idle, empty mailbox: first %v, %d counted, %d queued; want a, 0, 0", m.first, m.UserMessageCount(), m.user.n)
	}
	// Posted while the run is due: queued behind the first.
	m.PostUserMessage("b")
	if m.UserMessageCount() != 1 {
		t.Fatalf("UserMessageCount = %d with b queued, want 1", m.UserMessageCount())
	}
	d.runAll()
	if got, want := log.take(), []string{"user a", "user b"}; !slices.Equal(got, want) {
		t.Fatalf("order %q, want %q", got, want)
	}
	if m.first != nil || m.status.Load() != idle {
		t.Fatalf("after the run: first %v, status %d; want nil, idle", m.first, m.status.Load())
	}
}

func TestMailboxFirstMessageWaitsOutSuspension(t *testing.T) {
	// Suspended between the post that set the mailbox running and its
	// run: the first message stays first, behind the suspension.
	log := &eventLog{}
	m, d := held(&recInvoker{log: log})
	m.PostUserMessage("a")
	m.PostSystemMessage(&actor.SuspendMailbox{})
	m.PostUserMessage("b")
	d.runAll()
	if got := log.take(); len(got) != 0 {
		t.Fatalf("handled while suspended: %q", got)
	}
	if m.first != nil || m.UserMessageCount() != 2 {
		t.Fatalf("while suspended: first %v, %d queued; want nil, 2", m.first, m.UserMessageCount())
	}
	m.PostSystemMessage(&actor.ResumeMailbox{})
	d.runAll()
	if got, want := log.take(), []string{"user a", "user b"}; !slices.Equal(got, want) {
		t.Fatalf("after resuming: %q, want %q", got, want)
	}
}

func TestMailboxFirstMessageSurvivesFailingSystemMessage(t *testing.T) {
	log := &eventLog{}
	inv := &recInvoker{log: log}
	inv.onSys = func(msg any) {
		if msg == "sysboom" {
			panic(failure{"sys"})
		}
	}
	m, d := held(inv)
	m.PostUserMessage("a")
	m.PostSystemMessage("sysboom") // handled first, and fails
	d.runAll()
	m.PostUserMessage("b")
	d.runAll()
	want := []string{"sys sysboom", "escalate {sys}: sysboom", "user a", "user b"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// lendingMsg lends its sender's runner.
type lendingMsg struct {
	Lending
	name string
}

func (l *lendingMsg) String() string { return l.name }

func TestMailboxFirstMessageOfReleasedRunnerGoesToDispatcher(t *testing.T) {
	// The message lends a runner that is released before the run starts:
	// the run ends at once, and the message is handled on the dispatcher.
	log := &eventLog{}
	m, d := held(&recInvoker{log: log})
	r := &Runner{}
	r.Do(func() {
		m.PostUserMessage(&lendingMsg{Lending{r}, "a"})
		r.Release()
	})
	if got := log.take(); len(got) != 0 {
		t.Fatalf("handled on the released runner: %q", got)
	}
	if m.UserMessageCount() != 1 || len(d.runs) != 1 {
		t.Fatalf("after the released run: %d queued, %d runs scheduled; want 1, 1", m.UserMessageCount(), len(d.runs))
	}
	d.runAll()
	if got, want := log.take(), []string{"user a"}; !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
}

func TestRingPushFront(t *testing.T) {
	var r ring
	for _, v := range []int{2, 3, 4} {
		r.push(v)
	}
	r.pushFront(1) // grows: 4 slots hold 4
	r.pushFront(0) // grows again, across the start
	checkRing(t, &r, []int{0, 1, 2, 3, 4})
	var one ring
	one.pushFront(7) // into the inner slot
	checkRing(t, &one, []int{7})
}

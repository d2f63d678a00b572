package mailbox

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// goid is the id of the calling goroutine, from the header of its stack
// ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		panic(fmt.Sprintf("unexpected stack header %q", buf[:]))
	}
	id, err := strconv.ParseUint(string(b[:i]), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("unexpected stack header %q: %v", buf[:], err))
	}
	return id
}

func TestGoid(t *testing.T) {
	me := goid()
	if me == 0 || goid() != me {
		t.Fatalf("goid not stable: %d", me)
	}
	other := make(chan uint64)
	go func() { other <- goid() }()
	if g := <-other; g == me {
		t.Fatalf("two goroutines with id %d", g)
	}
}

// countingDispatcher starts a goroutine per run, as protoactor's default
// dispatcher does, and counts the runs it was given.
type countingDispatcher struct{ runs atomic.Int32 }

func (d *countingDispatcher) Schedule(fn func()) {
	d.runs.Add(1)
	go fn()
}

func (d *countingDispatcher) Throughput() int { return 300 }

// spawnOn spawns an actor whose mailbox has runner r (nil: none) and
// dispatcher d, and waits until its Started has been handled (on d) and
// the mailbox is idle.
func spawnOn(t *testing.T, sys *actor.ActorSystem, r *Runner, d actor.Dispatcher, recv actor.ReceiveFunc) (*actor.PID, *Mailbox) {
	t.Helper()
	m := New()
	m.SetRunner(r)
	pid := sys.Root.Spawn(actor.PropsFromFunc(recv, actor.WithMailbox(m.Producer()), actor.WithDispatcher(d)))
	waitIdle(t, m)
	return pid, m
}

type ping struct{ n int }

type pong struct{}

func TestRunnerOfferOutsideSend(t *testing.T) {
	var r Runner
	if r.offer(New()) {
		t.Fatal("offer taken while nobody is in Send")
	}
	if s := r.state.Load(); s != runnerOff || r.mb != nil {
		t.Fatalf("state %d, mailbox set %v after a refused offer", s, r.mb != nil)
	}
}

func TestRunnerSendRunsOnCaller(t *testing.T) {
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	var handled atomic.Int32
	var handledOn atomic.Uint64
	pid, m := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			handledOn.Store(goid())
			handled.Add(1)
		}
	})

	runs := d.runs.Load()
	me := goid()
	for i := range 100 {
		r.Send(sys.Root, pid, &ping{i})
		if got := handled.Load(); got != int32(i+1) {
			t.Fatalf("Send %d returned with %d messages handled", i, got)
		}
		if g := handledOn.Load(); g != me {
			t.Fatalf("Send %d: handled on goroutine %d, not the caller (%d)", i, g, me)
		}
		if s := m.status.Load(); s != idle {
			t.Fatalf("Send %d returned with the mailbox running", i)
		}
		if s := r.state.Load(); s != runnerOff {
			t.Fatalf("Send %d returned with the runner in state %d", i, s)
		}
	}
	if n := d.runs.Load() - runs; n != 0 {
		t.Fatalf("the dispatcher was given %d runs", n)
	}
}

func TestRunnerFallbackToDispatcher(t *testing.T) {
	// Messages posted while nobody is in Send go to the dispatcher, before
	// and after the runner was used.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	handledOn := make(chan uint64, 1)
	pid, m := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			handledOn <- goid()
		}
	})
	me := goid()

	check := func(what string) {
		t.Helper()
		runs := d.runs.Load()
		sys.Root.Send(pid, &ping{})
		select {
		case g := <-handledOn:
			if g == me {
				t.Fatalf("%s: handled on the poster's goroutine", what)
			}
		case <-time.After(testWait):
			t.Fatalf("%s: message not handled", what)
		}
		waitIdle(t, m)
		if n := d.runs.Load() - runs; n != 1 {
			t.Fatalf("%s: %d dispatcher runs, want 1", what, n)
		}
	}
	check("before Send")
	r.Send(sys.Root, pid, &ping{})
	if g := <-handledOn; g != me {
		t.Fatalf("Send: handled on %d, not the caller %d", g, me)
	}
	check("after Send")

	// From another goroutine, many messages, while nobody is in Send.
	const n = 500
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			sys.Root.Send(pid, &ping{i})
		}
	}()
	for i := range n {
		select {
		case <-handledOn:
		case <-time.After(testWait):
			t.Fatalf("%d of %d messages handled", i, n)
		}
	}
	wg.Wait()
	if s := r.state.Load(); s != runnerOff {
		t.Fatalf("runner in state %d", s)
	}
}

func TestRunnerMailboxWithoutRunner(t *testing.T) {
	// r.Send to a mailbox that does not have r: posted as usual, handled
	// on the dispatcher, and Send does not wait for it.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	release := make(chan struct{})
	handledOn := make(chan uint64, 1)
	pid, m := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			<-release
			handledOn <- goid()
		}
	})
	m.SetRunner(nil)
	runs := d.runs.Load()

	sent := make(chan struct{})
	go func() {
		r.Send(sys.Root, pid, &ping{})
		close(sent)
	}()
	wait(t, sent, "Send to return while the handler is blocked")
	close(release)
	select {
	case <-handledOn:
	case <-time.After(testWait):
		t.Fatal("message not handled")
	}
	if n := d.runs.Load() - runs; n != 1 {
		t.Fatalf("%d dispatcher runs, want 1", n)
	}
	waitIdle(t, m)
}

func TestRunnerSendToBusyMailbox(t *testing.T) {
	// The mailbox is running elsewhere: Send posts and returns without
	// waiting; the run in progress handles the message.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	entered := make(chan struct{})
	release := make(chan struct{})
	handledOn := make(chan uint64, 2)
	pid, m := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *ping:
			if msg.n == 0 {
				close(entered)
				<-release
			}
			handledOn <- goid()
		}
	})
	sys.Root.Send(pid, &ping{0}) // runs on the dispatcher and blocks
	wait(t, entered, "the first message")

	sender := make(chan uint64, 1)
	sent := make(chan struct{})
	go func() {
		sender <- goid()
		r.Send(sys.Root, pid, &ping{1})
		close(sent)
	}()
	wait(t, sent, "Send to return while the mailbox is busy elsewhere")
	if n := m.UserMessageCount(); n != 1 {
		t.Fatalf("%d messages waiting, want 1", n)
	}
	close(release)
	first, second := <-handledOn, <-handledOn
	if first != second {
		t.Fatalf("the second message was handled on %d, not on the run in progress (%d)", second, first)
	}
	if g := <-sender; second == g {
		t.Fatal("the second message was handled by the Send that returned")
	}
	waitIdle(t, m)
}

func TestRunnerChain(t *testing.T) {
	// A handles the message and sends to B, B answers A: with the same
	// runner, the three runs are on the caller, and Send returns after the
	// last.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	var events []string // written on the caller's goroutine only
	note := func(what string) {
		if g := goid(); g != me {
			what += fmt.Sprintf(" (on goroutine %d)", g)
		}
		events = append(events, what)
	}
	var a *actor.PID
	b, mb := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			note("B ping")
			ctx.Send(a, &pong{})
		}
	})
	a, ma := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *ping:
			note("A ping")
			ctx.Send(b, &ping{})
			note("A sent")
		case *pong:
			note("A pong")
		}
	})
	runs := d.runs.Load()

	for range 10 {
		r.Send(sys.Root, a, &ping{})
		want := []string{"A ping", "A sent", "B ping", "A pong"}
		if fmt.Sprint(events) != fmt.Sprint(want) {
			t.Fatalf("events %q, want %q", events, want)
		}
		events = events[:0]
		if ma.status.Load() != idle || mb.status.Load() != idle {
			t.Fatal("Send returned with a mailbox running")
		}
	}
	if n := d.runs.Load() - runs; n != 0 {
		t.Fatalf("the dispatcher was given %d runs", n)
	}
}

type hop struct{ n int }

func TestRunnerBudget(t *testing.T) {
	// A and B send a message back and forth, each hop a new run of one of
	// the mailboxes: Send runs runnerBudget of them, returns, and the
	// dispatcher takes the rest.
	const hops = 1000
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	var on [hops]uint64 // each hop is written once, in causal order
	done := make(chan struct{})
	var a, b *actor.PID
	recv := func(other **actor.PID) actor.ReceiveFunc {
		return func(ctx actor.Context) {
			if h, ok := ctx.Message().(*hop); ok {
				on[h.n] = goid()
				if h.n+1 < hops {
					ctx.Send(*other, &hop{h.n + 1})
				} else {
					close(done)
				}
			}
		}
	}
	a, _ = spawnOn(t, sys, r, d, recv(&b))
	b, _ = spawnOn(t, sys, r, d, recv(&a))
	runs := d.runs.Load()
	me := goid()

	r.Send(sys.Root, a, &hop{0})
	if s := r.state.Load(); s != runnerOff {
		t.Fatalf("runner in state %d after Send", s)
	}
	wait(t, done, "the hops after the budget")

	if runnerBudget != 64 {
		t.Errorf("runnerBudget = %d, want 64", runnerBudget)
	}
	// The first runnerBudget hops, one run each, are on the caller. The
	// next is posted during the last run Send performs, and goes to the
	// dispatcher. (That last run may still take a hop or two that the
	// dispatched mailbox sends back before it ends: a run handles what
	// arrives while it runs.)
	onCaller := 0
	for i, g := range on {
		if g == me {
			onCaller++
		}
		if i < runnerBudget && g != me {
			t.Fatalf("hop %d ran on goroutine %d, not on the caller (%d)", i, g, me)
		}
		if i == runnerBudget && g == me {
			t.Fatalf("hop %d, past the budget, ran on the caller", i)
		}
	}
	if onCaller > hops/2 {
		t.Fatalf("%d of %d hops ran on the caller: Send did not give control back", onCaller, hops)
	}
	t.Logf("%d hops on the caller", onCaller)
	if n := d.runs.Load() - runs; n < 1 {
		t.Fatal("the dispatcher was given nothing after the budget")
	}
}

func TestRunnerConcurrentOffers(t *testing.T) {
	// Mailboxes that share the runner become ready from other goroutines
	// while the runner's goroutine sends in a loop: the race detector
	// watches the hand-over, and every message is handled once, in order.
	const (
		others    = 8
		perPoster = 400
	)
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()

	var onCaller, total atomic.Int32
	allDone := make(chan struct{})
	type state struct {
		next int
		err  error
	}
	states := make([]*state, others)
	pids := make([]*actor.PID, others)
	for k := range others {
		st := &state{}
		states[k] = st
		pids[k], _ = spawnOn(t, sys, r, d, func(ctx actor.Context) {
			if msg, ok := ctx.Message().(*seqMsg); ok {
				if msg.seq != st.next && st.err == nil {
					st.err = fmt.Errorf("actor %d: got %d, want %d", k, msg.seq, st.next)
				}
				st.next = msg.seq + 1
				if goid() == me {
					onCaller.Add(1)
				}
				if total.Add(1) == others*perPoster {
					close(allDone)
				}
			}
		})
	}
	// The own actor runs on the caller unless another mailbox took the
	// runner's slot first (see TestRunnerSlotTakenFallsBackToDispatcher).
	var selfHandled, selfElsewhere atomic.Int32
	self, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			if goid() != me {
				selfElsewhere.Add(1)
			}
			selfHandled.Add(1)
		}
	})

	start := make(chan struct{})
	var wg sync.WaitGroup
	for k := range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perPoster {
				sys.Root.Send(pids[k], &seqMsg{poster: k, seq: i})
			}
		}()
	}
	close(start)
	sends := 0
	deadline := time.Now().Add(testWait)
	for total.Load() < others*perPoster {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages handled", total.Load(), others*perPoster)
		}
		r.Send(sys.Root, self, &ping{})
		sends++
	}
	wg.Wait()
	wait(t, allDone, "every message")
	for _, st := range states {
		if st.err != nil {
			t.Fatal(st.err)
		}
		if st.next != perPoster {
			t.Fatalf("%d messages handled by an actor, want %d", st.next, perPoster)
		}
	}
	for selfHandled.Load() != int32(sends) {
		if time.Now().After(deadline) {
			t.Fatalf("own actor: %d of %d sends handled", selfHandled.Load(), sends)
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Logf("%d sends, %d of them handled off the caller; %d of %d messages of other posters handled on the caller",
		sends, selfElsewhere.Load(), onCaller.Load(), others*perPoster)
}

func TestRunnerSlotTakenFallsBackToDispatcher(t *testing.T) {
	// The runner holds one mailbox at a time. When another mailbox takes
	// the slot between the start of Send and the post (here from a sender
	// middleware of the root context), the target goes to its dispatcher:
	// its message is still handled, but not on the caller, and Send may
	// return before it is.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	bOn := make(chan uint64, 1)
	aOn := make(chan uint64, 1)
	b, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			bOn <- goid()
		}
	})
	a, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			aOn <- goid()
		}
	})
	root := actor.NewRootContext(sys, nil, func(next actor.SenderFunc) actor.SenderFunc {
		return func(c actor.SenderContext, target *actor.PID, env *actor.MessageEnvelope) {
			if target == a {
				sys.Root.Send(b, &ping{}) // takes the slot
			}
			next(c, target, env)
		}
	})
	runs := d.runs.Load()
	r.Send(root, a, &ping{})
	select {
	case g := <-bOn:
		if g != me {
			t.Fatalf("B ran on %d, not on the caller %d", g, me)
		}
	default:
		t.Fatal("Send returned before B, which held the slot, ran")
	}
	select {
	case g := <-aOn:
		if g == me {
			t.Fatal("A ran on the caller although the slot was taken")
		}
	case <-time.After(testWait):
		t.Fatal("A's message was lost")
	}
	if n := d.runs.Load() - runs; n != 1 {
		t.Fatalf("%d dispatcher runs, want 1", n)
	}
}

func TestRunnerRunNotBoundedByBudget(t *testing.T) {
	// The budget counts mailbox runs, not messages: messages that keep
	// arriving from another goroutine while a mailbox runs on the runner
	// extend that run, up to the dispatcher's throughput (then the mailbox
	// goes on on the dispatcher). Here 4*runnerBudget messages, all posted
	// from elsewhere, are handled within one Send.
	n := 4 * runnerBudget
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	var pid *actor.PID
	var handled, onCaller int
	me := goid()
	pid, _ = spawnOn(t, sys, r, d, func(ctx actor.Context) {
		h, ok := ctx.Message().(*hop)
		if !ok {
			return
		}
		handled++
		if goid() == me {
			onCaller++
		}
		if h.n+1 < n {
			// The next message comes from another goroutine, and is
			// queued before this one is done.
			posted := make(chan struct{})
			go func() {
				sys.Root.Send(pid, &hop{h.n + 1})
				close(posted)
			}()
			<-posted
		}
	})
	runs := d.runs.Load()
	r.Send(sys.Root, pid, &hop{0})
	if handled != n || onCaller != n {
		t.Fatalf("Send returned after %d messages (%d on the caller), want all %d in one run", handled, onCaller, n)
	}
	if k := d.runs.Load() - runs; k != 0 {
		t.Fatalf("%d dispatcher runs", k)
	}
}

func TestRunnerHandlerWaitingOnRunnerMailbox(t *testing.T) {
	// Characterizes a hazard: while a handler runs on the runner, a
	// mailbox with the same runner that becomes ready waits for the
	// handler to return, even if the handler waits for it. (With a timeout
	// here; without one, the goroutine would never return from Send.)
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	bRan := make(chan uint64, 1)
	var waitedOut bool
	b, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			bRan <- goid()
		}
	})
	a, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			ctx.Send(b, &ping{})
			select {
			case <-bRan:
			case <-time.After(50 * time.Millisecond):
				waitedOut = true
			}
		}
	})
	r.Send(sys.Root, a, &ping{})
	if !waitedOut {
		t.Fatal("B ran while A's handler was running on the runner")
	}
	select {
	case g := <-bRan:
		if g != me {
			t.Fatalf("B ran on %d, not on the caller %d", g, me)
		}
	default:
		t.Fatal("Send returned before B ran")
	}
}

func TestRunnerNoGoroutineLeft(t *testing.T) {
	// Runs on the caller, runs past the budget on the dispatcher, and
	// stopped actors: no goroutine stays behind.
	ignore := goleak.IgnoreCurrent()
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	const hops = 3 * runnerBudget
	done := make(chan struct{})
	var a, b *actor.PID
	recv := func(other **actor.PID) actor.ReceiveFunc {
		return func(ctx actor.Context) {
			if h, ok := ctx.Message().(*hop); ok {
				if h.n+1 < hops {
					ctx.Send(*other, &hop{h.n + 1})
				} else {
					close(done)
				}
			}
		}
	}
	a, ma := spawnOn(t, sys, r, d, recv(&b))
	b, mb := spawnOn(t, sys, r, d, recv(&a))
	r.Send(sys.Root, a, &hop{0})
	wait(t, done, "the last hop")
	for _, pid := range []*actor.PID{a, b} {
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, ma)
	waitIdle(t, mb)

	deadline := time.Now().Add(3 * time.Second)
	for {
		err := goleak.Find(ignore) // retries for about half a second
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// lendingPing lends its sender's goroutine to the addressee's mailbox.
type lendingPing struct {
	n int
	Lending
}

func TestRunnerLendingRunsOnLender(t *testing.T) {
	// A mailbox without a runner runs on the goroutine a message lends it,
	// if that goroutine is in Do, whether the message is plain or in an
	// envelope; a message that lends nothing goes to the dispatcher.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	handledOn := make(chan uint64, 1)
	pid, m := spawnOn(t, sys, nil, d, func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *lendingPing, *ping:
			handledOn <- goid()
		}
	})
	runs := d.runs.Load()
	r.Do(func() { sys.Root.Send(pid, &lendingPing{Lending: Lending{Runner: r}}) })
	select {
	case g := <-handledOn:
		if g != me {
			t.Fatalf("lent: handled on %d, not the lender %d", g, me)
		}
	default:
		t.Fatal("lent: Do returned before the message was handled")
	}
	r.Do(func() { sys.Root.RequestWithCustomSender(pid, &lendingPing{Lending: Lending{Runner: r}}, pid) })
	select {
	case g := <-handledOn:
		if g != me {
			t.Fatalf("lent in an envelope: handled on %d, not the lender %d", g, me)
		}
	default:
		t.Fatal("lent in an envelope: Do returned before the message was handled")
	}
	if n := d.runs.Load() - runs; n != 0 {
		t.Fatalf("%d dispatcher runs", n)
	}

	r.Do(func() { sys.Root.Send(pid, &ping{}) })
	if g := <-handledOn; g == me {
		t.Fatal("a message that lends nothing was handled on the caller")
	}
	waitIdle(t, m)
	if n := d.runs.Load() - runs; n != 1 {
		t.Fatalf("%d dispatcher runs, want 1", n)
	}
}

func TestRunnerReleaseHandsRestToDispatcher(t *testing.T) {
	// Release during a run on the runner: the message in hand finishes
	// there, the rest of the mailbox goes to the dispatcher, in order.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	var on [3]uint64 // written in causal order, read after done
	done := make(chan struct{})
	pid, _ := spawnOn(t, sys, nil, d, func(ctx actor.Context) {
		if p, ok := ctx.Message().(*lendingPing); ok {
			on[p.n] = goid()
			switch p.n {
			case 0:
				r.Release()
			case len(on) - 1:
				close(done)
			}
		}
	})
	runs := d.runs.Load()
	r.Do(func() {
		for i := range on {
			sys.Root.Send(pid, &lendingPing{n: i, Lending: Lending{Runner: r}})
		}
	})
	wait(t, done, "the messages after the release")
	if on[0] != me {
		t.Fatalf("the first message ran on %d, not the caller %d", on[0], me)
	}
	for i := 1; i < len(on); i++ {
		if on[i] == me {
			t.Fatalf("message %d, after the release, ran on the caller", i)
		}
	}
	if n := d.runs.Load() - runs; n != 1 {
		t.Fatalf("%d dispatcher runs, want 1", n)
	}
	if !r.Released() {
		t.Fatal("Released is false after Release")
	}
	r.Do(func() {})
	if r.Released() {
		t.Fatal("Released still true after the next Do")
	}
}

func TestRunnerReleaseOnLastMessageStartsNoGoroutine(t *testing.T) {
	// A request's answer is most often the last message in the mailbox:
	// its run ends on the released runner, and no dispatcher run is
	// started for an empty mailbox. A message posted later goes to the
	// dispatcher as usual.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	me := goid()
	handledOn := make(chan uint64, 1)
	pid, m := spawnOn(t, sys, nil, d, func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *lendingPing:
			handledOn <- goid()
			r.Release() // the answer
		case *ping:
			handledOn <- goid()
		}
	})
	runs := d.runs.Load()
	for range 100 {
		r.Do(func() { sys.Root.Send(pid, &lendingPing{Lending: Lending{Runner: r}}) })
		if g := <-handledOn; g != me {
			t.Fatalf("handled on %d, not the lender %d", g, me)
		}
	}
	waitIdle(t, m)
	if n := d.runs.Load() - runs; n != 0 {
		t.Fatalf("%d dispatcher runs for 100 answers that emptied the mailbox, want 0", n)
	}
	sys.Root.Send(pid, &ping{})
	if g := <-handledOn; g == me {
		t.Fatal("a later message ran on the released lender")
	}
	waitIdle(t, m)
	if n := d.runs.Load() - runs; n != 1 {
		t.Fatalf("%d dispatcher runs, want 1 for the later message", n)
	}
}

func TestRunnerDoReturnsAfterReleaseWithMailboxWaiting(t *testing.T) {
	// X runs on the runner; its handler makes Y, which shares the runner,
	// ready (Y takes the slot), then calls Release. Do runs Y (which hands
	// itself to the dispatcher at once) and must return: a Do that went on
	// looping would wait forever for a state no offer can set.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	yDone := make(chan struct{})
	y, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			close(yDone)
		}
	})
	x, _ := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			ctx.Send(y, &ping{}) // Y takes the runner's slot
			r.Release()
		}
	})
	returned := make(chan struct{})
	go func() {
		r.Do(func() { sys.Root.Send(x, &ping{}) })
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(2 * time.Second):
		// Let the spinning goroutine end, so that it does not outlive
		// the test: in runnerAccepting, Do returns.
		r.state.CompareAndSwap(runnerOff, runnerAccepting)
		<-returned
		t.Error("Runner.Do did not return: it spins on runnerOff after running a mailbox taken with the runner released")
	}
	wait(t, yDone, "Y's message")
}

func TestRunnerPauseKeepsOtherMailboxesRunning(t *testing.T) {
	// W, run on the runner, blocks after Pause (a write to a stalled
	// client). S shares the runner: a message handed over before the pause
	// and one posted during it are both handled while W is still blocked,
	// off the blocked goroutine.
	sys := newSystem(t)
	r := &Runner{}
	d := &countingDispatcher{}
	handled := make(chan uint64, 2)
	s, sm := spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); ok {
			handled <- goid()
		}
	})
	blocked, release := make(chan struct{}), make(chan struct{})
	var m *Mailbox
	var w *actor.PID
	w, m = spawnOn(t, sys, r, d, func(ctx actor.Context) {
		if _, ok := ctx.Message().(*ping); !ok {
			return
		}
		ctx.Send(s, &ping{}) // handed to the runner: it waits in the slot
		paused := m.RunningOn() == r && r.Pause()
		close(blocked)
		<-release
		if paused {
			r.Resume()
		}
	})
	reader := make(chan uint64, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		reader <- goid()
		r.Send(sys.Root, w, &ping{})
	}()
	readerID := <-reader
	<-blocked
	sys.Root.Send(s, &ping{}) // posted during the pause
	for i := 0; i < 2; i++ {
		select {
		case g := <-handled:
			if g == readerID {
				t.Fatal("S ran on the paused goroutine")
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("S handled %d of 2 messages while W was blocked", i)
		}
	}
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return after W unblocked")
	}
	// After Resume the runner takes mailboxes again. S's run on the
	// dispatcher may still be ending after its second message: a message
	// posted before it ends is its.
	waitIdle(t, sm)
	r.Send(sys.Root, s, &ping{})
	if g := <-handled; g != goid() {
		t.Errorf("after Resume S ran on goroutine %d, not the caller", g)
	}
}

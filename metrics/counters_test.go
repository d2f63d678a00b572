package metrics_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/eioactor/engineio/metrics"
)

// A session's life as the server reports it, played by many goroutines at
// once: the totals add up, and the gauges are back to zero at the end.
func TestCountersConcurrent(t *testing.T) {
	const workers, rounds = 8, 500
	var c metrics.Counters
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				c.SessionOpened("polling")
				c.PacketsIn("polling", 1, 5)
				c.QueueChanged(2, 10)
				c.PacketsOut("polling", 2, 10)
				c.QueueChanged(-2, -10)
				if i%2 == 0 {
					c.SessionUpgraded()
					c.PacketsIn("websocket", 3, 7)
					c.PacketsOut("websocket", 1, 1)
					c.SessionClosed("websocket", "transport close")
				} else {
					c.UpgradeFailed()
					c.SessionClosed("polling", "ping timeout")
				}
				c.SessionOpened("websocket")
				c.SessionClosed("websocket", "client close")
				c.HTTPError(400, 1)
				c.HTTPError(403, 4)
			}
		}()
		// Readers race the writers; the race detector checks them.
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_ = c.Snapshot()
			}
		}()
	}
	wg.Wait()

	const n = workers * rounds
	got := c.Snapshot()
	want := metrics.Snapshot{
		Polling: metrics.TransportSnapshot{
			Handshakes: n,
			PacketsIn:  n, BytesIn: 5 * n,
			PacketsOut: 2 * n, BytesOut: 10 * n,
		},
		WebSocket: metrics.TransportSnapshot{
			Handshakes: n,
			PacketsIn:  3 * n / 2, BytesIn: 7 * n / 2,
			PacketsOut: n / 2, BytesOut: n / 2,
		},
		Upgrades:        n / 2,
		UpgradeFailures: n / 2,
		Closes:          map[string]int64{"transport close": n / 2, "ping timeout": n / 2, "client close": n},
		HTTPErrors:      map[metrics.HTTPErrorKey]int64{{Status: 400, Code: 1}: n, {Status: 403, Code: 4}: n},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", got, want)
	}
	if got.Sessions() != 0 || got.Transport("websocket") != got.WebSocket || got.Transport("x") != (metrics.TransportSnapshot{}) {
		t.Fatalf("accessors: sessions %d, websocket %+v", got.Sessions(), got.Transport("websocket"))
	}
}

func TestCountersZeroValueSnapshot(t *testing.T) {
	var c metrics.Counters
	s := c.Snapshot()
	if s.Closes == nil || s.HTTPErrors == nil || len(s.Closes) != 0 || len(s.HTTPErrors) != 0 {
		t.Fatalf("maps of an empty snapshot: %v, %v", s.Closes, s.HTTPErrors)
	}
	// The snapshot's maps are copies.
	c.SessionClosed("polling", "server close")
	s = c.Snapshot()
	s.Closes["server close"] = 99
	if got := c.Snapshot().Closes["server close"]; got != 1 {
		t.Fatalf("closes after modifying a snapshot: %d, want 1", got)
	}
}

func TestCountersUnknownTransportIgnored(t *testing.T) {
	var c metrics.Counters
	c.SessionOpened("webtransport")
	c.PacketsIn("webtransport", 1, 1)
	c.PacketsOut("webtransport", 1, 1)
	c.SessionClosed("webtransport", "transport close")
	s := c.Snapshot()
	if s.Polling != (metrics.TransportSnapshot{}) || s.WebSocket != (metrics.TransportSnapshot{}) {
		t.Fatalf("an unknown transport moved the known ones: %+v", s)
	}
	if s.Closes["transport close"] != 1 {
		t.Fatalf("closes %v: the reason counts whatever the transport", s.Closes)
	}
}

func TestCountersHotPathsDoNotAllocate(t *testing.T) {
	var c metrics.Counters
	c.SessionClosed("polling", "warm up") // the maps exist now
	c.HTTPError(400, 1)
	calls := map[string]func(){
		"PacketsIn":     func() { c.PacketsIn("websocket", 1, 64) },
		"PacketsOut":    func() { c.PacketsOut("polling", 3, 192) },
		"QueueChanged":  func() { c.QueueChanged(1, 64) },
		"SessionOpened": func() { c.SessionOpened("polling") },
		"Upgraded":      func() { c.SessionUpgraded() },
		"UpgradeFailed": func() { c.UpgradeFailed() },
		"SessionClosed": func() { c.SessionClosed("websocket", "warm up") },
		"HTTPError":     func() { c.HTTPError(400, 1) },
	}
	for name, f := range calls {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

func BenchmarkCounters(b *testing.B) {
	for _, tr := range []string{"polling", "websocket"} {
		b.Run("PacketsIn/"+tr, func(b *testing.B) {
			var c metrics.Counters
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.PacketsIn(tr, 1, 64)
				}
			})
		})
		b.Run("PacketsOut/"+tr, func(b *testing.B) {
			var c metrics.Counters
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.PacketsOut(tr, 4, 256)
				}
			})
		})
	}
	b.Run("QueueChanged", func(b *testing.B) {
		var c metrics.Counters
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.QueueChanged(1, 64)
				c.QueueChanged(-1, -64)
			}
		})
	})
	b.Run("SessionClosed", func(b *testing.B) {
		var c metrics.Counters
		b.ReportAllocs()
		for b.Loop() {
			c.SessionClosed("websocket", "transport close")
		}
	})
	b.Run("Snapshot", func(b *testing.B) {
		var c metrics.Counters
		for i := 0; i < 10; i++ {
			c.SessionClosed("polling", fmt.Sprint("reason ", i))
			c.HTTPError(400, i%6)
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Snapshot()
		}
	})
}

func ExampleCounters() {
	var c metrics.Counters // pass &c to engineio.WithMetrics
	c.SessionOpened("polling")
	c.PacketsIn("polling", 1, 5)
	c.SessionUpgraded()
	c.SessionClosed("websocket", "client close")

	s := c.Snapshot()
	fmt.Println("handshakes over polling:", s.Polling.Handshakes)
	fmt.Println("upgrades:", s.Upgrades)
	fmt.Println("open sessions:", s.Sessions())
	fmt.Println("closes:", s.Closes)
	// Output:
	// handshakes over polling: 1
	// upgrades: 1
	// open sessions: 0
	// closes: map[client close:1]
}

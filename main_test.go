package engineio

import (
	"testing"
	"time"

	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/internal/netpoll"
	"go.uber.org/goleak"
)

// TestMain starts every WebSocket connection parked and parks quiet ones
// after a few milliseconds instead of a second, and holds every long-poll
// that waits as long without net/http (see httpapi.PollHoldAfter), so that
// every test also runs its connections through parking and holding. (The
// interop suite keeps the default start: a reader of its own.) When every
// test has run, no goroutine of theirs may be left: each closes its servers.
func TestMain(m *testing.M) {
	netpoll.IdleAfter = 5 * time.Millisecond
	netpoll.StartParkedAbove = 0
	httpapi.PollHoldAfter = 5 * time.Millisecond
	goleak.VerifyTestMain(m)
}

package engineio

import (
	"os"
	"testing"
	"time"

	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/internal/netpoll"
)

// TestMain starts every WebSocket connection parked and parks quiet ones
// after a few milliseconds instead of a second, and holds every long-poll
// that waits as long without net/http (see httpapi.PollHoldAfter), so that
// every test also runs its connections through parking and holding. (The
// interop suite keeps the default start: a reader of its own.)
func TestMain(m *testing.M) {
	netpoll.IdleAfter = 5 * time.Millisecond
	netpoll.StartParkedAbove = 0
	httpapi.PollHoldAfter = 5 * time.Millisecond
	os.Exit(m.Run())
}

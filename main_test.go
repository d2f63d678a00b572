package engineio

import (
	"os"
	"testing"
	"time"

	"github.com/eioactor/engineio/internal/netpoll"
)

// TestMain starts every WebSocket connection parked and parks quiet ones
// after a few milliseconds instead of a second, so that every test also
// runs its connections through parking and resuming. (The interop suite
// keeps the default start: a reader of its own.)
func TestMain(m *testing.M) {
	netpoll.IdleAfter = 5 * time.Millisecond
	netpoll.StartParkedAbove = 0
	os.Exit(m.Run())
}

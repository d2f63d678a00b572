package engineio

import (
	"os"
	"testing"
	"time"

	"github.com/eioactor/engineio/internal/netpoll"
)

// TestMain parks quiet WebSocket connections after a few milliseconds
// instead of a second, so that every test also runs its connections
// through parking and resuming.
func TestMain(m *testing.M) {
	netpoll.IdleAfter = 5 * time.Millisecond
	os.Exit(m.Run())
}

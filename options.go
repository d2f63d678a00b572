package engineio

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
)

// Option configures a Server.
type Option func(*config) error

type config struct {
	pingInterval   time.Duration
	pingTimeout    time.Duration
	upgradeTimeout time.Duration
	closeTimeout   time.Duration
	writeTimeout   time.Duration
	maxPayload     int64
	allowUpgrades  bool
	polling        bool
	websocket      bool
	path           string
	logger         *slog.Logger
	system         *actor.ActorSystem
	clock          actors.Clock
	newSID         func() (string, error)
}

func defaultConfig() config {
	return config{
		pingInterval:   25 * time.Second,
		pingTimeout:    20 * time.Second,
		upgradeTimeout: 10 * time.Second,
		closeTimeout:   30 * time.Second,
		writeTimeout:   10 * time.Second,
		maxPayload:     1_000_000,
		allowUpgrades:  true,
		polling:        true,
		websocket:      true,
		path:           "/engine.io/",
		logger:         slog.New(slog.DiscardHandler),
		clock:          actors.RealClock{},
	}
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("engineio: %s must be positive, got %v", name, d)
	}
	return nil
}

// WithPingInterval sets how often the server pings each client (default
// 25 s). Sub-second values are allowed.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) error { c.pingInterval = d; return positive("ping interval", d) }
}

// WithPingTimeout sets how long the server waits for a pong after a ping
// before it closes the session with ReasonPingTimeout (default 20 s).
func WithPingTimeout(d time.Duration) Option {
	return func(c *config) error { c.pingTimeout = d; return positive("ping timeout", d) }
}

// WithUpgradeTimeout sets how long an upgrade to WebSocket may take before
// the probing WebSocket is closed and the session stays on polling (default
// 10 s).
func WithUpgradeTimeout(d time.Duration) Option {
	return func(c *config) error { c.upgradeTimeout = d; return positive("upgrade timeout", d) }
}

// WithCloseTimeout sets how long a graceful close of a polling session waits
// for the client's next poll to deliver the close packet (default 30 s).
func WithCloseTimeout(d time.Duration) Option {
	return func(c *config) error { c.closeTimeout = d; return positive("close timeout", d) }
}

// WithWriteTimeout bounds each write to a WebSocket (default 10 s); a client
// that does not read is disconnected.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) error { c.writeTimeout = d; return positive("write timeout", d) }
}

// WithMaxPayload sets the largest POST body and WebSocket message accepted,
// in bytes (default 1,000,000). It is announced to clients in the handshake.
func WithMaxPayload(n int64) Option {
	return func(c *config) error {
		c.maxPayload = n
		if n <= 0 {
			return fmt.Errorf("engineio: max payload must be positive, got %d", n)
		}
		return nil
	}
}

// WithAllowUpgrades says whether polling sessions may upgrade to WebSocket
// (default true).
func WithAllowUpgrades(allow bool) Option {
	return func(c *config) error { c.allowUpgrades = allow; return nil }
}

// WithTransports enables only the named transports: "polling",
// "websocket" or both (the default).
func WithTransports(names ...string) Option {
	return func(c *config) error {
		c.polling, c.websocket = false, false
		for _, n := range names {
			switch n {
			case "polling":
				c.polling = true
			case "websocket":
				c.websocket = true
			default:
				return fmt.Errorf("engineio: unknown transport %q", n)
			}
		}
		if !c.polling && !c.websocket {
			return errors.New("engineio: no transport enabled")
		}
		return nil
	}
}

// WithPath sets the engine path (default "/engine.io/"). It is served with
// and without the trailing slash.
func WithPath(path string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("engineio: path %q must start with /", path)
		}
		if !strings.HasSuffix(path, "/") {
			path += "/"
		}
		c.path = path
		return nil
	}
}

// WithLogger sets the logger of the server and, when the server makes its
// own actor system, of that system. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("engineio: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithActorSystem runs the server's actors in an existing actor system
// instead of one of its own. Close stops the server's actors and leaves the
// system running.
func WithActorSystem(sys *actor.ActorSystem) Option {
	return func(c *config) error {
		if sys == nil {
			return errors.New("engineio: nil actor system")
		}
		c.system = sys
		return nil
	}
}

// WithClock replaces the wall clock that drives heartbeats and timeouts;
// tests use it to drive time.
func WithClock(clock actors.Clock) Option {
	return func(c *config) error {
		if clock == nil {
			return errors.New("engineio: nil clock")
		}
		c.clock = clock
		return nil
	}
}

// WithSIDGenerator replaces the session id generator. Ids must be unique and
// unguessable; the default draws 120 bits from crypto/rand.
func WithSIDGenerator(gen func() (string, error)) Option {
	return func(c *config) error {
		if gen == nil {
			return errors.New("engineio: nil sid generator")
		}
		c.newSID = gen
		return nil
	}
}

package engineio

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/metrics"
	"github.com/eioactor/engineio/protocol"
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

	allowEIO3         bool
	origins           httpapi.OriginPolicy
	compression       httpapi.Compression
	perMessageDeflate bool
	deflateThreshold  int
	cookie            *http.Cookie
	allowRequest      func(*http.Request) error
	initialHeaders    func(http.Header, *http.Request)
	headers           func(http.Header, *http.Request)
	initialPacket     *protocol.Packet
	marshalJSON       func(any) ([]byte, error)

	maxQueuedPackets int
	maxQueuedBytes   int
	overflow         OverflowPolicy
	shutdownMessage  *protocol.Packet
	spawn            func(*actor.Props) (*actor.PID, error)
	metrics          metrics.Recorder
	dispatcher       actor.Dispatcher
	httpServer       *http.Server // Serve's timeouts and limits
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
		origins:        httpapi.OriginPolicy{Credentials: true},
		compression:    httpapi.Compression{Enabled: true, Threshold: 1024},
		marshalJSON:    json.Marshal,

		maxQueuedPackets: 10_000,
		maxQueuedBytes:   32 << 20,
		overflow:         OverflowClose,
		metrics:          metrics.Nop{},
		httpServer:       &http.Server{ReadHeaderTimeout: 10 * time.Second},
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
// system running. The system's process registry is left as it is; a
// server's own system gets a compact one, which saves idle sessions a few
// hundred bytes each (see docs/architecture.md, Decisions).
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

// WithAllowEIO3 accepts clients of protocol revision 3 (engine.io-client
// 3.x, socket.io-client 2.x) besides revision 4 (default false, as in the
// JavaScript server). Such sessions use the v3 payload encodings (text,
// base64, XHR2 binary, JSONP) and the v3 heartbeat, where the client pings.
func WithAllowEIO3(allow bool) Option {
	return func(c *config) error { c.allowEIO3 = allow; return nil }
}

// WithCORS allows cross-origin requests, polling and WebSocket, from the
// given origins ("https://app.example.com"), or from any origin with "*".
// Without it only same-origin requests are accepted; a request from another
// origin gets 400. Credentials are allowed unless WithCORSCredentials(false).
func WithCORS(origins ...string) Option {
	return func(c *config) error {
		for _, o := range origins {
			if o == "*" {
				c.origins.AllowAll = true
				continue
			}
			c.origins.Origins = append(c.origins.Origins, o)
		}
		return c.origins.Validate()
	}
}

// WithCORSFunc decides per request whether a cross-origin request from
// origin is allowed; it takes precedence over WithCORS.
func WithCORSFunc(allow func(origin string, r *http.Request) bool) Option {
	return func(c *config) error {
		if allow == nil {
			return errors.New("engineio: nil CORS function")
		}
		c.origins.Func = allow
		return nil
	}
}

// WithCORSCredentials says whether cross-origin requests may carry
// credentials (default true): the allowed origin is then echoed, never "*".
func WithCORSCredentials(allow bool) Option {
	return func(c *config) error { c.origins.Credentials = allow; return nil }
}

// WithHTTPCompression compresses polling responses of at least threshold
// bytes with gzip or deflate, as the client's Accept-Encoding allows
// (default on, threshold 1024). A threshold below 0 turns it off.
func WithHTTPCompression(threshold int) Option {
	return func(c *config) error {
		c.compression = httpapi.Compression{Enabled: threshold >= 0, Threshold: max(threshold, 0)}
		if threshold == 0 {
			c.compression.Threshold = 1
		}
		return nil
	}
}

// WithPerMessageDeflate negotiates the WebSocket permessage-deflate
// extension and compresses messages of at least threshold bytes (default
// off, as in the JavaScript server).
func WithPerMessageDeflate(threshold int) Option {
	return func(c *config) error {
		if threshold < 0 {
			return fmt.Errorf("engineio: deflate threshold must not be negative, got %d", threshold)
		}
		c.perMessageDeflate, c.deflateThreshold = true, threshold
		return nil
	}
}

// WithCookie sets a cookie carrying the sid on the handshake response, for
// load balancers that route by cookie. The cookie's Name is required; Value
// is replaced by the sid. A typical one:
//
//	&http.Cookie{Name: "io", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
func WithCookie(cookie *http.Cookie) Option {
	return func(c *config) error {
		if cookie == nil || cookie.Name == "" {
			return errors.New("engineio: the cookie needs a name")
		}
		cp := *cookie
		c.cookie = &cp
		return nil
	}
}

// WithAllowRequest sets a gate that sees every handshake request before a
// session exists. An error rejects the handshake: with 403 (code 4) and the
// error's text, or with the status, code and message of a *RequestError.
func WithAllowRequest(allow func(r *http.Request) error) Option {
	return func(c *config) error { c.allowRequest = allow; return nil }
}

// RequestError is an error WithAllowRequest's gate may return to choose
// the response: Status (403 when zero), Code and Message.
type RequestError = httpapi.RequestError

// WithInitialHeaders lets f add headers to every handshake response.
func WithInitialHeaders(f func(h http.Header, r *http.Request)) Option {
	return func(c *config) error { c.initialHeaders = f; return nil }
}

// WithHeaders lets f add headers to every response of the engine path.
func WithHeaders(f func(h http.Header, r *http.Request)) Option {
	return func(c *config) error { c.headers = f; return nil }
}

// WithInitialPacket sends text as a message to every client right after the
// open packet.
func WithInitialPacket(text string) Option {
	return func(c *config) error {
		p := protocol.TextMessage(text)
		c.initialPacket = &p
		return nil
	}
}

// WithJSONMarshal replaces encoding/json in SendJSON.
func WithJSONMarshal(marshal func(v any) ([]byte, error)) Option {
	return func(c *config) error {
		if marshal == nil {
			return errors.New("engineio: nil JSON marshal function")
		}
		c.marshalJSON = marshal
		return nil
	}
}

// OverflowPolicy says what happens to a send that would exceed a session's
// outbound queue limits.
type OverflowPolicy = actors.OverflowPolicy

// Overflow policies.
const (
	// OverflowClose closes the session with ReasonBackpressure (default).
	OverflowClose = actors.OverflowClose
	// OverflowReject refuses the send: Send returns ErrQueueFull.
	OverflowReject = actors.OverflowReject
	// OverflowDropOldest drops the oldest queued messages to make room.
	OverflowDropOldest = actors.OverflowDropOldest
)

// WithOutboundQueue bounds each session's outbound queue: the messages
// waiting for the client's next poll, or for the WebSocket writer to finish
// the batch it is writing (default 10,000 packets and 32 MiB, policy
// OverflowClose). Zero means no bound for that measure. A stalled client
// then costs at most these bounds, and never slows other sessions.
func WithOutboundQueue(maxPackets, maxBytes int, policy OverflowPolicy) Option {
	return func(c *config) error {
		if maxPackets < 0 || maxBytes < 0 {
			return fmt.Errorf("engineio: queue bounds must not be negative, got %d packets, %d bytes", maxPackets, maxBytes)
		}
		if policy > OverflowDropOldest {
			return fmt.Errorf("engineio: unknown overflow policy %d", policy)
		}
		c.maxQueuedPackets, c.maxQueuedBytes, c.overflow = maxPackets, maxBytes, policy
		return nil
	}
}

// WithShutdownMessage makes Shutdown send text to every session as its
// last message, before the close packet.
func WithShutdownMessage(text string) Option {
	return func(c *config) error {
		p := protocol.TextMessage(text)
		c.shutdownMessage = &p
		return nil
	}
}

// WithSupervisorSpawner spawns the server's supervisor, the parent of all
// its sessions, with spawn instead of at the root of the actor system, so
// the sessions sit in the application's own hierarchy. Call NewServer from
// inside an actor and pass its context's spawn:
//
//	engineio.WithActorSystem(ctx.ActorSystem()),
//	engineio.WithSupervisorSpawner(func(p *actor.Props) (*actor.PID, error) {
//		return ctx.SpawnNamed(p, "engineio")
//	})
func WithSupervisorSpawner(spawn func(props *actor.Props) (*actor.PID, error)) Option {
	return func(c *config) error {
		if spawn == nil {
			return errors.New("engineio: nil spawner")
		}
		c.spawn = spawn
		return nil
	}
}

// WithMetrics reports the server's measurements to r: sessions by
// transport, handshakes, upgrades and failed upgrades, close reasons, HTTP
// errors by code, packets and bytes in and out, queued packets and bytes.
// See package metrics and its Prometheus adapter.
func WithMetrics(r metrics.Recorder) Option {
	return func(c *config) error {
		if r == nil {
			return errors.New("engineio: nil metrics recorder")
		}
		c.metrics = r
		return nil
	}
}

// WithDispatcher runs the server's actors on d. Tests pass
// actor.NewSynchronizedDispatcher to run every session inline, in order, on
// the sender's goroutine (see package engineiotest).
func WithDispatcher(d actor.Dispatcher) Option {
	return func(c *config) error {
		if d == nil {
			return errors.New("engineio: nil dispatcher")
		}
		c.dispatcher = d
		return nil
	}
}

// WithHTTPServer sets the http.Server whose settings Serve and
// ListenAndServe apply (default: ReadHeaderTimeout 10 s, no other limit):
// ReadTimeout, ReadHeaderTimeout, WriteTimeout, IdleTimeout,
// MaxHeaderBytes, BaseContext, ConnContext and ConnState, with ErrorLog for
// the connections net/http serves (see Serve; for TLS, pass Serve a
// tls.NewListener). Its Handler, when set, serves the requests for other
// paths than the engine's, in ServeHTTP too: the application's pages and
// API beside the engine, on one listener. Its other fields are not used,
// and hs is not modified. A long-poll is held for up to the ping interval,
// so WriteTimeout must be longer than that, or zero.
func WithHTTPServer(hs *http.Server) Option {
	return func(c *config) error {
		if hs == nil {
			return errors.New("engineio: WithHTTPServer needs an http.Server")
		}
		c.httpServer = hs
		return nil
	}
}

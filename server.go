package engineio

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/httpapi"
	"github.com/eioactor/engineio/internal/reply"
	"github.com/eioactor/engineio/protocol"
	"github.com/eioactor/engineio/supervisor"
)

// Server is an Engine.IO server. It is an http.Handler for its engine path.
// Its methods may be called from any goroutine; set the handlers before the
// server takes requests.
type Server struct {
	cfg        config
	system     *actor.ActorSystem
	ownSystem  bool
	registry   *supervisor.Registry
	supervisor *actor.PID
	handler    *httpapi.Handler

	onConnect    atomic.Pointer[func(*Session) error]
	onMessage    atomic.Pointer[func(*Session, Message)]
	onDisconnect atomic.Pointer[func(*Session, Reason)]
	onDrain      atomic.Pointer[func(*Session)]
	onRefused    atomic.Pointer[func(ConnectionError)]

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	listenMu  sync.Mutex
	listening map[*listening]struct{} // the Serve calls running
}

// NewServer returns a server configured by opts; see the With* options for
// the defaults.
func NewServer(opts ...Option) (*Server, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, registry: &supervisor.Registry{}, system: cfg.system}
	if s.system == nil {
		s.system = newActorSystem(cfg.logger.With("component", "protoactor"))
		s.ownSystem = true
	}
	upgrades := []string{}
	if cfg.allowUpgrades && cfg.polling && cfg.websocket {
		upgrades = []string{"websocket"}
	}
	sessionCfg := &actors.Config{
		PingInterval:     cfg.pingInterval,
		PingTimeout:      cfg.pingTimeout,
		UpgradeTimeout:   cfg.upgradeTimeout,
		CloseTimeout:     cfg.closeTimeout,
		MaxPayload:       cfg.maxPayload,
		Upgrades:         upgrades,
		InitialPacket:    cfg.initialPacket,
		MaxQueuedPackets: cfg.maxQueuedPackets,
		MaxQueuedBytes:   cfg.maxQueuedBytes,
		Overflow:         cfg.overflow,
		Clock:            cfg.clock,
		Events:           events{s},
		Logger:           cfg.logger,
		Metrics:          cfg.metrics,
		Dispatcher:       cfg.dispatcher,
	}
	props := supervisor.NewProps(supervisor.Config{Session: sessionCfg, NewSID: cfg.newSID, Logger: cfg.logger}, s.registry)
	var pid *actor.PID
	if cfg.spawn != nil {
		var err error
		if pid, err = cfg.spawn(props); err != nil {
			return nil, fmt.Errorf("engineio: spawn supervisor: %w", err)
		}
	} else {
		pid = s.system.Root.SpawnPrefix(props, "engineio-")
	}
	s.supervisor = pid
	s.handler = httpapi.New(httpapi.Config{
		Path:              cfg.path,
		Polling:           cfg.polling,
		WebSocket:         cfg.websocket,
		AllowEIO3:         cfg.allowEIO3,
		MaxPayload:        cfg.maxPayload,
		WriteTimeout:      cfg.writeTimeout,
		Origins:           cfg.origins,
		Compression:       cfg.compression,
		PerMessageDeflate: cfg.perMessageDeflate,
		DeflateThreshold:  cfg.deflateThreshold,
		Cookie:            cfg.cookie,
		AllowRequest:      cfg.allowRequest,
		InitialHeaders:    cfg.initialHeaders,
		Headers:           cfg.headers,
		Metrics:           cfg.metrics,
		Refused:           s.refused,
		// A parked poll is answered within a ping interval; the session
		// closes a silent client within interval+timeout.
		ReplyTimeout: cfg.pingInterval + cfg.pingTimeout + cfg.upgradeTimeout,
		Logger:       cfg.logger,
		// Served as the http.Server's Handler, the server keeps the
		// connections of held polls (see httpapi.Config.Root).
		Root:     s,
		Fallback: fallbackHandler(cfg.httpServer, s),
		// Only the application's callbacks could read the context of a
		// request that Serve read itself: every option whose callback gets
		// the *http.Request belongs in this list (OnConnectionError, set
		// later, asks for it then).
		RequestContext: cfg.allowRequest != nil || cfg.headers != nil || cfg.initialHeaders != nil || cfg.origins.Func != nil,
	}, s.system, pid, s.lookupSession)
	return s, nil
}

// fallbackHandler is the handler of the requests for other paths: hs's
// own, unless that is the server itself.
func fallbackHandler(hs *http.Server, s *Server) http.Handler {
	if hs.Handler == nil || hs.Handler == http.Handler(s) {
		return nil
	}
	return hs.Handler
}

func (s *Server) lookupSession(sid string) (httpapi.Session, bool) {
	info, ok := s.registry.Lookup(sid)
	if !ok || info.Closed() {
		return httpapi.Session{}, false
	}
	return httpapi.Session{PID: info.PID, State: info}, true
}

// OnConnect sets the handler that runs when a client opens a session,
// before the handshake is answered. Returning an error rejects the
// handshake with HTTP 403 (code 4) and the error's text as the message.
// Like every On method, it may be called at any time; nil removes the
// handler.
func (s *Server) OnConnect(f func(s *Session) error) { s.onConnect.Store(handlerRef(f, f == nil)) }

// OnMessage sets the handler of messages from clients. The message's Data
// belongs to the handler.
func (s *Server) OnMessage(f func(s *Session, msg Message)) {
	s.onMessage.Store(handlerRef(f, f == nil))
}

// OnDisconnect sets the handler that runs once when a session has closed.
func (s *Server) OnDisconnect(f func(s *Session, reason Reason)) {
	s.onDisconnect.Store(handlerRef(f, f == nil))
}

// OnDrain sets a handler that runs when a session's outbound queue has
// emptied after sends: every queued message has been handed to the
// transport. Producers use it to pace themselves (see WithOutboundQueue).
func (s *Server) OnDrain(f func(s *Session)) { s.onDrain.Store(handlerRef(f, f == nil)) }

// handlerRef is what an On method stores: a pointer to f, or nil when f is
// nil (a function cannot be compared with nil in generic code).
func handlerRef[F any](f F, isNil bool) *F {
	if isNil {
		return nil
	}
	return &f
}

// ConnectionError describes a request the server answered with one of the
// protocol's JSON errors, as the JavaScript server's "connection_error"
// event does: see OnConnectionError.
type ConnectionError struct {
	// Request is the request refused. Its body may have been read.
	Request *http.Request
	// Status is the answer's HTTP status; Code and Message are its JSON
	// body's (protocol.CodeUnknownSID and "Session ID unknown", say).
	Status  int
	Code    protocol.ErrorCode
	Message string
}

// OnConnectionError sets a handler that sees every request the server
// answers with the protocol's JSON error: an unknown or closed session
// (the usual sign of polling requests that reach another server than the
// session's), a transport, method or protocol revision it does not serve,
// an origin the CORS policy refuses, a handshake that WithAllowRequest or
// OnConnect refused, a body over WithMaxPayload, a handshake while the
// server closes. It runs on the request's goroutine before the answer is
// written, and must not keep the request. A long-poll that the server
// answers later, without its request, is not seen.
func (s *Server) OnConnectionError(f func(e ConnectionError)) {
	if f != nil {
		// Requests that Serve reads itself then carry their connection's
		// context too, as those that net/http reads do, and are not
		// reused: before the handler can see one.
		s.handler.KeepRequestContext()
	}
	s.onRefused.Store(handlerRef(f, f == nil))
}

// refused runs the OnConnectionError handler, if any.
func (s *Server) refused(r *http.Request, status int, code protocol.ErrorCode, message string) {
	if f := s.onRefused.Load(); f != nil {
		(*f)(ConnectionError{Request: r, Status: status, Code: code, Message: message})
	}
}

// ServeHTTP serves the engine path; other paths go to the Handler of
// WithHTTPServer's http.Server, or get 404 without one.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// While shutting down, sessions still drain and the application's
	// routes are served: only new handshakes are refused.
	if s.closed.Load() && s.handler.IsEnginePath(r.URL.Path) && !r.URL.Query().Has("sid") {
		s.handler.Refuse(w, r, http.StatusServiceUnavailable, protocol.CodeBadRequest, "Server closed")
		return
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) session(sid string) (*actors.Info, error) {
	if s.closed.Load() {
		return nil, ErrServerClosed
	}
	info, ok := s.registry.Lookup(sid)
	if !ok || info.Closed() {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSession, sid)
	}
	return info, nil
}

func (s *Server) send(sid string, pkt protocol.Packet) error {
	info, err := s.session(sid)
	if err != nil {
		return err
	}
	return s.sendTo(info, pkt)
}

func (s *Server) sendTo(info *actors.Info, pkt protocol.Packet) error {
	if int64(len(pkt.Data)) > s.cfg.maxPayload {
		return fmt.Errorf("%w: %d bytes", ErrMessageTooLarge, len(pkt.Data))
	}
	if s.cfg.overflow == OverflowReject {
		// The session enforces the limit too; this check lets the caller
		// see the rejection.
		packets, bytes := info.Queued()
		if (s.cfg.maxQueuedPackets > 0 && packets+1 > s.cfg.maxQueuedPackets) ||
			(s.cfg.maxQueuedBytes > 0 && bytes+len(pkt.Data) > s.cfg.maxQueuedBytes) {
			return fmt.Errorf("%w: session %q", ErrQueueFull, info.SID)
		}
	}
	info.Send(s.system.Root, pkt)
	return nil
}

// Send queues a text message for the session.
func (s *Server) Send(sid, text string) error { return s.send(sid, protocol.TextMessage(text)) }

// SendBinary queues a binary message for the session. The server owns data
// from then on.
func (s *Server) SendBinary(sid string, data []byte) error {
	return s.send(sid, protocol.BinaryMessage(data))
}

// SendJSON queues v, encoded as JSON, as a text message for the session.
func (s *Server) SendJSON(sid string, v any) error {
	b, err := s.cfg.marshalJSON(v)
	if err != nil {
		return fmt.Errorf("engineio: encode message: %w", err)
	}
	return s.send(sid, protocol.Packet{Type: protocol.Message, Data: b})
}

// Disconnect closes the session gracefully: what is queued is delivered,
// then the client gets a close packet. The disconnect handler reports
// ReasonServerClose. The sends and disconnects of a session (through the
// Server or the Session) take effect in the order of the calls: a message
// sent before Disconnect is delivered, one sent after it is dropped.
func (s *Server) Disconnect(sid string) error {
	info, err := s.session(sid)
	if err != nil {
		return err
	}
	info.Close(s.system.Root, &actors.Close{Reason: actors.ReasonServerClose})
	return nil
}

// DisconnectAll closes every session as Disconnect does.
func (s *Server) DisconnectAll() {
	if !s.closed.Load() {
		s.system.Root.Send(s.supervisor, &supervisor.CloseAll{Reason: actors.ReasonServerClose})
	}
}

// Transport returns the session's current transport: "polling" or
// "websocket".
func (s *Server) Transport(sid string) (string, error) {
	info, err := s.session(sid)
	if err != nil {
		return "", err
	}
	return info.Transport().String(), nil
}

// Subscribe makes subscriber receive the session's events as actor
// messages (*actors.MessageReceived, *actors.Upgraded, *actors.Drained,
// *actors.Disconnected), beside the handlers. The session forgets a
// subscriber that stops.
func (s *Server) Subscribe(sid string, subscriber *actor.PID) error {
	info, err := s.session(sid)
	if err != nil {
		return err
	}
	s.system.Root.Send(info.PID, &actors.Subscribe{Subscriber: subscriber})
	return nil
}

// SupervisorPID returns the actor that is the parent of all sessions.
func (s *Server) SupervisorPID() *actor.PID { return s.supervisor }

// PID returns the session's actor. Any actor may send it the messages of
// package actors, for instance *actors.Send and *actors.Close. They keep
// their order among themselves, as any one sender's messages do, but not
// with the calls of Send and Disconnect on the Server or the Session, which
// do not go through the mailbox: use one way or the other for a session.
func (s *Server) PID(sid string) (*actor.PID, error) {
	info, err := s.session(sid)
	if err != nil {
		return nil, err
	}
	return info.PID, nil
}

// Sessions returns the ids of the open sessions.
func (s *Server) Sessions() []string {
	sids := make([]string, 0, s.registry.Len())
	s.registry.Range(func(info *actors.Info) bool {
		sids = append(sids, info.SID)
		return true
	})
	return sids
}

// ActorSystem returns the actor system the server runs in.
func (s *Server) ActorSystem() *actor.ActorSystem { return s.system }

// Close shuts the server down: new handshakes are refused, every session is
// closed gracefully (clients get a close packet, and the disconnect handler
// reports ReasonServerShutdown) and the server's actors stop. When ctx ends
// first, the remaining sessions are stopped at once. The listeners of Serve
// close then, and their connections once the requests on them have
// finished (the application's, see WithHTTPServer), or when ctx ends. Close
// returns when all of the server's actors have stopped; later calls return
// the same result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.shutdown(ctx) })
	return s.closeErr
}

// Shutdown is Close: a graceful drain for rolling deploys. New handshakes
// get 503 at once; every session gets the shutdown message (see
// WithShutdownMessage) and what it has queued, then a close packet; the
// disconnect handler reports ReasonServerShutdown. A polling session waits
// up to the close timeout (WithCloseTimeout) for its client's next poll to
// carry them; a live polling client has a poll parked or on its way. When
// ctx ends first, the remaining sessions are stopped at once and Shutdown
// returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error { return s.Close(ctx) }

func (s *Server) shutdown(ctx context.Context) error {
	s.closed.Store(true)
	// Sessions wait up to the close timeout; a deadline that comes first
	// stops the rest at once (and Shutdown reports it).
	ib := reply.New(s.system)
	s.system.Root.RequestWithCustomSender(s.supervisor, &supervisor.Shutdown{Grace: s.cfg.closeTimeout, Final: s.cfg.shutdownMessage}, ib.PID())
	_, waitErr := ib.Wait(ctx, 0)
	ib.Release()
	// Stopping the supervisor stops what is left of its sessions.
	stopErr := s.system.Root.StopFuture(s.supervisor).Wait()
	s.handler.Close()
	cutErr := s.closeListeners(ctx)
	if s.ownSystem {
		s.system.Shutdown()
	}
	if waitErr != nil {
		return fmt.Errorf("engineio: sessions stopped before closing gracefully: %w", waitErr)
	}
	if stopErr != nil {
		return fmt.Errorf("engineio: stop supervisor: %w", stopErr)
	}
	if cutErr != nil {
		return fmt.Errorf("engineio: requests of Serve's connections cut short: %w", cutErr)
	}
	return nil
}

// events adapts the session actors' events to the server's handlers.
type events struct{ srv *Server }

func (e events) Connect(info *actors.Info) (any, error) {
	sess := &Session{info: info, srv: e.srv}
	if f := e.srv.onConnect.Load(); f != nil {
		if err := (*f)(sess); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (e events) Message(state any, pkt protocol.Packet) {
	if f := e.srv.onMessage.Load(); f != nil {
		(*f)(state.(*Session), Message{Data: pkt.Data, Binary: pkt.Binary})
	}
}

func (e events) WantDrain() bool { return e.srv.onDrain.Load() != nil }

func (e events) Drain(state any) {
	if f := e.srv.onDrain.Load(); f != nil {
		(*f)(state.(*Session))
	}
}

func (e events) Disconnect(state any, reason actors.Reason) {
	if f := e.srv.onDisconnect.Load(); f != nil {
		(*f)(state.(*Session), reason)
	}
}

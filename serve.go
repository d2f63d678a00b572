package engineio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/eioactor/engineio/httpapi"
)

// ListenAndServe listens on the TCP network address addr and calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Serve accepts connections on l and serves the engine on them, as
// http.Server.Serve would with the server as its Handler, until the server
// closes; it then returns http.ErrServerClosed. Other paths get 404, or
// the Handler of WithHTTPServer's http.Server.
//
// The server reads HTTP/1.1 requests on plain TCP connections itself:
// between requests a connection waits parked, with no goroutine and no
// buffer, where net/http keeps a goroutine and 8 KB of buffers for each
// connection, and the connection of a WebSocket is never net/http's. The
// timeouts and limits are those of WithHTTPServer's http.Server
// (ReadHeaderTimeout 10 s by default), and its ConnState hook sees these
// connections as net/http's: New, Active and Idle for each request, then
// Closed, or Hijacked for a WebSocket or a connection handed to net/http.
// Connections it cannot read itself (a TLS listener's, or all of them on
// systems without epoll) are served by net/http, with those settings, and
// a TLS one becomes the server's once a long-poll is held on it. So is
// a connection from its first request for another path (a page, say), with
// the bytes it had sent: a browser shares its connections between the page
// and the engine.
//
// Close closes the listeners of Serve after the sessions have closed, and
// lets the requests that net/http serves on its connections finish until
// Close's context ends.
func (s *Server) Serve(l net.Listener) error {
	ls, err := s.listen(l)
	if err != nil {
		return err
	}
	defer s.unlisten(ls)
	go func() { _ = ls.fallback.Serve(ls.handoff) }()

	base := context.Background()
	if ls.fallback.BaseContext != nil {
		base = ls.fallback.BaseContext(l)
	}
	base = context.WithValue(base, http.ServerContextKey, ls.fallback)
	base = httpapi.WithHandoff(base, ls.handoff.put)
	var delay time.Duration // after an Accept error, as net/http backs off
	for {
		conn, err := l.Accept()
		if err != nil {
			if s.closed.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors, say: wait and accept again.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		// The connection's own context costs it a value kept as long as
		// it lives (an idle session's long-poll connection, for one): it
		// is made for ConnContext only, and a request that shows its
		// context to the application gets http.LocalAddrContextKey then.
		ctx := base
		if ls.fallback.ConnContext != nil {
			ctx = ls.fallback.ConnContext(context.WithValue(base, http.LocalAddrContextKey, conn.LocalAddr()), conn)
		}
		if !s.handler.ServeConn(ctx, conn, ls.fallback) {
			ls.handoff.put(conn)
		}
	}
}

// listening is one Serve call: its listener, and the http.Server that
// serves what the engine cannot read itself.
type listening struct {
	l        net.Listener
	fallback *http.Server
	handoff  *handoffListener
}

func (s *Server) listen(l net.Listener) (*listening, error) {
	if s.closed.Load() {
		if l != nil {
			_ = l.Close()
		}
		return nil, http.ErrServerClosed
	}
	t := s.cfg.httpServer
	fallback := &http.Server{
		Handler:           s,
		ReadTimeout:       t.ReadTimeout,
		ReadHeaderTimeout: t.ReadHeaderTimeout,
		WriteTimeout:      t.WriteTimeout,
		IdleTimeout:       t.IdleTimeout,
		MaxHeaderBytes:    t.MaxHeaderBytes,
		ConnState:         t.ConnState,
		ErrorLog:          t.ErrorLog,
		ConnContext:       t.ConnContext,
	}
	ls := &listening{l: l, fallback: fallback, handoff: newHandoffListener(l.Addr())}
	// A connection handed over for the application's requests may carry
	// a long-poll later: it is kept again, and can be handed over again.
	fallback.BaseContext = func(l net.Listener) context.Context {
		base := context.Background()
		if t.BaseContext != nil {
			base = t.BaseContext(l)
		}
		return httpapi.WithHandoff(base, ls.handoff.put)
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if s.closed.Load() {
		_ = l.Close()
		return nil, http.ErrServerClosed
	}
	if s.listening == nil {
		s.listening = map[*listening]struct{}{}
	}
	s.listening[ls] = struct{}{}
	return ls, nil
}

func (s *Server) unlisten(ls *listening) {
	s.listenMu.Lock()
	delete(s.listening, ls)
	s.listenMu.Unlock()
	_ = ls.l.Close()
	_ = ls.handoff.Close()
}

// closeListeners ends the Serve calls: their listeners close, and so do
// the connections net/http serves for them, once the requests on them
// (the application's, above all) have finished, as http.Server.Shutdown
// lets them, or at once when ctx ends. It reports ctx's error if it cut
// requests short.
func (s *Server) closeListeners(ctx context.Context) error {
	s.listenMu.Lock()
	all := make([]*listening, 0, len(s.listening))
	for ls := range s.listening {
		all = append(all, ls)
	}
	s.listenMu.Unlock()
	for _, ls := range all {
		_ = ls.l.Close()
		_ = ls.handoff.Close()
	}
	var cut error
	for _, ls := range all {
		if err := ls.fallback.Shutdown(ctx); err != nil {
			_ = ls.fallback.Close()
			cut = err
		}
	}
	return cut
}

// handoffListener hands accepted connections to an http.Server.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

// put hands conn over, or closes it when the listener is closed.
func (h *handoffListener) put(conn net.Conn) {
	select {
	case h.conns <- conn:
	case <-h.done:
		_ = conn.Close()
	}
}

// Accept implements net.Listener.
func (h *handoffListener) Accept() (net.Conn, error) {
	select {
	case conn := <-h.conns:
		return conn, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (h *handoffListener) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

// Addr implements net.Listener.
func (h *handoffListener) Addr() net.Addr { return h.addr }

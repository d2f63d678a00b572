// Command chi serves the Engine.IO echo server from a chi router, next to an
// ordinary route: every message comes back to its sender, text as text and
// binary as binary, and GET /hello answers "hello". It is a module of its
// own, so that the engineio module does not depend on chi.
//
//	cd examples/chi && go run . -addr 127.0.0.1:3000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/eioactor/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chi:", err)
		os.Exit(1)
	}
}

// newEcho returns an Engine.IO server that sends every message back to its
// sender, text as text and binary as binary.
func newEcho(opts ...engineio.Option) (*engineio.Server, error) {
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		return nil, err
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		if msg.Binary {
			_ = s.SendBinary(msg.Data)
			return
		}
		_ = s.Send(msg.Text())
	})
	return srv, nil
}

// newRouter mounts srv on a chi router next to GET /hello.
func newRouter(srv *engineio.Server) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	// chi matches paths exactly: mount both forms of the engine path. Handle
	// covers every method; the query string plays no part in matching. Use
	// Handle, not Mount: Mount would strip the prefix from the path the
	// server checks.
	r.Handle("/engine.io/", srv)
	r.Handle("/engine.io", srv)
	r.Get("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hello"))
	})
	return r
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()

	srv, err := newEcho()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("engine.io chi example listening on http://%s (Engine.IO at /engine.io/, GET /hello)\n", ln.Addr())
	httpSrv := &http.Server{Handler: newRouter(srv), ReadHeaderTimeout: 10 * time.Second}
	return serve(httpSrv, ln, srv)
}

// serve runs httpSrv on ln until SIGINT or SIGTERM, then closes the
// Engine.IO sessions and the HTTP server.
func serve(httpSrv *http.Server, ln net.Listener, srv *engineio.Server) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closeErr := srv.Close(shutdownCtx)
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return closeErr
}

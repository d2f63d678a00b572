// Command stdmux serves the Engine.IO echo server from a net/http ServeMux,
// next to an ordinary route: every message comes back to its sender, text as
// text and binary as binary, and GET /hello answers "hello".
//
//	go run ./examples/stdmux -addr 127.0.0.1:3000
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

	"github.com/eioactor/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stdmux:", err)
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

// newRouter mounts srv on a ServeMux next to GET /hello.
func newRouter(srv *engineio.Server) http.Handler {
	mux := http.NewServeMux()
	// Both patterns, for every method: with only "/engine.io/", ServeMux
	// would redirect "/engine.io" to it, which breaks POSTs and WebSockets.
	// The query string plays no part in matching.
	mux.Handle("/engine.io/", srv)
	mux.Handle("/engine.io", srv)
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hello"))
	})
	return mux
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
	fmt.Printf("engine.io stdmux example listening on http://%s (Engine.IO at /engine.io/, GET /hello)\n", ln.Addr())
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

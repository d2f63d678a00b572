// Command gin serves the Engine.IO echo server from a gin engine, next to an
// ordinary route: every message comes back to its sender, text as text and
// binary as binary, and GET /hello answers "hello". It is a module of its
// own, so that the engineio module does not depend on gin.
//
//	cd examples/gin && go run . -addr 127.0.0.1:3000
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

	"github.com/gin-gonic/gin"

	"github.com/eioactor/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gin:", err)
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

// newRouter mounts srv on a gin engine next to GET /hello.
func newRouter(srv *engineio.Server) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	// Any covers every method, and the two routes both forms of the engine
	// path (without the second, gin redirects /engine.io to /engine.io/,
	// which breaks POSTs and WebSockets). The query string plays no part in
	// matching. gin's ResponseWriter implements http.Hijacker, which the
	// WebSocket upgrade needs.
	h := gin.WrapH(srv)
	r.Any("/engine.io/*any", h)
	r.Any("/engine.io", h)
	r.GET("/hello", func(c *gin.Context) { c.String(http.StatusOK, "hello") })
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
	fmt.Printf("engine.io gin example listening on http://%s (Engine.IO at /engine.io/, GET /hello)\n", ln.Addr())
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

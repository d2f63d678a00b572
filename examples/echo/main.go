// Command echo serves an Engine.IO echo server: every message comes back to
// its sender, text as text and binary as binary.
//
//	go run ./examples/echo -addr 127.0.0.1:3000
//
// Flags set the heartbeat (-ping-interval 300 -ping-timeout 200, in
// milliseconds), the max payload, protocol 3 clients (-eio3) and the origins
// allowed cross-origin (-cors '*' or -cors https://a.example,https://b.example).
// The server reads its connections itself (Server.Serve); -nethttp serves it
// as the Handler of an http.Server instead. -cert and -key serve HTTPS.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/eioactor/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	pingInterval := flag.Int("ping-interval", 25000, "ping interval in milliseconds")
	pingTimeout := flag.Int("ping-timeout", 20000, "ping timeout in milliseconds")
	maxPayload := flag.Int64("max-payload", 1_000_000, "largest accepted message or POST body in bytes")
	eio3 := flag.Bool("eio3", false, "also accept protocol revision 3 clients (engine.io-client 3.x)")
	cors := flag.String("cors", "", "allow cross-origin requests from these origins: a comma-separated list, or * for any")
	verbose := flag.Bool("v", false, "log sessions and errors to stderr")
	netHTTP := flag.Bool("nethttp", false, "serve as the Handler of an http.Server instead of with Server.Serve")
	certFile := flag.String("cert", "", "serve HTTPS (and wss://) with this PEM certificate chain; needs -key")
	keyFile := flag.String("key", "", "the PEM private key of -cert")
	flag.Parse()
	if (*certFile == "") != (*keyFile == "") {
		return errors.New("-cert and -key go together")
	}

	opts := []engineio.Option{
		engineio.WithPingInterval(time.Duration(*pingInterval) * time.Millisecond),
		engineio.WithPingTimeout(time.Duration(*pingTimeout) * time.Millisecond),
		engineio.WithMaxPayload(*maxPayload),
		engineio.WithAllowEIO3(*eio3),
	}
	if *cors != "" {
		opts = append(opts, engineio.WithCORS(strings.Split(*cors, ",")...))
	}
	if *verbose {
		opts = append(opts, engineio.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		return err
	}
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		_ = s.SendMessage(msg) // text as text, binary as binary
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("loading -cert and -key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	fmt.Printf("engine.io echo server listening on %s://%s/engine.io/\n", scheme, ln.Addr())

	serve := func() error { return srv.Serve(ln) }
	var httpSrv *http.Server
	if *netHTTP {
		// As the http.Server's own Handler (it answers 404 beside its
		// path), the server keeps the connections of held long-polls.
		httpSrv = &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
		serve = func() error { return httpSrv.Serve(ln) }
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 1)
	go func() { serveErr <- serve() }()
	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closeErr := srv.Close(shutdownCtx)
	if httpSrv != nil {
		if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return closeErr
}

// Command eioprof is our echo server (the same options and handler as
// examples/echo) with net/http/pprof on a second port, for bench/profile.sh.
//
//	go run ./bench/cmd/eioprof -addr 127.0.0.1:3000 -pprof 127.0.0.1:6060 [-memprofilerate 524288] [-dispatcher sync]
//
// -dispatcher sync runs the session actors on protoactor's synchronized
// dispatcher (engineio.WithDispatcher) instead of the default one and the
// goroutines lent to it (socket readers, waiting requests): an experiment,
// not a setting to deploy (a sender then runs the session's code on its
// own goroutine).
//
// Besides /debug/pprof/, the pprof port serves /count: the number of
// messages echoed so far, so that a profile can be divided by the messages
// it covers; and /memstats: where the process's memory is (heap, stacks,
// goroutines), after a GC.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eioactor/engineio"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "eioprof:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:3000", "address of the Engine.IO server")
	pprofAddr := flag.String("pprof", "127.0.0.1:6060", "address of the pprof server")
	pingInterval := flag.Int("ping-interval", 25000, "ping interval in milliseconds")
	pingTimeout := flag.Int("ping-timeout", 20000, "ping timeout in milliseconds")
	memRate := flag.Int("memprofilerate", runtime.MemProfileRate, "runtime.MemProfileRate: sample one allocation per this many bytes (1: every allocation)")
	dispatcher := flag.String("dispatcher", "default", "session dispatcher: default (protoactor's, plus the goroutines of socket readers and waiting requests) or sync (protoactor's synchronized dispatcher)")
	netHTTP := flag.Bool("nethttp", false, "serve as the Handler of an http.Server instead of with Server.Serve")
	certFile := flag.String("cert", "", "serve HTTPS (and wss://) with this PEM certificate chain, as examples/echo; needs -key")
	keyFile := flag.String("key", "", "the PEM private key of -cert")
	flag.Parse()
	runtime.MemProfileRate = *memRate

	opts := []engineio.Option{
		engineio.WithPingInterval(time.Duration(*pingInterval) * time.Millisecond),
		engineio.WithPingTimeout(time.Duration(*pingTimeout) * time.Millisecond),
		engineio.WithMaxPayload(1_000_000),
	}
	switch *dispatcher {
	case "default":
	case "sync":
		opts = append(opts, engineio.WithDispatcher(actor.NewSynchronizedDispatcher(300)))
	default:
		return fmt.Errorf("-dispatcher must be default or sync, got %q", *dispatcher)
	}
	srv, err := engineio.NewServer(opts...)
	if err != nil {
		return err
	}
	var echoed atomic.Uint64
	srv.OnMessage(func(s *engineio.Session, msg engineio.Message) {
		_ = s.SendMessage(msg)
		echoed.Add(1)
	})

	dbg := http.NewServeMux()
	dbg.HandleFunc("/debug/pprof/", pprof.Index)
	dbg.HandleFunc("/debug/pprof/profile", pprof.Profile)
	dbg.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	dbg.HandleFunc("/count", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, echoed.Load())
	})
	dbg.HandleFunc("/memstats", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		kb := func(b uint64) uint64 { return b / 1024 }
		fmt.Fprintf(w, "goroutines %d\nheap_inuse_kb %d\nheap_alloc_kb %d\nheap_idle_kb %d\nheap_released_kb %d\nstack_inuse_kb %d\nsys_kb %d\nother_sys_kb %d\n",
			runtime.NumGoroutine(), kb(m.HeapInuse), kb(m.HeapAlloc), kb(m.HeapIdle), kb(m.HeapReleased),
			kb(m.StackInuse), kb(m.Sys), kb(m.MSpanInuse+m.MCacheInuse+m.BuckHashSys+m.GCSys+m.OtherSys))
	})
	dln, err := net.Listen("tcp", *pprofAddr)
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(dln, dbg) }()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if *certFile != "" || *keyFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fmt.Errorf("loading -cert and -key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
		scheme = "https"
	}
	fmt.Printf("engine.io echo server listening on %s://%s/engine.io/ (pprof on http://%s/debug/pprof/)\n", scheme, ln.Addr(), dln.Addr())
	// As examples/echo.
	serve := func() error { return srv.Serve(ln) }
	var httpSrv *http.Server
	if *netHTTP {
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
		return httpSrv.Shutdown(shutdownCtx)
	}
	return closeErr
}

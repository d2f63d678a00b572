package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eioactor/engineio"
	eioprom "github.com/eioactor/engineio/metrics/prometheus"
)

// The server's metrics on a registry of their own, served at /metrics next
// to the engine path.
func Example() {
	reg := prometheus.NewRegistry()
	rec := eioprom.New(eioprom.Options{})
	reg.MustRegister(rec)

	srv, err := engineio.NewServer(engineio.WithMetrics(rec))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	// In a program: http.ListenAndServe(":3000", mux). Here: a test server,
	// one handshake, and a look at the metrics.
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	resp, err := http.Get(ts.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "engineio_handshakes_total{") || strings.HasPrefix(lines.Text(), "engineio_sessions{") {
			fmt.Println(lines.Text())
		}
	}
	// Output:
	// engineio_handshakes_total{transport="polling"} 1
	// engineio_handshakes_total{transport="websocket"} 0
	// engineio_sessions{transport="polling"} 1
	// engineio_sessions{transport="websocket"} 0
}

package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/eioactor/engineio/bench/internal/wsecho"
)

// BenchmarkWebSocketEcho is bench's benchmark of the same name against the
// bare server, in process: `PKG=./bench/bare bash bench/callgrind.sh`
// counts its instructions per echo.
func BenchmarkWebSocketEcho(b *testing.B) {
	srv := &server{
		interval: 25 * time.Second,
		timeout:  20 * time.Second,
		sessions: map[string]*session{},
		up:       websocket.Upgrader{},
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	wsecho.Run(b, "ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket")
}

package main

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eioactor/engineio/bench/internal/wsecho"
)

// BenchmarkWebSocketEcho is bench's benchmark of the same name against the
// bare server, in process: `PKG=./bench/bare bash bench/callgrind.sh`
// counts its instructions per echo.
func BenchmarkWebSocketEcho(b *testing.B) {
	ts := httptest.NewServer(newServer(25*time.Second, 20*time.Second))
	defer ts.Close()
	wsecho.Run(b, "ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket")
}

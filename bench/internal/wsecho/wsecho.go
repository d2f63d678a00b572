// Package wsecho is the client of the in-process WebSocket echo
// benchmarks: the same loop against our server (package bench) and the
// bare one (bench/bare), so that their counts compare.
package wsecho

import (
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// Run opens an Engine.IO v4 WebSocket session at url (ws://...) and times
// b.N echoes of a 64-byte text message, answering the server's pings.
func Run(b *testing.B, url string) {
	b.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.ReadMessage(); err != nil { // open packet
		b.Fatal(err)
	}
	msg := []byte("4" + strings.Repeat("x", 64))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		for {
			_, got, err := c.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if string(got) == string(msg) {
				break
			}
			if len(got) == 0 || got[0] != '2' {
				b.Fatalf("got %q, want the echo or a ping", got)
			}
			_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
		}
	}
}

package actors

import (
	"net/http"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// An Info's Done channel is made only when asked for: before the session
// closes (markClosed closes it) or after (it is closed already), and
// callers racing with the close all see it closed.
func TestInfoDone(t *testing.T) {
	before := NewInfo("a", 0, TransportPolling, nil, "", "")
	ch := before.Done()
	if before.Closed() {
		t.Fatal("a new session reports Closed")
	}
	select {
	case <-ch:
		t.Fatal("Done is closed before the session closes")
	default:
	}
	if before.Done() != ch {
		t.Fatal("Done returned a second channel")
	}
	before.markClosed()
	before.markClosed() // closing twice is harmless
	if !before.Closed() {
		t.Fatal("Closed is false after markClosed")
	}
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("Done was not closed by markClosed")
	}

	after := NewInfo("b", 0, TransportWebSocket, nil, "", "")
	after.markClosed()
	select {
	case <-after.Done():
	default:
		t.Fatal("Done asked for after the close is not closed")
	}

	racing := NewInfo("c", 0, TransportPolling, nil, "", "")
	var wg sync.WaitGroup
	chans := make([]<-chan struct{}, 8)
	for i := range chans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chans[i] = racing.Done()
		}()
	}
	racing.markClosed()
	wg.Wait()
	for i, c := range chans {
		select {
		case <-c:
		case <-time.After(time.Second):
			t.Fatalf("Done of caller %d not closed after markClosed", i)
		}
	}
}

// NewInfo keeps its own copy of the query, not the request line it came
// from, and leaves out the handshake's connection headers.
func TestNewInfoCopies(t *testing.T) {
	line := "GET /engine.io/?EIO=4&transport=polling HTTP/1.1"
	query := line[len("GET /engine.io/?") : len(line)-len(" HTTP/1.1")]
	h := http.Header{"Connection": {"Upgrade"}, "Sec-Websocket-Key": {"k"}, "X-Token": {"t"}}
	info := NewInfo("d", 0, TransportWebSocket, h, query, "")
	if info.RawQuery != query {
		t.Fatalf("RawQuery %q, want %q", info.RawQuery, query)
	}
	if unsafe.StringData(info.RawQuery) == unsafe.StringData(query) {
		t.Fatal("RawQuery shares the request line's memory")
	}
	got := info.Header()
	if len(got) != 1 || got.Get("X-Token") != "t" {
		t.Fatalf("Header() = %v, want only X-Token", got)
	}
}

// Every session keeps its struct for as long as it lives: it stays in the
// allocator's 384-byte size class (the free timer entry fits in it).
func TestSessionSize(t *testing.T) {
	if n := unsafe.Sizeof(session{}); n > 384 {
		t.Errorf("session is %d bytes, want at most 384", n)
	}
}

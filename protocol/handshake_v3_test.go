package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendOpenV3(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    Handshake
		want string
	}{
		{
			"spec example without maxPayload",
			Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1000000},
			`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000}`,
		},
		{
			"suite timings, websocket handshake",
			Handshake{SID: "abc", PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond},
			`0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200}`,
		},
		{
			"sid is escaped",
			Handshake{SID: "a\"b\\c\n</script>\u2028\xff", Upgrades: []string{"websocket", "x"}},
			`0{"sid":"a\"b\\c\n\u003c/script\u003e\u2028\ufffd","upgrades":["websocket","x"],"pingInterval":0,"pingTimeout":0}`,
		},
	} {
		if got := string(AppendOpenV3(nil, tt.h)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// The v3 handshake is the v4 one without maxPayload: the same keys in the
// same order, and the same values.
func TestAppendOpenV3MatchesV4(t *testing.T) {
	h := Handshake{SID: "we\"ird\x00sid", Upgrades: []string{"websocket"}, PingInterval: 1500 * time.Millisecond, PingTimeout: time.Second, MaxPayload: 100}
	v3 := AppendOpenV3([]byte("prefix"), h)
	if !bytes.HasPrefix(v3, []byte("prefix")) {
		t.Fatalf("AppendOpenV3 lost dst: %q", v3)
	}
	v3 = v3[len("prefix"):]
	v4 := string(AppendOpen(nil, h))
	if want := strings.TrimSuffix(v4, `,"maxPayload":100}`) + "}"; string(v3) != want {
		t.Errorf("AppendOpenV3 = %s, want %s", v3, want)
	}
	var m map[string]any
	if err := json.Unmarshal(v3[1:], &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["maxPayload"]; ok || len(m) != 4 || m["sid"] != h.SID {
		t.Errorf("decoded %v", m)
	}
}

func TestAppendOpenV3Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendOpenV3(buf[:0], h) }); n != 0 {
		t.Errorf("AppendOpenV3 with capacity: %v allocs, want 0", n)
	}
}

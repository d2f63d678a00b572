package protocol

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestAppendOpen(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    Handshake
		want string
	}{
		{
			"spec example",
			Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1000000},
			`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		},
		{
			"websocket handshake, nil upgrades is []",
			Handshake{SID: "abc", PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 1e6},
			`0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`,
		},
		{
			"empty upgrades is []",
			Handshake{SID: "abc", Upgrades: []string{}},
			`0{"sid":"abc","upgrades":[],"pingInterval":0,"pingTimeout":0,"maxPayload":0}`,
		},
		{
			"truncated to whole milliseconds",
			Handshake{SID: "s", Upgrades: []string{"websocket", "webtransport"}, PingInterval: 1500*time.Microsecond + 999*time.Nanosecond, PingTimeout: 999 * time.Microsecond, MaxPayload: 1 << 40},
			`0{"sid":"s","upgrades":["websocket","webtransport"],"pingInterval":1,"pingTimeout":0,"maxPayload":1099511627776}`,
		},
		{
			"sid is escaped",
			Handshake{SID: "a\"b\\c\n</script>\u2028\xff"},
			`0{"sid":"a\"b\\c\n\u003c/script\u003e\u2028\ufffd","upgrades":[],"pingInterval":0,"pingTimeout":0,"maxPayload":0}`,
		},
	} {
		if got := string(AppendOpen(nil, tt.h)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// Checklist item 1: exactly these keys, in this order, and valid JSON that a
// client decodes back to the same values.
func TestAppendOpenIsExactJSON(t *testing.T) {
	h := Handshake{SID: "we\"ird\x00sid", Upgrades: []string{"websocket"}, PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, MaxPayload: 100}
	out := AppendOpen(nil, h)
	if out[0] != '0' {
		t.Fatalf("open packet starts with %q", out[0])
	}
	dec := json.NewDecoder(bytes.NewReader(out[1:]))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(keys, ","), "sid,upgrades,pingInterval,pingTimeout,maxPayload"; got != want {
		t.Errorf("keys = %s, want %s", got, want)
	}
	var v struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	if err := json.Unmarshal(out[1:], &v); err != nil {
		t.Fatal(err)
	}
	if v.SID != h.SID || len(v.Upgrades) != 1 || v.Upgrades[0] != "websocket" || v.PingInterval != 300 || v.PingTimeout != 200 || v.MaxPayload != 100 {
		t.Errorf("decoded %+v", v)
	}
}

func TestAppendOpenAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	h := Handshake{SID: "lv_VI97HAXpY6yYWAAAC", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1e6}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendOpen(buf[:0], h) }); n != 0 {
		t.Errorf("AppendOpen with capacity: %v allocs, want 0", n)
	}
}

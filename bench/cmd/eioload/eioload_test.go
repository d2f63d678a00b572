package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestPollingPayload(t *testing.T) {
	var got []string
	err := forEachPacket([]byte("4hello\x1ebAQIDBA==\x1e2\x1e6"), func(pkt []byte) error {
		got = append(got, string(pkt))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "4hello|bAQIDBA==|2|6"; strings.Join(got, "|") != want {
		t.Fatalf("packets %q, want %s", got, want)
	}
	if err := forEachPacket([]byte("4a\x1e\x1e4b"), func([]byte) error { return nil }); err == nil {
		t.Fatal("empty packet accepted")
	}

	if got := appendPollingMessage(nil, []byte{1, 2, 3, 4}, true); string(got) != "bAQIDBA==" {
		t.Fatalf("binary message %q", got)
	}
	if got := appendPollingMessage([]byte("x"), []byte("hi"), false); string(got) != "x4hi" {
		t.Fatalf("text message %q", got)
	}
	data, err := decodePollingBinary(nil, []byte("AQIDBA=="))
	if err != nil || string(data) != "\x01\x02\x03\x04" {
		t.Fatalf("decoded %q, %v", data, err)
	}
	if _, err := decodePollingBinary(nil, []byte("!!")); classify(err) != errProtocol {
		t.Fatalf("bad base64: %v", err)
	}
}

func TestParseOpen(t *testing.T) {
	open, err := parseOpen([]byte(`0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	if err != nil || open.SID != "abc" || open.PingTimeout != 20000 || open.MaxPayload != 1000000 {
		t.Fatalf("%+v, %v", open, err)
	}
	for _, bad := range []string{"", "4hello", `0{"sid":""}`, "0{"} {
		if _, err := parseOpen([]byte(bad)); classify(err) != errProtocol {
			t.Errorf("parseOpen(%q): %v", bad, err)
		}
	}
}

func TestHistogram(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.quantile(c.q)
		if diff := got - c.want; diff < -c.want/200 || diff > c.want/200 {
			t.Errorf("quantile(%v) = %v, want %v ± 0.5%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		if got := histValue(histBucket(v)); float64(got) < float64(v)*0.995 || float64(got) > float64(v)*1.005+1 {
			t.Fatalf("bucket of %d stands for %d", v, got)
		}
	}
}

func TestPayloadsDiffer(t *testing.T) {
	for _, binary := range []bool{false, true} {
		a, b := newPayloadGen(1, 64, binary), newPayloadGen(2, 64, binary)
		m1 := string(a.next(1))
		if m1 == string(a.next(2)) || m1 == string(b.next(1)) {
			t.Errorf("binary=%v: payloads repeat across messages or clients", binary)
		}
		if !binary && strings.ContainsRune(m1, recordSeparator) {
			t.Errorf("text payload holds the record separator")
		}
	}
}

func TestProc(t *testing.T) {
	hz, _ := clockTicks()
	if hz == 0 {
		t.Fatal("CLK_TCK 0")
	}
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if s.rssKB == 0 {
		t.Errorf("RSS 0: %+v", s)
	}
	if _, err := machineBusyTicks(); err != nil {
		t.Error(err)
	}
}

package supervisor_test

import (
	"encoding/base64"
	"testing"

	"github.com/eioactor/engineio/actors"
	"github.com/eioactor/engineio/supervisor"
)

func TestNewSIDIsRandomAndLongEnough(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		sid, err := supervisor.NewSID()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(sid)
		if err != nil {
			t.Fatalf("sid %q is not base64url: %v", sid, err)
		}
		if len(raw)*8 < 120 {
			t.Fatalf("sid %q carries %d bits, want at least 120", sid, len(raw)*8)
		}
		if seen[sid] {
			t.Fatalf("sid %q repeated", sid)
		}
		seen[sid] = true
	}
}

func TestRegistryStartsEmpty(t *testing.T) {
	var reg supervisor.Registry
	if reg.Len() != 0 {
		t.Fatalf("Len = %d", reg.Len())
	}
	if _, ok := reg.Lookup("nope"); ok {
		t.Fatal("Lookup found a session in an empty registry")
	}
	n := 0
	reg.Range(func(*actors.Info) bool { n++; return true })
	if n != 0 {
		t.Fatalf("Range visited %d sessions", n)
	}
}

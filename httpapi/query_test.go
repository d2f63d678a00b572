package httpapi

import (
	"net/url"
	"testing"
)

// The scanner agrees with url.ParseQuery on the keys the protocol reads.
func TestParseEngineQueryMatchesNetURL(t *testing.T) {
	for _, raw := range []string{
		"",
		"EIO=4&transport=polling",
		"EIO=4&transport=polling&t=Nx1&sid=abc-_DEF",
		"EIO=3&transport=polling&j=0&b64=1",
		"EIO=3&transport=polling&j=",
		"sid=a%2Fb&sid=second&EIO=4",
		"transport=web%73ocket&EIO=%34",
		"EIO=4;x=1&transport=polling",
		"EIO=%zz&EIO=4&transport=polling",
		"b64=&j&&EIO=4",
		"%45IO=4&transport=pol+ling",
		"EIO",
	} {
		want, _ := url.ParseQuery(raw)
		got := parseEngineQuery(raw)
		for key, value := range map[string]string{"EIO": got.eio, "transport": got.transport, "sid": got.sid, "j": got.j, "b64": got.b64} {
			if want.Get(key) != value {
				t.Errorf("%q: %s = %q, url.ParseQuery gives %q", raw, key, value, want.Get(key))
			}
		}
		if want.Has("j") != got.hasJ {
			t.Errorf("%q: hasJ = %v, url.ParseQuery gives %v", raw, got.hasJ, want.Has("j"))
		}
	}
}

func TestParseEngineQueryAllocatesNothing(t *testing.T) {
	raw := "EIO=4&transport=polling&t=Nx1&sid=abcdefghijklmnopqrst"
	if n := testing.AllocsPerRun(100, func() { _ = parseEngineQuery(raw) }); n != 0 {
		t.Errorf("%v allocations per parse, want 0", n)
	}
}

func FuzzParseEngineQuery(f *testing.F) {
	f.Add("EIO=4&transport=polling&sid=x")
	f.Add("j=1&b64=1&EIO=3")
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		got := parseEngineQuery(raw)
		if want.Get("sid") != got.sid || want.Get("EIO") != got.eio || want.Get("transport") != got.transport || want.Has("j") != got.hasJ {
			t.Errorf("%q: got %+v, url.ParseQuery gives %v", raw, got, want)
		}
	})
}

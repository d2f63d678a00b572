package httpapi

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// originRequest builds a request with the given Host and Origin values set
// directly, bypassing the wire, so that values net/http would refuse to
// parse still reach the policy.
func originRequest(method, host string, origins []string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest(method, "http://"+"placeholder/engine.io/?EIO=4&transport=polling", nil)
	r.Host = host
	if origins != nil {
		r.Header["Origin"] = origins
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestOriginPolicyCheck(t *testing.T) {
	list := &OriginPolicy{Origins: []string{"https://app.example.com", "HTTP://Legacy.Example.com:80/", " http://localhost:3000 "}}
	suffix := func(origin string, r *http.Request) bool { return strings.HasSuffix(origin, ".trusted.test") }
	tests := []struct {
		name    string
		policy  *OriginPolicy
		host    string
		tls     bool
		origins []string
		hdr     map[string]string
		class   originClass
	}{
		// Not a CORS request.
		{name: "no origin", policy: &OriginPolicy{}, host: "example.com", origins: nil, class: originAbsent},
		{name: "empty origin", policy: &OriginPolicy{}, host: "example.com", origins: []string{""}, class: originAbsent},
		{name: "nil policy, no origin", policy: nil, host: "example.com", class: originAbsent},

		// Same origin, under the default (zero) policy.
		{name: "same origin with port", policy: &OriginPolicy{}, host: "example.com:8080", origins: []string{"http://example.com:8080"}, class: originSame},
		{name: "same origin, case differs", policy: &OriginPolicy{}, host: "Example.com:8080", origins: []string{"HTTP://EXAMPLE.COM:8080"}, class: originSame},
		{name: "same origin, explicit default port in Host", policy: &OriginPolicy{}, host: "example.com:80", origins: []string{"http://example.com"}, class: originSame},
		{name: "same origin, explicit default port in Origin", policy: &OriginPolicy{}, host: "example.com", origins: []string{"http://example.com:80"}, class: originSame},
		{name: "same origin over TLS", policy: &OriginPolicy{}, host: "example.com", tls: true, origins: []string{"https://example.com"}, class: originSame},
		{name: "same origin IPv6", policy: &OriginPolicy{}, host: "[::1]:3000", origins: []string{"http://[::1]:3000"}, class: originSame},
		{name: "nil policy, same origin", policy: nil, host: "example.com", origins: []string{"http://example.com"}, class: originSame},
		{name: "port differs", policy: &OriginPolicy{}, host: "example.com:8080", origins: []string{"http://example.com:8081"}, class: originDenied},
		{name: "scheme differs (TLS, http origin)", policy: &OriginPolicy{}, host: "example.com", tls: true, origins: []string{"http://example.com"}, class: originDenied},
		{name: "scheme differs (plain, https origin)", policy: &OriginPolicy{}, host: "example.com", origins: []string{"https://example.com"}, class: originDenied},
		{name: "https behind a proxy", policy: &OriginPolicy{}, host: "example.com", origins: []string{"https://example.com"}, hdr: map[string]string{"X-Forwarded-Proto": "https"}, class: originSame},
		{name: "proxy chain, first proto counts", policy: &OriginPolicy{}, host: "example.com", origins: []string{"https://example.com"}, hdr: map[string]string{"X-Forwarded-Proto": "https, http"}, class: originSame},
		{name: "forwarded host", policy: &OriginPolicy{}, host: "backend:8080", origins: []string{"https://www.example.com"}, hdr: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.com"}, class: originSame},
		{name: "forwarded host, direct scheme", policy: &OriginPolicy{}, host: "backend:8080", origins: []string{"http://www.example.com"}, hdr: map[string]string{"X-Forwarded-Host": "www.example.com"}, class: originSame},
		{name: "bad forwarded proto ignored", policy: &OriginPolicy{}, host: "example.com", origins: []string{"https://example.com"}, hdr: map[string]string{"X-Forwarded-Proto": "ht tps"}, class: originDenied},
		{name: "cross origin, default policy", policy: &OriginPolicy{}, host: "example.com", origins: []string{"https://evil.test"}, class: originDenied},
		{name: "cross origin, nil policy", policy: nil, host: "example.com", origins: []string{"https://evil.test"}, class: originDenied},
		{name: "no Host", policy: &OriginPolicy{}, host: "", origins: []string{"http://example.com"}, class: originDenied},

		// The allow list.
		{name: "listed", policy: list, host: "api.example.com", origins: []string{"https://app.example.com"}, class: originAllowed},
		{name: "listed, case and default port", policy: list, host: "api.example.com", origins: []string{"https://APP.example.com:443"}, class: originAllowed},
		{name: "listed entry with default port and slash", policy: list, host: "api.example.com", origins: []string{"http://legacy.example.com"}, class: originAllowed},
		{name: "listed entry with blanks", policy: list, host: "api.example.com", origins: []string{"http://localhost:3000"}, class: originAllowed},
		{name: "listed host, other port", policy: list, host: "api.example.com", origins: []string{"https://app.example.com:8443"}, class: originDenied},
		{name: "listed host, other scheme", policy: list, host: "api.example.com", origins: []string{"http://app.example.com"}, class: originDenied},
		{name: "subdomain of listed", policy: list, host: "api.example.com", origins: []string{"https://evil.app.example.com"}, class: originDenied},
		{name: "listed as prefix", policy: list, host: "api.example.com", origins: []string{"https://app.example.com.evil.test"}, class: originDenied},
		{name: "list still allows same origin", policy: list, host: "api.example.com", tls: true, origins: []string{"https://api.example.com"}, class: originSame},
		{name: "list entry *", policy: &OriginPolicy{Origins: []string{"*"}}, host: "example.com", origins: []string{"https://any.test"}, class: originAllowed},

		// AllowAll and Func.
		{name: "allow all", policy: &OriginPolicy{AllowAll: true}, host: "example.com", origins: []string{"https://any.test"}, class: originAllowed},
		{name: "func allows", policy: &OriginPolicy{Func: suffix}, host: "example.com", origins: []string{"https://a.trusted.test"}, class: originAllowed},
		{name: "func denies", policy: &OriginPolicy{Func: suffix}, host: "example.com", origins: []string{"https://a.untrusted.example"}, class: originDenied},
		{name: "func beats allow all", policy: &OriginPolicy{Func: suffix, AllowAll: true}, host: "example.com", origins: []string{"https://x.test"}, class: originDenied},
		{name: "func beats list", policy: &OriginPolicy{Func: suffix, Origins: []string{"https://x.test"}}, host: "example.com", origins: []string{"https://x.test"}, class: originDenied},

		// The opaque origin.
		{name: "null, default policy", policy: &OriginPolicy{}, host: "example.com", origins: []string{"null"}, class: originDenied},
		{name: "null, list without it", policy: list, host: "example.com", origins: []string{"null"}, class: originDenied},
		{name: "null, listed", policy: &OriginPolicy{Origins: []string{"null"}}, host: "example.com", origins: []string{"null"}, class: originAllowed},
		{name: "null, allow all", policy: &OriginPolicy{AllowAll: true}, host: "example.com", origins: []string{"null"}, class: originAllowed},
		{name: "null entry does not match others", policy: &OriginPolicy{Origins: []string{"null"}}, host: "example.com", origins: []string{"https://x.test"}, class: originDenied},

		// Embedded browsers.
		{name: "custom scheme", policy: &OriginPolicy{Origins: []string{"capacitor://localhost"}}, host: "example.com", origins: []string{"capacitor://localhost"}, class: originAllowed},
		{name: "file scheme, empty host", policy: &OriginPolicy{Origins: []string{"file://"}}, host: "example.com", origins: []string{"file://"}, class: originAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := originRequest(http.MethodGet, tt.host, tt.origins, tt.hdr)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			_, class := tt.policy.classify(r)
			if class != tt.class {
				t.Fatalf("class = %d, want %d", class, tt.class)
			}
			ok, malformed := tt.policy.Check(r)
			wantOK := tt.class == originAbsent || tt.class == originSame || tt.class == originAllowed
			if ok != wantOK || malformed {
				t.Fatalf("Check = (%v, %v), want (%v, false)", ok, malformed, wantOK)
			}
		})
	}
}

func TestOriginPolicyMalformed(t *testing.T) {
	bad := []string{
		"\x00",
		"http://a\x00b",
		"http://example.com\x7f",
		"http://exa\tmple.com",
		"http://a b",
		" http://example.com",
		"http://example.com ",
		"http://exämple.com",    // non-ASCII (UTF-8)
		"http://ex\xe4mple.com", // non-ASCII (Latin-1 byte)
		"http://x\r\nSet-Cookie: a=b",
		"http://x\nSet-Cookie: a=b",
		"http://x\rSet-Cookie: a=b",
		"http://x,http://y",
		`"http://x"`,
		"https://example.com/",
		"https://example.com/path",
		"https://example.com?q",
		"https://example.com#f",
		"http://user@example.com",
		"http://user:pw@example.com",
		"example.com",
		"://example.com",
		"1http://example.com",
		"ht tp://example.com",
		"http:/example.com",
		"http://example.com:",
		"http://example.com:8o",
		"http://example.com:99999",
		"http://example.com:123456",
		"http://example.com:80:80",
		"http://:80",
		"http://[::1",
		"http://[]",
		"http://[zz::1]",
		"http://[::1]x",
		"http://%65xample.com",
		"NULL",
		"null ",
		"*",
	}
	policies := map[string]*OriginPolicy{
		"zero":      {},
		"allow all": {AllowAll: true, Credentials: true},
		"func":      {Func: func(string, *http.Request) bool { t.Error("Func called for a malformed origin"); return true }},
	}
	for pname, p := range policies {
		for _, origin := range bad {
			r := originRequest(http.MethodGet, "example.com", []string{origin}, nil)
			ok, malformed := p.Check(r)
			if ok || !malformed {
				t.Errorf("%s: Check(%q) = (%v, %v), want (false, true)", pname, origin, ok, malformed)
			}
			h := http.Header{}
			p.SetHeaders(h, r)
			if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s: SetHeaders(%q) set %v", pname, origin, h)
			}
		}
	}

	t.Run("two Origin headers", func(t *testing.T) {
		r := originRequest(http.MethodGet, "example.com", []string{"http://example.com", "http://example.com"}, nil)
		if ok, malformed := (&OriginPolicy{AllowAll: true}).Check(r); ok || !malformed {
			t.Fatalf("Check = (%v, %v), want (false, true)", ok, malformed)
		}
	})
}

func TestOriginPolicySetHeaders(t *testing.T) {
	const origin = "https://App.example.com"
	suffix := func(o string, _ *http.Request) bool { return strings.HasSuffix(o, ".example.com") }
	tests := []struct {
		name      string
		policy    *OriginPolicy
		origins   []string
		wantACAO  string
		wantCreds string
		wantVary  bool
	}{
		{name: "zero policy, cross origin", policy: &OriginPolicy{}, origins: []string{origin}},
		{name: "zero policy, same origin", policy: &OriginPolicy{}, origins: []string{"http://api.example.com"}},
		{name: "nil policy", policy: nil, origins: []string{origin}},
		{name: "allow all", policy: &OriginPolicy{AllowAll: true}, origins: []string{origin}, wantACAO: "*", wantVary: true},
		{name: "allow all, null", policy: &OriginPolicy{AllowAll: true}, origins: []string{"null"}, wantACAO: "*", wantVary: true},
		{name: "allow all with credentials", policy: &OriginPolicy{AllowAll: true, Credentials: true}, origins: []string{origin}, wantACAO: origin, wantCreds: "true", wantVary: true},
		{name: "list * with credentials", policy: &OriginPolicy{Origins: []string{"*"}, Credentials: true}, origins: []string{origin}, wantACAO: origin, wantCreds: "true", wantVary: true},
		{name: "list * without credentials", policy: &OriginPolicy{Origins: []string{"*"}}, origins: []string{origin}, wantACAO: "*", wantVary: true},
		{name: "list echoes as sent", policy: &OriginPolicy{Origins: []string{"https://app.example.com"}}, origins: []string{origin}, wantACAO: origin, wantVary: true},
		{name: "list with credentials", policy: &OriginPolicy{Origins: []string{"https://app.example.com"}, Credentials: true}, origins: []string{origin}, wantACAO: origin, wantCreds: "true", wantVary: true},
		{name: "list, null listed", policy: &OriginPolicy{Origins: []string{"null"}, Credentials: true}, origins: []string{"null"}, wantACAO: "null", wantCreds: "true", wantVary: true},
		{name: "list, denied", policy: &OriginPolicy{Origins: []string{"https://app.example.com"}, Credentials: true}, origins: []string{"https://evil.test"}, wantVary: true},
		{name: "list, no origin", policy: &OriginPolicy{Origins: []string{"https://app.example.com"}}, origins: nil, wantVary: true},
		{name: "list, same origin", policy: &OriginPolicy{Origins: []string{"https://app.example.com"}}, origins: []string{"http://api.example.com"}, wantVary: true},
		{name: "func echoes even with allow all", policy: &OriginPolicy{Func: suffix, AllowAll: true}, origins: []string{origin}, wantACAO: origin, wantVary: true},
		{name: "func, denied", policy: &OriginPolicy{Func: suffix}, origins: []string{"https://evil.test"}, wantVary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := originRequest(http.MethodGet, "api.example.com", tt.origins, nil)
			h := http.Header{}
			tt.policy.SetHeaders(h, r)
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Errorf("Access-Control-Allow-Credentials = %q, want %q", got, tt.wantCreds)
			}
			if got := h.Values("Vary"); tt.wantVary != (len(got) == 1 && got[0] == "Origin") || !tt.wantVary && len(got) != 0 {
				t.Errorf("Vary = %q, want Origin: %v", got, tt.wantVary)
			}
			// Only CORS headers are ever written.
			for k := range h {
				if k != "Vary" && !strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("unexpected header %s", k)
				}
			}
		})
	}
}

func TestVaryMerging(t *testing.T) {
	p := &OriginPolicy{AllowAll: true}
	r := originRequest(http.MethodGet, "example.com", []string{"https://x.test"}, nil)
	h := http.Header{}
	h.Set("Vary", "Accept-Encoding")
	p.SetHeaders(h, r)
	p.SetHeaders(h, r) // twice, as a handler might on an error path
	if got := h.Values("Vary"); len(got) != 2 || got[0] != "Accept-Encoding" || got[1] != "Origin" {
		t.Fatalf("Vary = %q, want [Accept-Encoding Origin]", got)
	}
	h = http.Header{"Vary": {"accept-encoding, origin"}}
	p.SetHeaders(h, r)
	if got := h.Values("Vary"); len(got) != 1 {
		t.Fatalf("Vary = %q, want the existing value only", got)
	}
	h = http.Header{"Vary": {"*"}}
	p.SetHeaders(h, r)
	if got := h.Values("Vary"); len(got) != 1 {
		t.Fatalf("Vary = %q, want * only", got)
	}
}

func TestOriginPolicyPreflight(t *testing.T) {
	const origin = "https://app.example.com"
	allow := &OriginPolicy{Origins: []string{origin}, Credentials: true, MaxAge: 10 * time.Minute}
	tests := []struct {
		name        string
		policy      *OriginPolicy
		origins     []string
		reqHeaders  []string
		wantStatus  int
		wantHeaders map[string]string // "" = must be absent
		wantBody    string
	}{
		{
			name: "allowed", policy: allow, origins: []string{origin}, reqHeaders: []string{"content-type, X-Custom-Header"},
			wantStatus: http.StatusNoContent,
			wantHeaders: map[string]string{
				"Access-Control-Allow-Origin":      origin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "GET, POST, OPTIONS",
				"Access-Control-Allow-Headers":     "content-type, X-Custom-Header",
				"Access-Control-Max-Age":           "600",
			},
		},
		{
			name: "header list normalised", policy: allow, origins: []string{origin}, reqHeaders: []string{"x-a,,\t x-b ", "x-c"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Headers": "x-a, x-b, x-c"},
		},
		{
			name: "no request headers", policy: allow, origins: []string{origin},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Headers": "", "Access-Control-Allow-Methods": "GET, POST, OPTIONS"},
		},
		{
			name: "invalid request headers not echoed", policy: allow, origins: []string{origin}, reqHeaders: []string{"x-ok, x\r\nSet-Cookie: a=b"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Headers": "", "Access-Control-Allow-Origin": origin},
		},
		{
			name: "space inside a name not echoed", policy: allow, origins: []string{origin}, reqHeaders: []string{"x a"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Headers": ""},
		},
		{
			name: "non-ASCII name not echoed", policy: allow, origins: []string{origin}, reqHeaders: []string{"x-é"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Headers": ""},
		},
		{
			name: "max age rounded up", policy: &OriginPolicy{AllowAll: true, MaxAge: 1500 * time.Millisecond}, origins: []string{origin},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Max-Age": "2", "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""},
		},
		{
			name: "no max age", policy: &OriginPolicy{AllowAll: true}, origins: []string{origin},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Max-Age": ""},
		},
		{
			name: "denied", policy: allow, origins: []string{"https://evil.test"}, reqHeaders: []string{"x-a"},
			wantStatus: http.StatusBadRequest, wantBody: `{"code":3,"message":"Bad request"}`,
			wantHeaders: map[string]string{
				"Content-Type":                     "application/json",
				"Access-Control-Allow-Origin":      "",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Allow-Methods":     "",
				"Access-Control-Allow-Headers":     "",
				"Vary":                             "Origin",
			},
		},
		{
			name: "denied by default policy", policy: nil, origins: []string{"https://evil.test"},
			wantStatus: http.StatusBadRequest, wantBody: `{"code":3,"message":"Bad request"}`,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Vary": ""},
		},
		{
			name: "malformed", policy: &OriginPolicy{AllowAll: true}, origins: []string{"http://x\r\nSet-Cookie: a=b"},
			wantStatus: http.StatusBadRequest, wantBody: `{"code":3,"message":"Bad request"}`,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Set-Cookie": ""},
		},
		{
			name: "no origin", policy: allow, origins: nil, reqHeaders: []string{"x-a"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": "Origin"},
		},
		{
			name: "same origin", policy: allow, origins: []string{"http://api.example.com"},
			wantStatus:  http.StatusNoContent,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := originRequest(http.MethodOptions, "api.example.com", tt.origins, nil)
			if tt.reqHeaders != nil {
				r.Header["Access-Control-Request-Headers"] = tt.reqHeaders
			}
			r.Header.Set("Access-Control-Request-Method", "POST")
			w := httptest.NewRecorder()
			tt.policy.Preflight(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			for k, want := range tt.wantHeaders {
				if got := w.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if got := w.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
		})
	}
}

// TestPreflightOverTheWire checks the headers survive a real server and
// client, and that Vary lists what the answer depends on.
func TestPreflightOverTheWire(t *testing.T) {
	p := &OriginPolicy{Origins: []string{"https://app.example.com"}, Credentials: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			p.Preflight(w, r)
			return
		}
		if ok, _ := p.Check(r); !ok {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		p.SetHeaders(w.Header(), r)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/engine.io/", nil)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "Content-Type")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if got := resp.Header.Values("Vary"); strings.Join(got, ",") != "Origin,Access-Control-Request-Headers" {
		t.Errorf("Vary = %q", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Headers"); got != "Content-Type" {
		t.Errorf("Access-Control-Allow-Headers = %q", got)
	}

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/engine.io/", nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("GET: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestOriginPolicyValidate(t *testing.T) {
	if err := (*OriginPolicy)(nil).Validate(); err != nil {
		t.Fatal(err)
	}
	good := &OriginPolicy{Origins: []string{"*", "null", "https://a.example", "http://localhost:3000/", "HTTPS://B.example:443", "http://[::1]:8080", "app://x"}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	bad := &OriginPolicy{Origins: []string{"a.example", "https://a.example/path", "https://a.example", "http://a b"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, e := range []string{`"a.example"`, `"https://a.example/path"`, `"http://a b"`} {
		if !strings.Contains(err.Error(), e) {
			t.Errorf("error %q does not name %s", err, e)
		}
	}
	if strings.Contains(err.Error(), `"https://a.example"`) {
		t.Errorf("error %q names a good entry", err)
	}
}

// FuzzOriginPolicy checks that no input panics and that whatever is echoed
// is a single visible-ASCII header token without separators.
func FuzzOriginPolicy(f *testing.F) {
	for _, s := range []string{"", "null", "http://a", "https://a.example:443", "http://[::1]:1", "http://x\r\nSet-Cookie: a=b", "http://a b", "http://é", "a://", "http://a:65535", "http://a:65536"} {
		f.Add(s, "example.com", "x-a, x-b")
	}
	p := &OriginPolicy{AllowAll: true, Credentials: true}
	f.Fuzz(func(t *testing.T, origin, host, reqHeaders string) {
		r := originRequest(http.MethodOptions, host, []string{origin}, nil)
		r.Header["Access-Control-Request-Headers"] = []string{reqHeaders}
		ok, malformed := p.Check(r)
		if ok && malformed {
			t.Fatal("ok and malformed")
		}
		w := httptest.NewRecorder()
		p.Preflight(w, r)
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers"} {
			v := w.Header().Get(k)
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < 0x20 || c > 0x7e || k == "Access-Control-Allow-Origin" && strings.IndexByte(" ,\"\t", c) >= 0 {
					t.Fatalf("%s = %q", k, v)
				}
			}
		}
		if aco := w.Header().Get("Access-Control-Allow-Origin"); aco != "" && aco != origin {
			t.Fatalf("echoed %q for %q", aco, origin)
		}
	})
}

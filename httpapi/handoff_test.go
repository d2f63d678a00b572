package httpapi

import "testing"

// requestPath reads the path of a request line as net/http's URL.Path has
// it, without parsing a URL in the usual case.
func TestRequestPath(t *testing.T) {
	for _, tc := range []struct {
		line, path string
		ok         bool
	}{
		{"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r", "/engine.io/", true},
		{"POST /engine.io HTTP/1.1", "/engine.io", true},
		{"GET /index.html HTTP/1.1\r", "/index.html", true},
		{"GET /engine%2Eio/?EIO=4 HTTP/1.1", "/engine.io/", true},
		{"GET http://example.com/engine.io/?EIO=4 HTTP/1.1", "/engine.io/", true},
		{"OPTIONS * HTTP/1.1", "*", true},
		{"GET /engine.io/", "", false},
		{"GET", "", false},
		{"GET %zz HTTP/1.1", "", false},
	} {
		path, ok := requestPath([]byte(tc.line))
		if path != tc.path || ok != tc.ok {
			t.Errorf("requestPath(%q) = %q, %v; want %q, %v", tc.line, path, ok, tc.path, tc.ok)
		}
	}
}

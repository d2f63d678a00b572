package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// maxSimpleHeaders is the most header lines readSimpleRequest reads; a
// request with more is read by http.ReadRequest.
const maxSimpleHeaders = 64

// readSimpleRequest reads the request at the head of br when its header is
// buffered whole and has the plain form that browsers, Node and Go clients
// send for a poll or a POST: a GET, POST or OPTIONS of an origin-form
// target over HTTP/1.0 or 1.1, header lines of token names and visible
// ASCII values, at most one Content-Length and Connection, and no
// Transfer-Encoding, Trailer, Pragma or continued line. For anything else
// it reports false having read nothing, and http.ReadRequest reads the
// request: this is a shortcut that gives the same Request, never a second
// opinion (FuzzReadSimpleRequest holds it to ReadRequest's result).
//
// It costs a few allocations (the header block as one string, the
// Request, its URL, the header map and its values) where ReadRequest makes
// one per header value besides, and it needs no read: a header that came
// in one segment is parsed without a read deadline.
func readSimpleRequest(br *bufio.Reader) (*http.Request, bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil, false
	}
	head := string(buf[:end+2]) // every line with its CRLF

	line, rest, _ := strings.Cut(head, "\r\n")
	method, line, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(line, " ")
	if !ok1 || !ok2 {
		return nil, false
	}
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodOptions:
	default:
		return nil, false
	}
	req := &http.Request{Method: method, RequestURI: target, Proto: proto, ProtoMajor: 1}
	switch proto {
	case "HTTP/1.1":
		req.ProtoMinor = 1
	case "HTTP/1.0":
	default:
		return nil, false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if !simplePath(path) || !simpleQuery(query) || hasQuery && query == "" {
		return nil, false // ForceQuery and escapes: url.ParseRequestURI's
	}
	req.URL = &url.URL{Path: path, RawQuery: query}

	lines := strings.Count(rest, "\r\n")
	if lines > maxSimpleHeaders {
		return nil, false
	}
	h := make(http.Header, lines)
	strs := make([]string, lines)
	for rest != "" {
		var kv string
		kv, rest, _ = strings.Cut(rest, "\r\n")
		k, v, ok := strings.Cut(kv, ":")
		if !ok || !simpleHeaderKey(k) {
			return nil, false // a continued line among them
		}
		v = trimSpace(v)
		if !simpleHeaderValue(v) {
			return nil, false
		}
		key := textproto.CanonicalMIMEHeaderKey(k)
		if vv := h[key]; vv != nil {
			h[key] = append(vv, v)
			continue
		}
		h[key], strs = strs[:1:1], strs[1:]
		h[key][0] = v
	}
	req.Header = h

	for _, name := range []string{"Transfer-Encoding", "Trailer", "Pragma"} {
		if _, ok := h[name]; ok {
			return nil, false
		}
	}
	if len(h["Host"]) > 1 || len(h["Connection"]) > 1 || len(h["Content-Length"]) > 1 {
		return nil, false
	}
	req.Host = h.Get("Host")
	delete(h, "Host") // as ReadRequest does
	switch conn := h.Get("Connection"); {
	case conn == "":
		req.Close = req.ProtoMinor == 0
	case strings.EqualFold(conn, "close"):
		req.Close = true
	case strings.EqualFold(conn, "keep-alive"):
	default:
		return nil, false
	}

	req.Body = http.NoBody
	if cl, ok := h["Content-Length"]; ok {
		n, ok := contentLength(cl[0])
		if !ok {
			return nil, false
		}
		req.ContentLength = n
		if n > 0 {
			req.Body = &contentBody{br: br, n: n}
		}
	}
	_, _ = br.Discard(end + 4)
	return req, true
}

var crlfcrlf = []byte("\r\n\r\n")

// simplePath reports whether p is an absolute path that url.URL keeps as
// it is: no escape, and no byte that URL.EscapedPath would escape.
func simplePath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !isPathByte(p[i]) {
			return false
		}
	}
	return true
}

func isPathByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("-_.~$&+,/:;=@", c) >= 0
}

// simpleQuery reports whether q has only visible ASCII and no '#'.
func simpleQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// simpleHeaderKey reports whether k is a non-empty token (RFC 9110).
func simpleHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// trimSpace trims the spaces and tabs around a header value.
func trimSpace(v string) string {
	for v != "" && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for v != "" && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

// simpleHeaderValue reports whether v has only visible ASCII, spaces and
// tabs.
func simpleHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// contentLength parses a Content-Length of decimal digits that fits an
// int64.
func contentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// contentBody is the body of a request with a Content-Length, read from
// the connection's request reader as net/http's would be: io.EOF with its
// last bytes, io.ErrUnexpectedEOF if the connection ends before them, and
// http.ErrBodyReadAfterClose after Close. Close does not read what is
// left: the connection's loop drains a body, within a bound, or closes.
type contentBody struct {
	br     *bufio.Reader
	n      int64 // bytes left
	closed bool
}

func (b *contentBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.br.Read(p)
	b.n -= int64(n)
	switch {
	case b.n == 0:
		err = io.EOF
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *contentBody) Close() error {
	b.closed = true
	return nil
}

package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
)

// maxSimpleHeaders is the most header lines readSimpleRequest reads; a
// request with more is read by http.ReadRequest.
const maxSimpleHeaders = 64

// readSimpleRequest reads the request at the head of br when its header is
// buffered whole and has the plain form that browsers, Node and Go clients
// send for a poll, a POST or a WebSocket upgrade: a GET, POST or OPTIONS
// of an origin-form target over HTTP/1.0 or 1.1, header lines of token
// names and visible ASCII values, at most one Content-Length and
// Connection, and no Transfer-Encoding, Trailer or continued line. For
// anything else it reports false having read nothing, and http.ReadRequest
// reads the request: this is a shortcut that gives the same Request, never
// a second opinion (FuzzReadSimpleRequest holds it to ReadRequest's
// result).
//
// The Request, its URL, header map, header values and body are those of
// s, which the caller may reuse for a later request once nothing refers to
// this one (requestScratch). It allocates the header block as one string,
// and the header map and values the first time s is used (or grown),
// where ReadRequest allocates every part of the request and a string per
// header value; and it needs no read: a header that came in one segment is
// parsed without a read deadline. Every string of the Request shares the
// header block's memory: what is kept after the request (a held poll's
// response header, a session's handshake header) is copied, not to keep
// the whole block alive with it.
func readSimpleRequest(br *bufio.Reader, s *requestScratch) (*http.Request, bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, crlfcrlf)
	if end < 0 {
		return nil, false
	}
	head := string(buf[:end+2]) // every line with its CRLF

	line, rest, ok := cutLine(head)
	if !ok {
		return nil, false
	}
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
	switch proto {
	case "HTTP/1.1", "HTTP/1.0":
	default:
		return nil, false
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if !simplePath(path) || !simpleQuery(query) || hasQuery && query == "" {
		return nil, false // ForceQuery and escapes: url.ParseRequestURI's
	}
	lines := strings.Count(rest, "\n")
	if lines > maxSimpleHeaders {
		return nil, false
	}
	// From here on the request is built in s: a caller that declines or
	// reuses it resets it first (requestScratch.reset).
	req := &s.req
	*req = http.Request{Method: method, RequestURI: target, Proto: proto, ProtoMajor: 1}
	if proto == "HTTP/1.1" {
		req.ProtoMinor = 1
	}
	s.url = url.URL{Path: path, RawQuery: query}
	req.URL = &s.url

	h := s.header
	if h == nil {
		h = make(http.Header, lines)
		s.header = h
	}
	if cap(s.values) < lines {
		s.values = make([]string, lines)
	}
	strs := s.values[:lines]
	var hosts, conns, lengths int
	var conn, length string
	for rest != "" {
		var kv string
		if kv, rest, ok = cutLine(rest); !ok {
			return nil, false
		}
		i := strings.IndexByte(kv, ':')
		if i < 0 {
			return nil, false // a continued line among them
		}
		key, valid := headerName(kv[:i])
		v := trimSpace(kv[i+1:])
		if !valid || !simpleHeaderValue(v) {
			return nil, false
		}
		switch key {
		case "Transfer-Encoding", "Trailer":
			return nil, false
		case "Host":
			// Not in the header, as ReadRequest leaves it.
			hosts++
			req.Host = v
			continue
		case "Connection":
			conns++
			conn = v
		case "Content-Length":
			lengths++
			length = v
		}
		if vv := h[key]; vv != nil {
			h[key] = append(vv, v)
			continue
		}
		vv := strs[:1:1]
		strs = strs[1:]
		vv[0] = v
		h[key] = vv
	}
	// As ReadRequest (net/http's fixPragmaCacheControl).
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" && h["Cache-Control"] == nil {
		h["Cache-Control"] = []string{"no-cache"}
	}
	req.Header = h
	if hosts > 1 || conns > 1 || lengths > 1 {
		return nil, false
	}
	// As ReadRequest: an HTTP/1.1 connection closes after the request if
	// its Connection lists close; an HTTP/1.0 one unless it lists
	// keep-alive. (A WebSocket upgrade lists Upgrade.)
	hasClose, hasKeepAlive := connectionTokens(conn)
	req.Close = hasClose || req.ProtoMinor == 0 && !hasKeepAlive

	req.Body = http.NoBody
	if lengths > 0 {
		n, ok := contentLength(length)
		if !ok {
			return nil, false
		}
		req.ContentLength = n
		if n > 0 {
			s.body = contentBody{body: io.LimitedReader{R: br, N: n}}
			req.Body = &s.body
		}
	}
	_, _ = br.Discard(end + 4)
	return req, true
}

// connectionTokens reports whether the Connection header value v lists
// the tokens close and keep-alive (ASCII case aside), in a comma-separated
// list whose elements may have spaces and tabs around them.
func connectionTokens(v string) (hasClose, hasKeepAlive bool) {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		t = trimSpace(t)
		hasClose = hasClose || strings.EqualFold(t, "close")
		hasKeepAlive = hasKeepAlive || strings.EqualFold(t, "keep-alive")
	}
	return hasClose, hasKeepAlive
}

// cutLine cuts s around its first CRLF; ok is false if a lone LF comes
// first.
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 1 || s[i-1] != '\r' {
		return "", "", false
	}
	return s[:i-1], s[i+1:], true
}

var crlfcrlf = []byte("\r\n\r\n")

// simplePath reports whether p is an absolute path that url.URL keeps as
// it is: no escape, and no byte that URL.EscapedPath would escape.
func simplePath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !pathBytes[p[i]] {
			return false
		}
	}
	return true
}

// pathBytes and tokenBytes are the bytes a simple path and a header
// name (a token, RFC 9110) may have.
var pathBytes, tokenBytes = byteSet("-_.~$&+,/:;=@"), byteSet("!#$%&'*+-.^_`|~")

// byteSet is the set of the ASCII letters and digits and of the bytes of
// extra.
func byteSet(extra string) (set [256]bool) {
	for c := 0; c < 256; c++ {
		set[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte(extra, byte(c)) >= 0
	}
	return set
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

// headerName returns k in canonical form (textproto.CanonicalMIMEHeaderKey),
// or false if it is not a token (RFC 9110), as a header name must be.
func headerName(k string) (string, bool) {
	if k == "" {
		return "", false
	}
	upper, canonical := true, true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !tokenBytes[c] {
			return "", false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	if canonical {
		return k, true
	}
	return textproto.CanonicalMIMEHeaderKey(k), true
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

// requestScratch holds what readSimpleRequest builds a request in. A kept
// connection takes one from requestScratches for each request and puts it
// back, reset, when nothing can refer to the request any more: the engine
// served it and keeps nothing of it (requestDone: a poll, a POST, an
// answered handshake, an upgrade), and no callback of the application saw
// it (Config.RequestContext). Otherwise it goes with its request. The
// header map and the values keep their room from one request to the
// next, and none of it is the header block's, which every request
// allocates anew: a string taken from a request stays valid.
type requestScratch struct {
	req    http.Request
	url    url.URL
	header http.Header
	values []string // the header's values, one per line at most
	body   contentBody
	resp   keptResponse // the response, whose header map and body keep their room too
}

var requestScratches = sync.Pool{New: func() any { return new(requestScratch) }}

// reset forgets the request and its response, keeping the room of their
// header maps, of the request's values and of a response body up to
// maxKeptBody.
func (s *requestScratch) reset() {
	s.req = http.Request{}
	s.url = url.URL{}
	clear(s.header)
	clear(s.values)
	s.body = contentBody{}
	s.resp.bufferedResponse.reset()
	s.resp = keptResponse{bufferedResponse: s.resp.bufferedResponse}
}

// maxKeptBody is the most room for a body that a reused response (a
// requestScratch's, a held poll's answer) keeps.
const maxKeptBody = 4 << 10

// response returns the response of the request built in s, on kc.
func (s *requestScratch) response(kc *keptConn) *keptResponse {
	w := &s.resp
	w.kc = kc
	w.head = s.req.Method == http.MethodHead
	if w.header == nil {
		w.header = http.Header{}
	}
	return w
}

// contentBody is the body of a request with a Content-Length, read from
// the connection's request reader as net/http's would be: io.EOF with its
// last bytes, io.ErrUnexpectedEOF if the connection ends before them, and
// http.ErrBodyReadAfterClose after Close. Close does not read what is
// left: the connection's loop drains a body, within a bound, or closes.
type contentBody struct {
	body   io.LimitedReader // the request reader, up to the body's end
	closed bool
}

func (b *contentBody) Read(p []byte) (int, error) {
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	n, err := b.body.Read(p)
	switch {
	case b.body.N == 0:
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

package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eioactor/engineio/protocol"
)

// OriginPolicy decides which cross-origin requests are allowed, for the
// polling transport (CORS headers) and for the WebSocket handshake (which
// browsers do not guard with CORS, so the server must refuse it itself).
// The zero value, and a nil *OriginPolicy, allow same-origin requests only.
//
// Origins are compared as RFC 6454 origins: scheme and host
// case-insensitively, and an explicit default port (80 for http and ws,
// 443 for https and wss) equals no port, because browsers serialise
// "https://a.example:443" as "https://a.example". The value echoed in
// Access-Control-Allow-Origin is always the request's own Origin, byte for
// byte, since that is what the browser compares it with.
//
// A request is same-origin when its Origin equals the origin the client
// addressed: "https" if the connection is TLS, else "http", plus the Host
// header. Behind a TLS-terminating proxy r.TLS is nil, so, like
// python-engineio, the origin named by X-Forwarded-Proto and
// X-Forwarded-Host (first value of each, either one falling back to the
// direct value) also counts as same-origin. Trusting these client-settable
// headers is safe for this purpose: a page on another site cannot set them
// on a WebSocket handshake or on a request that skips the preflight, and
// the preflight itself carries no such headers, so only non-browser
// clients, which can forge Origin anyway, can use them. RFC 7239 Forwarded
// is not read.
//
// The methods only read the policy; do not change it while requests are
// being served.
type OriginPolicy struct {
	// AllowAll allows every well-formed origin. Without Credentials the
	// answer is "Access-Control-Allow-Origin: *"; with Credentials the
	// origin is echoed, because browsers refuse "*" on credentialed
	// requests.
	AllowAll bool
	// Origins lists the allowed origins, e.g. "https://app.example.com".
	// Entries are matched as described on OriginPolicy; a trailing "/" is
	// tolerated. The entry "*" means AllowAll. The entry "null" matches the
	// opaque origin of sandboxed frames and file: pages, which any site can
	// produce, so list it only knowingly. An entry that is not an origin
	// matches nothing; Validate reports it.
	Origins []string
	// Func, when set, decides instead of AllowAll and Origins. It gets the
	// request's Origin exactly as sent, and only once it is well formed
	// (see Check), so it can be echoed safely. Check, SetHeaders and
	// Preflight each call it, so it should be cheap and deterministic.
	Func func(origin string, r *http.Request) bool
	// Credentials adds "Access-Control-Allow-Credentials: true" to allowed
	// cross-origin responses, so browsers send and expose cookies (the
	// sticky-session cookie needs it).
	Credentials bool
	// MaxAge lets browsers cache a preflight answer, rounded up to whole
	// seconds; zero or less omits Access-Control-Max-Age (browser default).
	MaxAge time.Duration
}

// originClass is the outcome of classifying a request's Origin header.
type originClass uint8

const (
	originAbsent    originClass = iota // no Origin header: not a CORS request
	originSame                         // the server's own origin
	originAllowed                      // cross-origin, allowed by the policy
	originDenied                       // cross-origin, not allowed
	originMalformed                    // not a serialised origin
)

// Check classifies the request's Origin header. ok is true when there is no
// Origin header (or it is empty, which the JavaScript server also treats as
// none), when it is the request's own origin, or when the policy allows it.
// malformed is true, with ok false, when the header is not a serialised
// origin: the literal "null" or scheme "://" host [":" port] with an ASCII
// host name or bracketed IPv6 address, nothing after the port, and the
// header sent only once. The integrator answers malformed with 400 code 3.
//
// This is stricter than the JavaScript server, whose verify rejects only
// control characters other than tab, and DEL (Node reads header bytes as
// Latin-1, so nothing else is out of range), and lets "http://a b",
// non-ASCII bytes or duplicate values through to its CORS check. Browsers
// never send those (they serialise hosts as ASCII), and a strict grammar
// means every origin we accept is safe to echo in a header.
func (p *OriginPolicy) Check(r *http.Request) (ok, malformed bool) {
	_, class := p.classify(r)
	switch class {
	case originAbsent, originSame, originAllowed:
		return true, false
	case originMalformed:
		return false, true
	}
	return false, false
}

// SetHeaders adds the CORS response headers for an allowed cross-origin
// request: Access-Control-Allow-Origin ("*" when AllowAll without
// Credentials or Func, otherwise the request's Origin echoed) and
// Access-Control-Allow-Credentials when Credentials. Same-origin,
// Origin-less, denied and malformed requests get no Access-Control header.
//
// Unless the policy is same-origin only, it also adds "Vary: Origin" to
// every response, including those without Access-Control headers: whether
// the header is present depends on Origin, and the Fetch standard asks for
// Vary in that case so a shared cache does not hand one origin's answer to
// another.
func (p *OriginPolicy) SetHeaders(h http.Header, r *http.Request) {
	origin, class := p.classify(r)
	p.setHeaders(h, origin, class)
}

func (p *OriginPolicy) setHeaders(h http.Header, origin string, class originClass) {
	if p.dependsOnOrigin() {
		addVary(h, "Origin")
	}
	if class != originAllowed {
		return
	}
	if p.wildcard() {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if p.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

// Preflight answers a CORS preflight (an OPTIONS request on the engine
// path; the caller routes it here). An allowed cross-origin request gets
// 204 with the SetHeaders headers plus Access-Control-Allow-Methods,
// Access-Control-Allow-Headers echoing Access-Control-Request-Headers when
// that is a well-formed list of header names (otherwise it is left out and
// the browser fails the preflight), and Access-Control-Max-Age when MaxAge
// is set. A request without Origin or from the same origin gets a bare 204.
// A denied or malformed Origin gets 400 with the JSON body
// {"code":3,"message":"Bad request"}, as the JavaScript server answers a
// bad Origin, and no Access-Control headers, so the browser stops there.
func (p *OriginPolicy) Preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin, class := p.classify(r)
	p.setHeaders(h, origin, class)
	switch class {
	case originDenied, originMalformed:
		body := protocol.AppendErrorJSON(nil, protocol.CodeBadRequest, "")
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
		return
	case originAllowed:
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if names, ok := headerNameList(r.Header.Values("Access-Control-Request-Headers")); ok && names != "" {
			h.Set("Access-Control-Allow-Headers", names)
			addVary(h, "Access-Control-Request-Headers")
		}
		if p.MaxAge > 0 {
			secs := int64((p.MaxAge + time.Second - 1) / time.Second)
			h.Set("Access-Control-Max-Age", strconv.FormatInt(secs, 10))
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// Validate reports the Origins entries that can never match because they
// are not origins (a path, a missing scheme, a typo), so a server can
// refuse a bad configuration at start-up instead of silently denying.
func (p *OriginPolicy) Validate() error {
	if p == nil {
		return nil
	}
	var errs []error
	for _, e := range p.Origins {
		if e == "*" {
			continue
		}
		if _, ok := parseOrigin(trimConfigured(e)); !ok {
			errs = append(errs, fmt.Errorf("httpapi: allowed origin %q is not scheme://host[:port] or \"null\"", e))
		}
	}
	return errors.Join(errs...)
}

// classify returns the request's Origin (when well formed) and its class.
func (p *OriginPolicy) classify(r *http.Request) (string, originClass) {
	vals := r.Header.Values("Origin")
	switch {
	case len(vals) == 0 || len(vals) == 1 && vals[0] == "":
		return "", originAbsent
	case len(vals) > 1:
		// Browsers send one Origin; two make the request ambiguous.
		return "", originMalformed
	}
	origin := vals[0]
	o, ok := parseOrigin(origin)
	if !ok {
		return "", originMalformed
	}
	if isSameOrigin(o, r) {
		return origin, originSame
	}
	if p.allows(origin, o, r) {
		return origin, originAllowed
	}
	return origin, originDenied
}

func (p *OriginPolicy) allows(origin string, o originParts, r *http.Request) bool {
	switch {
	case p == nil:
		return false
	case p.Func != nil:
		return p.Func(origin, r)
	case p.AllowAll:
		return true
	}
	for _, e := range p.Origins {
		if e == "*" {
			return true
		}
		if c, ok := parseOrigin(trimConfigured(e)); ok && c.equal(o) {
			return true
		}
	}
	return false
}

// wildcard reports whether allowed origins are answered with "*".
func (p *OriginPolicy) wildcard() bool {
	if p.Func != nil || p.Credentials {
		return false
	}
	if p.AllowAll {
		return true
	}
	for _, e := range p.Origins {
		if e == "*" {
			return true
		}
	}
	return false
}

// dependsOnOrigin reports whether some response may carry Access-Control
// headers, i.e. whether responses vary with Origin.
func (p *OriginPolicy) dependsOnOrigin() bool {
	return p != nil && (p.AllowAll || len(p.Origins) > 0 || p.Func != nil)
}

// trimConfigured forgives what people write in configuration files but
// browsers never send: surrounding blanks and a trailing slash.
func trimConfigured(e string) string {
	e = strings.TrimSpace(e)
	if !strings.HasSuffix(e, "://") {
		e = strings.TrimSuffix(e, "/")
	}
	return e
}

// originParts is a parsed serialised origin; the strings point into the
// parsed text, so parsing does not allocate.
type originParts struct {
	opaque             bool // "null"
	scheme, host, port string
}

// equal compares two origins as RFC 6454 does, with the default port of
// the scheme standing for an absent one.
func (o originParts) equal(c originParts) bool {
	if o.opaque || c.opaque {
		// The configured entry "null" matches the request origin "null";
		// nothing else matches an opaque origin.
		return o.opaque && c.opaque
	}
	return strings.EqualFold(o.scheme, c.scheme) &&
		strings.EqualFold(o.host, c.host) &&
		effectivePort(o.scheme, o.port) == effectivePort(c.scheme, c.port)
}

// effectivePort returns the port number, the scheme's default for an empty
// port, or -1 when the scheme has none.
func effectivePort(scheme, port string) int {
	if port == "" {
		switch strings.ToLower(scheme) {
		case "http", "ws":
			return 80
		case "https", "wss":
			return 443
		}
		return -1
	}
	n, _ := strconv.Atoi(port) // parseAuthority checked: 1..5 digits ≤ 65535
	return n
}

// parseOrigin parses "null" or scheme "://" authority. The grammar is the
// browser serialisation (RFC 6454 section 6.2, WHATWG URL), with the host
// limited to ASCII: everything accepted is visible ASCII without commas,
// spaces or quotes, so it can be echoed in a header as is.
func parseOrigin(s string) (originParts, bool) {
	if s == "null" {
		return originParts{opaque: true}, true
	}
	i := strings.Index(s, "://")
	if i <= 0 || !isScheme(s[:i]) {
		return originParts{}, false
	}
	host, port, ok := parseAuthority(s[i+3:])
	if !ok {
		return originParts{}, false
	}
	return originParts{scheme: s[:i], host: host, port: port}, true
}

// parseAuthority parses host [":" port] where host is a registered name
// (letters, digits, "-", ".", "_", "~"), an IPv4 address, or an IPv6
// address in brackets. An empty host is allowed without a port, for
// schemes such as file:// that some embedded browsers send.
func parseAuthority(s string) (host, port string, ok bool) {
	rest := s
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 2 {
			return "", "", false
		}
		for i := 1; i < end; i++ {
			if c := s[i]; !asciiHex(c) && c != ':' && c != '.' {
				return "", "", false
			}
		}
		host, rest = s[:end+1], s[end+1:]
	} else {
		end := strings.IndexByte(s, ':')
		if end < 0 {
			end = len(s)
		}
		for i := 0; i < end; i++ {
			if !isRegNameChar(s[i]) {
				return "", "", false
			}
		}
		host, rest = s[:end], s[end:]
	}
	if rest == "" {
		return host, "", true
	}
	if rest[0] != ':' || host == "" {
		return "", "", false
	}
	port = rest[1:]
	if len(port) == 0 || len(port) > 5 {
		return "", "", false
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return "", "", false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return "", "", false
	}
	return host, port, true
}

// isSameOrigin reports whether o is the origin the client addressed, as
// explained on OriginPolicy.
func isSameOrigin(o originParts, r *http.Request) bool {
	if o.opaque {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if sameAs(o, scheme, r.Host) {
		return true
	}
	fproto := firstValue(r.Header.Get("X-Forwarded-Proto"))
	fhost := firstValue(r.Header.Get("X-Forwarded-Host"))
	if fproto == "" && fhost == "" {
		return false
	}
	if fproto == "" {
		fproto = scheme
	}
	if fhost == "" {
		fhost = r.Host
	}
	return isScheme(fproto) && sameAs(o, fproto, fhost)
}

func sameAs(o originParts, scheme, authority string) bool {
	host, port, ok := parseAuthority(authority)
	if !ok || host == "" {
		return false
	}
	return o.equal(originParts{scheme: scheme, host: host, port: port})
}

// firstValue returns the first element of a comma-separated header value:
// chained proxies append theirs after the one facing the client.
func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(v, " \t")
}

// headerNameList validates Access-Control-Request-Headers (all its lines)
// and returns it rebuilt as "a, b, c", so that what is echoed is exactly a
// list of tokens. ok is false if any element is not a token.
func headerNameList(vals []string) (string, bool) {
	var b strings.Builder
	for _, v := range vals {
		for _, name := range strings.Split(v, ",") {
			name = strings.Trim(name, " \t")
			if name == "" {
				continue // empty list elements are allowed (RFC 9110 5.6.1)
			}
			if !isHTTPToken(name) {
				return "", false
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	return b.String(), true
}

// addVary adds name to the Vary header unless it, or "*", is already there.
func addVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			f = strings.Trim(f, " \t")
			if f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}

func isScheme(s string) bool {
	if s == "" || !asciiAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !asciiAlpha(c) && !asciiDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isRegNameChar(c byte) bool {
	return asciiAlpha(c) || asciiDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// isHTTPToken reports whether s is an RFC 9110 token.
func isHTTPToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if asciiAlpha(c) || asciiDigit(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func asciiAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func asciiDigit(c byte) bool { return c >= '0' && c <= '9' }
func asciiHex(c byte) bool   { return asciiDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

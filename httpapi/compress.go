package httpapi

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// defaultCompressionThreshold is the JavaScript server's httpCompression
// threshold: below about a kilobyte the gzip framing and the CPU cost
// outweigh the bytes saved.
const defaultCompressionThreshold = 1024

// Compression configures HTTP compression of polling responses (the
// JavaScript server's httpCompression option). The zero value disables it.
//
// When it is enabled, the response depends on Accept-Encoding whether or
// not a given body is compressed, so polling responses should carry
// "Vary: Accept-Encoding".
type Compression struct {
	// Enabled turns compression on.
	Enabled bool
	// Threshold is the smallest body, in bytes, worth compressing; 0 means
	// 1024, the JavaScript default, and a negative value means no minimum.
	Threshold int
}

// threshold returns the effective minimum body length.
func (c Compression) threshold() int {
	switch {
	case c.Threshold == 0:
		return defaultCompressionThreshold
	case c.Threshold < 0:
		return 0
	}
	return c.Threshold
}

// Encoding returns the content coding for a body of bodyLen bytes given the
// request's Accept-Encoding: "gzip", "deflate", or "" to send it as is
// (compression disabled, body shorter than the threshold, or neither coding
// acceptable). Pass all Accept-Encoding lines joined with ",".
//
// Negotiation follows RFC 9110 section 12.5.3: codings are
// case-insensitive, "x-gzip" counts as gzip, q=0 refuses a coding, "*"
// stands for codings not listed, and a missing or empty header means
// identity only. At equal q gzip wins, as every client that asks for
// deflate also takes gzip and gzip has no zlib-versus-raw ambiguity. The
// header comes from the client, so malformed elements (bad q such as
// "q=1.5" or "q=abc", names that are not tokens) are skipped rather than
// failing the request; for a coding listed twice the first well-formed
// element counts.
func (c Compression) Encoding(acceptEncoding string, bodyLen int) string {
	if !c.Enabled || bodyLen < c.threshold() {
		return ""
	}
	return negotiateEncoding(acceptEncoding)
}

// negotiateEncoding picks gzip or deflate from an Accept-Encoding value.
func negotiateEncoding(ae string) string {
	qGzip, qDeflate, qStar := -1, -1, -1 // in thousandths; -1 = not listed
	for ae != "" {
		var elem string
		if i := strings.IndexByte(ae, ','); i >= 0 {
			elem, ae = ae[:i], ae[i+1:]
		} else {
			elem, ae = ae, ""
		}
		name, q, ok := parseCodingElement(elem)
		if !ok {
			continue
		}
		var slot *int
		switch {
		case strings.EqualFold(name, "gzip"), strings.EqualFold(name, "x-gzip"):
			slot = &qGzip
		case strings.EqualFold(name, "deflate"):
			slot = &qDeflate
		case name == "*":
			slot = &qStar
		default:
			continue
		}
		if *slot < 0 {
			*slot = q
		}
	}
	if qGzip < 0 {
		qGzip = max(qStar, 0)
	}
	if qDeflate < 0 {
		qDeflate = max(qStar, 0)
	}
	switch {
	case qGzip > 0 && qGzip >= qDeflate:
		return "gzip"
	case qDeflate > 0:
		return "deflate"
	}
	return ""
}

// parseCodingElement parses one Accept-Encoding element,
// coding *( OWS ";" OWS name "=" value ), into the coding and its weight in
// thousandths (1000 when absent). Parameters other than q carry no meaning
// for Accept-Encoding and are ignored.
func parseCodingElement(elem string) (name string, q int, ok bool) {
	name, params, _ := strings.Cut(elem, ";")
	name = strings.Trim(name, " \t")
	if !isHTTPToken(name) {
		return "", 0, false
	}
	q = 1000
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, found := strings.Cut(p, "=")
		k = strings.Trim(k, " \t")
		if !found {
			if k == "" {
				continue // a stray ";"
			}
			return "", 0, false
		}
		if !strings.EqualFold(k, "q") {
			continue
		}
		if q, ok = parseQValue(strings.Trim(v, " \t")); !ok {
			return "", 0, false
		}
	}
	return name, q, true
}

// parseQValue parses an RFC 9110 qvalue, "0" ["." 0*3DIGIT] or
// "1" ["." 0*3"0"], into thousandths.
func parseQValue(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole := int(s[0]-'0') * 1000
	if len(s) == 1 {
		return whole, true
	}
	if s[1] != '.' {
		return 0, false
	}
	frac, scale := 0, 100
	for i := 2; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		frac += int(c-'0') * scale
		scale /= 10
	}
	if whole+frac > 1000 {
		return 0, false
	}
	return whole + frac, true
}

// sliceWriter is an io.Writer appending to a byte slice, so compressed
// output goes straight into the caller's buffer.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// A compressor's state is hundreds of kilobytes; the pools keep one per
// concurrently compressing request instead of one per response. Each pooled
// value owns its sliceWriter so that Reset needs no allocation.
type gzipEncoder struct {
	out sliceWriter
	w   *gzip.Writer
}

type zlibEncoder struct {
	out sliceWriter
	w   *zlib.Writer
}

var (
	gzipPool = sync.Pool{New: func() any {
		e := &gzipEncoder{}
		e.w = gzip.NewWriter(&e.out)
		return e
	}}
	zlibPool = sync.Pool{New: func() any {
		e := &zlibEncoder{}
		e.w = zlib.NewWriter(&e.out)
		return e
	}}
)

// Compress appends body encoded with enc to dst and returns the extended
// slice; dst must not overlap body. enc is "gzip" (RFC 1952) or "deflate",
// which is the zlib format (RFC 1950) as RFC 9110 defines it and as the
// JavaScript server sends it (Node's zlib.createDeflate), not raw deflate;
// "" and "identity" append body unchanged. Both use the default level (6),
// as Node does. Writers come from a sync.Pool, so a call allocates only to
// grow dst. On error dst is returned unchanged.
func Compress(dst []byte, enc string, body []byte) ([]byte, error) {
	switch enc {
	case "", "identity":
		return append(dst, body...), nil
	case "gzip":
		e := gzipPool.Get().(*gzipEncoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		out, err := finishStream(e.w, &e.out, body)
		gzipPool.Put(e)
		if err != nil {
			return dst, err
		}
		return out, nil
	case "deflate":
		e := zlibPool.Get().(*zlibEncoder)
		e.out.b = dst
		e.w.Reset(&e.out)
		out, err := finishStream(e.w, &e.out, body)
		zlibPool.Put(e)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	return dst, fmt.Errorf("httpapi: content coding %q: %w", enc, errors.ErrUnsupported)
}

// finishStream writes body, closes the stream and detaches the output from the
// pooled writer, which must not keep the caller's buffer alive.
func finishStream(w io.WriteCloser, out *sliceWriter, body []byte) ([]byte, error) {
	_, err := w.Write(body)
	if err == nil {
		err = w.Close()
	}
	b := out.b
	out.b = nil
	return b, err
}

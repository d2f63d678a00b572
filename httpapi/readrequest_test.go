package httpapi

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Requests as real clients send them (engine.io-client's over Node
// captured as they came; the others as their clients write them).
var clientRequests = map[string]string{
	"engine.io-client 6 poll": "GET /engine.io/?EIO=4&transport=polling&t=su9suarm&sid=abc HTTP/1.1\r\n" +
		"User-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nHost: 127.0.0.1:39999\r\nConnection: close\r\n\r\n",
	"engine.io-client 6 post": "POST /engine.io/?EIO=4&transport=polling&t=su9swj22&sid=abc HTTP/1.1\r\n" +
		"User-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nContent-type: text/plain;charset=UTF-8\r\n" +
		"Host: 127.0.0.1:39999\r\nContent-Length: 9\r\nConnection: close\r\n\r\n4hi there",
	"engine.io-client 3 post": "POST /engine.io/?EIO=3&transport=polling&t=Q8W0nV4.0&b64=1&sid=abc HTTP/1.1\r\n" +
		"User-Agent: node-XMLHttpRequest\r\nAccept: */*\r\nContent-Type: text/plain;charset=UTF-8\r\n" +
		"Host: 127.0.0.1:39999\r\nContent-Length: 11\r\nConnection: close\r\n\r\n9:4hi there",
	"Go client post, pipelined poll after it": "POST /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\n" +
		"Host: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 6\r\n" +
		"Content-Type: text/plain; charset=UTF-8\r\nAccept-Encoding: gzip\r\n\r\n4hello" +
		"GET /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
	"browser poll": "GET /socket.io/?EIO=4&transport=polling&t=PZx1a2b&sid=Zm9v HTTP/1.1\r\n" +
		"Host: example.com\r\nConnection: keep-alive\r\n" +
		`sec-ch-ua: "Chromium";v="156", "Not.A/Brand";v="24"` + "\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n" +
		"Accept: */*\r\nOrigin: https://app.example.com\r\nReferer: https://app.example.com/chat\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n" +
		"Cookie: io=Zm9v; theme=dark\r\n\r\n",
	"preflight": "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n" +
		"Origin: https://b\r\nAccess-Control-Request-Method: POST\r\n" +
		"Access-Control-Request-Headers: content-type\r\n\r\n",
	"HTTP/1.0 keep-alive": "GET /engine.io/?EIO=3&transport=polling&j=0 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	"engine.io-client 6 websocket": "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: St5OivZvM1sXRUsvGjWckg==\r\nConnection: Upgrade\r\n" +
		"Upgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Host: 127.0.0.1:39999\r\n\r\n",
	"engine.io-client 3 websocket": "GET /engine.io/?EIO=3&transport=websocket HTTP/1.1\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: FaoYqCHpPPNJlwgCKlJdNg==\r\nConnection: Upgrade\r\n" +
		"Upgrade: websocket\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
		"Host: 127.0.0.1:39999\r\n\r\n",
	"browser websocket, keep-alive and Upgrade": "GET /socket.io/?EIO=4&transport=websocket&sid=Zm9v HTTP/1.1\r\n" +
		"Host: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Sec-WebSocket-Version: 13\r\nOrigin: https://app.example.com\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Connection: keep-alive, Upgrade\r\nCookie: io=Zm9v\r\nSec-Fetch-Dest: empty\r\n" +
		"Sec-Fetch-Mode: websocket\r\nSec-Fetch-Site: same-site\r\nPragma: no-cache\r\n" +
		"Cache-Control: no-cache\r\nUpgrade: websocket\r\n\r\n",
	"HTTP/1.0, Connection without keep-alive": "GET /e/ HTTP/1.0\r\nConnection: Upgrade\r\n\r\n",
	"Pragma, no Cache-Control":                "GET /e/ HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n",
	"Pragma of another value":                 "GET /e/ HTTP/1.1\r\nPragma: x\r\nPragma: no-cache\r\n\r\n",
	"close among the tokens":                  "GET /e/ HTTP/1.1\r\nConnection: Upgrade,\tCLOSE \r\n\r\n",
	"no header at all":                        "GET / HTTP/1.1\r\n\r\n",
	"repeated header":                         "GET /x HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
}

// Requests the shortcut leaves to http.ReadRequest.
var otherRequests = map[string]string{
	"chunked body":       "POST /e/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
	"continued line":     "GET /e/ HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
	"escaped path":       "GET /e%20x/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"bare LF":            "GET /e/ HTTP/1.1\nHost: a\n\n",
	"absolute target":    "GET http://a/e/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"incomplete header":  "GET /e/ HTTP/1.1\r\nHost: a\r\n",
	"two lengths":        "POST /e/ HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	"other method":       "PUT /e/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"HTTP/2 preface":     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"empty query":        "GET /e/? HTTP/1.1\r\nHost: a\r\n\r\n",
	"bad length":         "POST /e/ HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx",
	"obs-text value":     "GET /e/ HTTP/1.1\r\nHost: a\r\nX-A: caf\xc3\xa9\r\n\r\n",
	"space before colon": "GET /e/ HTTP/1.1\r\nHost : a\r\n\r\n",
}

// filled returns a request reader over raw with as much of it buffered
// as fits, as a connection's reader has a request that came in one
// segment.
func filled(raw string) *bufio.Reader {
	br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	_, _ = br.Peek(min(len(raw), br.Size()))
	return br
}

// sameAsNetHTTP reads raw with readSimpleRequest and, if it takes the
// request, checks that http.ReadRequest reads the same request, body and
// what follows. It reports whether the shortcut took it.
func sameAsNetHTTP(t *testing.T, raw string) bool {
	t.Helper()
	br := filled(raw)
	buffered := br.Buffered()
	got, ok := readSimpleRequest(br, usedScratch(t))
	if !ok {
		if br.Buffered() != buffered {
			t.Fatalf("declined %q but read %d bytes of it", raw, buffered-br.Buffered())
		}
		return false
	}
	wbr := bufio.NewReader(strings.NewReader(raw))
	want, err := http.ReadRequest(wbr)
	if err != nil {
		t.Fatalf("took %q, which http.ReadRequest refuses: %v", raw, err)
	}
	type fields struct {
		Method, RequestURI, Proto, Host string
		ProtoMajor, ProtoMinor          int
		Header                          http.Header
		ContentLength                   int64
		Close                           bool
		TransferEncoding                []string
		Trailer                         http.Header
		NoBody                          bool
	}
	of := func(r *http.Request) fields {
		return fields{r.Method, r.RequestURI, r.Proto, r.Host, r.ProtoMajor, r.ProtoMinor,
			r.Header, r.ContentLength, r.Close, r.TransferEncoding, r.Trailer, r.Body == http.NoBody}
	}
	if g, w := of(got), of(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%q:\n got %+v\nwant %+v", raw, g, w)
	}
	if !reflect.DeepEqual(got.URL, want.URL) {
		t.Fatalf("%q: URL\n got %#v\nwant %#v", raw, got.URL, want.URL)
	}
	gb, gerr := io.ReadAll(got.Body)
	wb, werr := io.ReadAll(want.Body)
	if !bytes.Equal(gb, wb) || !errors.Is(gerr, werr) && !errors.Is(werr, gerr) {
		t.Fatalf("%q: body %q, %v; want %q, %v", raw, gb, gerr, wb, werr)
	}
	if werr == nil {
		grest, _ := io.ReadAll(br)
		wrest, _ := io.ReadAll(wbr)
		if !bytes.Equal(grest, wrest) {
			t.Fatalf("%q: left %q after the request, want %q", raw, grest, wrest)
		}
	}
	return true
}

// usedScratch returns a scratch that has built two requests, one with many
// headers and one with a body, and was reset after each as a kept
// connection resets it: what it builds next must owe nothing to them.
func usedScratch(t *testing.T) *requestScratch {
	t.Helper()
	s := new(requestScratch)
	for _, name := range []string{"browser poll", "Go client post, pipelined poll after it"} {
		if _, ok := readSimpleRequest(filled(clientRequests[name]), s); !ok {
			t.Fatalf("declined %s", name)
		}
		s.reset()
	}
	return s
}

func TestReadSimpleRequestTakesClientRequests(t *testing.T) {
	for name, raw := range clientRequests {
		t.Run(name, func(t *testing.T) {
			if !sameAsNetHTTP(t, raw) {
				t.Fatalf("left %q to http.ReadRequest", raw)
			}
		})
	}
}

func TestReadSimpleRequestLeavesOthers(t *testing.T) {
	for name, raw := range otherRequests {
		t.Run(name, func(t *testing.T) {
			if sameAsNetHTTP(t, raw) {
				t.Fatalf("took %q", raw)
			}
		})
	}
}

func TestContentBodyAsNetHTTP(t *testing.T) {
	const head = "POST /e/ HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"
	t.Run("short", func(t *testing.T) {
		req, ok := readSimpleRequest(filled(head+"4hi"), new(requestScratch))
		if !ok {
			t.Fatal("declined")
		}
		b, err := io.ReadAll(req.Body)
		if string(b) != "4hi" || err != io.ErrUnexpectedEOF {
			t.Fatalf("read %q, %v; want %q, %v", b, err, "4hi", io.ErrUnexpectedEOF)
		}
	})
	t.Run("EOF with the last bytes", func(t *testing.T) {
		req, _ := readSimpleRequest(filled(head+"4helloGET"), new(requestScratch))
		p := make([]byte, 16)
		n, err := req.Body.Read(p)
		if n != 5 || err != io.EOF {
			t.Fatalf("Read = %d, %v; want 5, EOF", n, err)
		}
	})
	t.Run("read after close", func(t *testing.T) {
		req, _ := readSimpleRequest(filled(head+"4hello"), new(requestScratch))
		_ = req.Body.Close()
		if _, err := req.Body.Read(make([]byte, 1)); err != http.ErrBodyReadAfterClose {
			t.Fatalf("Read after Close: %v, want %v", err, http.ErrBodyReadAfterClose)
		}
	})
}

// FuzzReadSimpleRequest holds readSimpleRequest to http.ReadRequest: what
// it takes, net/http reads as the same request, body and rest.
func FuzzReadSimpleRequest(f *testing.F) {
	for _, raw := range clientRequests {
		f.Add(raw)
	}
	for _, raw := range otherRequests {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		sameAsNetHTTP(t, raw)
	})
}

func BenchmarkReadRequest(b *testing.B) {
	for _, name := range []string{"engine.io-client 6 post", "engine.io-client 6 websocket"} {
		raw := clientRequests[name]
		sr := strings.NewReader(raw)
		br := bufio.NewReaderSize(sr, 4096)
		next := func() *bufio.Reader {
			sr.Reset(raw)
			br.Reset(sr)
			_, _ = br.Peek(len(raw))
			return br
		}
		b.Run(name+"/readSimpleRequest", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := readSimpleRequest(next(), new(requestScratch)); !ok {
					b.Fatal("declined")
				}
			}
		})
		// As a kept connection reads its requests when nothing keeps them.
		b.Run(name+"/readSimpleRequest, scratch reused", func(b *testing.B) {
			b.ReportAllocs()
			s := new(requestScratch)
			for b.Loop() {
				if _, ok := readSimpleRequest(next(), s); !ok {
					b.Fatal("declined")
				}
				s.reset()
			}
		})
		b.Run(name+"/http.ReadRequest", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := http.ReadRequest(next()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A held poll keeps a copy of its response header, with values in new
// slices: a Headers hook may have set a slice it shares with other
// responses, and the kept connection's next response reuses the map.
func TestPackedHeaderLeavesTheOriginal(t *testing.T) {
	shared := []string{"a", "b"}
	h := http.Header{"X-Shared": shared, "Origin-Echo": {"https://app.example.com"}}
	packed := packedHeader(h)
	want := http.Header{"X-Shared": {"a", "b"}, "Origin-Echo": {"https://app.example.com"}}
	if !reflect.DeepEqual(packed, want) {
		t.Fatalf("packedHeader gave %v, want %v", packed, want)
	}
	if &packed["X-Shared"][0] == &shared[0] {
		t.Fatal("packedHeader kept the shared slice")
	}
	clear(h)
	if !reflect.DeepEqual(packed, want) {
		t.Fatalf("clearing the original changed the copy to %v", packed)
	}
	if shared[0] != "a" || shared[1] != "b" {
		t.Fatalf("shared slice changed to %v", shared)
	}
	if got := packedHeader(http.Header{"X-Empty": nil}); got != nil {
		t.Fatalf("packedHeader of a header without values gave %v, want nil", got)
	}
}

// drained reports whether what the handler left of a body was read to its
// end, reading no further than the body: a body the handler read whole
// costs no allocation; one it closed after reading it whole counts as
// drained; one it left unread is read; one the connection cut short is not
// drained.
func TestDrained(t *testing.T) {
	const head = "POST /e/ HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n"
	for _, tc := range []struct {
		name, raw string
		read      int
		close     bool
		want      bool
	}{
		{"read whole", head + "4helloNEXT", 6, false, true},
		{"read whole and closed", head + "4helloNEXT", 6, true, true},
		{"read in part", head + "4helloNEXT", 2, false, true},
		{"cut short", head + "4he", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := filled(tc.raw)
			req, ok := readSimpleRequest(br, new(requestScratch))
			if !ok {
				t.Fatal("declined")
			}
			if _, err := io.ReadFull(req.Body, make([]byte, tc.read)); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				_ = req.Body.Close()
			}
			if got := drained(req.Body); got != tc.want {
				t.Fatalf("drained = %v, want %v", got, tc.want)
			}
			if tc.want {
				if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
					t.Fatalf("left %q after the body, want %q", rest, "NEXT")
				}
			}
			if tc.read == 6 {
				if n := testing.AllocsPerRun(10, func() { drained(req.Body) }); n != 0 {
					t.Fatalf("drained of a body read whole allocates %v times", n)
				}
			}
		})
	}
}

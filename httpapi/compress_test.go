package httpapi

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestCompressionEncoding(t *testing.T) {
	c := Compression{Enabled: true}
	tests := []struct {
		accept, want string
	}{
		{"gzip", "gzip"},
		{"deflate", "deflate"},
		{"gzip, deflate", "gzip"},
		{"deflate, gzip", "gzip"}, // equal q: gzip preferred whatever the order
		{"gzip, deflate, br, zstd", "gzip"},
		{"gzip;q=0, deflate", "deflate"},
		{"gzip;q=0.5, deflate", "deflate"},
		{"gzip;q=0.5, deflate;q=0.5", "gzip"},
		{"gzip;q=0.001", "gzip"},
		{"gzip;q=0.000", ""},
		{"gzip;q=1.000", "gzip"},
		{"gzip ; q=0.8 , deflate ; q=0.9", "deflate"},
		{"gzip\t;\tq=0.5", "gzip"},
		{"gzip;level=9", "gzip"}, // unknown parameter ignored
		{"*", "gzip"},
		{"*;q=0", ""},
		{"gzip;q=0, *", "deflate"},
		{"*, gzip;q=0, deflate;q=0", ""},
		{"br, *;q=0.1", "gzip"},
		{"deflate;q=0.2, *;q=0.1", "deflate"},
		{"br", ""},
		{"identity", ""},
		{"", ""},
		{"x-gzip", "gzip"},
		{"GZIP", "gzip"},
		{"DeFlate;Q=0.9", "deflate"},
		{"gzip;q=0, gzip", ""}, // the first element for a coding counts
		// Junk is skipped, never fatal.
		{";;;,q=abc,gzip;q=1.5", ""},
		{";;;,q=abc,gzip;q=1.5, deflate", "deflate"},
		{"gzip;q=abc, deflate", "deflate"},
		{"gzip;q=1.001", ""},
		{"gzip;q=0.0000", ""},
		{"gzip;q=-1", ""},
		{"gzip;q=10", ""},
		{"gzip;q=2", ""},
		{"gzip;q=0.5.", ""},
		{"gzip;q=", ""},
		{"gzip;q", ""},
		{"gzip;;q=0.5", "gzip"},
		{"gzip;=0", "gzip"},
		{",,,", ""},
		{"g zip", ""},
		{"gzïp", ""},
		{"\x00gzip", ""},
		{"gzip\r\n", ""},
		{strings.Repeat("junk;q=x,", 1000) + "deflate", "deflate"},
	}
	for _, tt := range tests {
		if got := c.Encoding(tt.accept, 4096); got != tt.want {
			t.Errorf("Encoding(%q) = %q, want %q", tt.accept, got, tt.want)
		}
	}
}

func TestCompressionThreshold(t *testing.T) {
	tests := []struct {
		c       Compression
		bodyLen int
		want    string
	}{
		{Compression{}, 1 << 20, ""},
		{Compression{Threshold: 10}, 1 << 20, ""},
		{Compression{Enabled: true}, 1023, ""},
		{Compression{Enabled: true}, 1024, "gzip"},
		{Compression{Enabled: true, Threshold: 10}, 9, ""},
		{Compression{Enabled: true, Threshold: 10}, 10, "gzip"},
		{Compression{Enabled: true, Threshold: -1}, 0, "gzip"},
	}
	for _, tt := range tests {
		if got := tt.c.Encoding("gzip", tt.bodyLen); got != tt.want {
			t.Errorf("%+v.Encoding(gzip, %d) = %q, want %q", tt.c, tt.bodyLen, got, tt.want)
		}
	}
}

func testBodies() map[string][]byte {
	var payload bytes.Buffer
	for i := 0; payload.Len() < 64<<10; i++ {
		fmt.Fprintf(&payload, "4{\"event\":\"tick\",\"n\":%d}\x1e", i)
	}
	noise := make([]byte, 10000)
	x := uint32(1)
	for i := range noise {
		x = x*1664525 + 1013904223
		noise[i] = byte(x >> 24)
	}
	return map[string][]byte{
		"empty":   {},
		"small":   []byte("4hello"),
		"payload": payload.Bytes(),
		"noise":   noise,
	}
}

func decompress(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var r io.ReadCloser
	var err error
	switch enc {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(b))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("%s reader: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s read: %v", enc, err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("%s close: %v", enc, err)
	}
	return out
}

func TestCompressRoundTrip(t *testing.T) {
	for _, enc := range []string{"gzip", "deflate"} {
		for name, body := range testBodies() {
			t.Run(enc+"/"+name, func(t *testing.T) {
				prefix := []byte("prefix")
				out, err := Compress(append([]byte(nil), prefix...), enc, body)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(out, prefix) {
					t.Fatalf("dst prefix lost: %q", out[:min(len(out), 10)])
				}
				if got := decompress(t, enc, out[len(prefix):]); !bytes.Equal(got, body) {
					t.Fatalf("round trip: got %d bytes, want %d", len(got), len(body))
				}
				if name == "payload" && len(out)-len(prefix) >= len(body)/4 {
					t.Errorf("%d bytes compressed to %d", len(body), len(out)-len(prefix))
				}
			})
		}
	}
}

// TestCompressDeflateIsZlib pins "deflate" to the zlib format that Node's
// zlib.createDeflate (the JavaScript server) produces, not raw deflate.
func TestCompressDeflateIsZlib(t *testing.T) {
	out, err := Compress(nil, "deflate", []byte("4hello"))
	if err != nil {
		t.Fatal(err)
	}
	// RFC 1950: CMF 0x78 (deflate, 32K window), and CMF*256+FLG a
	// multiple of 31.
	if len(out) < 6 || out[0] != 0x78 || (int(out[0])<<8|int(out[1]))%31 != 0 {
		t.Fatalf("not a zlib stream: % x", out)
	}
	gz, _ := Compress(nil, "gzip", []byte("4hello"))
	if len(gz) < 2 || gz[0] != 0x1f || gz[1] != 0x8b {
		t.Fatalf("not a gzip stream: % x", gz)
	}
}

func TestCompressIdentityAndUnknown(t *testing.T) {
	for _, enc := range []string{"", "identity"} {
		out, err := Compress([]byte("a"), enc, []byte("bc"))
		if err != nil || string(out) != "abc" {
			t.Errorf("Compress(%q) = %q, %v", enc, out, err)
		}
	}
	for _, enc := range []string{"br", "GZIP", "x-gzip", "zlib"} {
		dst := []byte("keep")
		out, err := Compress(dst, enc, []byte("body"))
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("Compress(%q) error = %v, want ErrUnsupported", enc, err)
		}
		if string(out) != "keep" {
			t.Errorf("Compress(%q) = %q, want dst unchanged", enc, out)
		}
	}
}

// TestCompressDoesNotRetainOutput checks that a pooled writer lets go of
// the caller's buffer: a later call must not write into an earlier result.
func TestCompressDoesNotRetainOutput(t *testing.T) {
	for _, enc := range []string{"gzip", "deflate"} {
		a := []byte(strings.Repeat("first ", 500))
		b := []byte(strings.Repeat("second ", 500))
		outA, err := Compress(make([]byte, 0, 64<<10), enc, a)
		if err != nil {
			t.Fatal(err)
		}
		snapshot := append([]byte(nil), outA...)
		for range 10 {
			if _, err := Compress(nil, enc, b); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(outA, snapshot) {
			t.Fatalf("%s: earlier output modified", enc)
		}
		if got := decompress(t, enc, outA); !bytes.Equal(got, a) {
			t.Fatalf("%s: earlier output corrupt", enc)
		}
	}
}

func TestCompressConcurrent(t *testing.T) {
	bodies := testBodies()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := []string{"gzip", "deflate"}[g%2]
			var dst []byte
			for range 20 {
				for name, body := range bodies {
					var err error
					dst, err = Compress(dst[:0], enc, body)
					if err != nil {
						t.Error(err)
						return
					}
					if got := decompress(t, enc, dst); !bytes.Equal(got, body) {
						t.Errorf("%s/%s: mismatch", enc, name)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkCompress shows the pooled writers: with dst reused, a call
// should report no allocations (a fresh gzip writer costs about 1 MB).
func BenchmarkCompress(b *testing.B) {
	body := testBodies()["payload"][:4096]
	for _, enc := range []string{"gzip", "deflate"} {
		b.Run(enc, func(b *testing.B) {
			dst := make([]byte, 0, 8192)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var err error
				dst, err = Compress(dst[:0], enc, body)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncoding(b *testing.B) {
	c := Compression{Enabled: true}
	b.ReportAllocs()
	for b.Loop() {
		if c.Encoding("gzip, deflate, br, zstd", 4096) != "gzip" {
			b.Fatal("wrong encoding")
		}
	}
}

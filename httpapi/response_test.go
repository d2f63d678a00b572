package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A buffered response is written as net/http would write it: its own
// Content-Length and Date, "Connection: close" unless kept, header values
// with their line breaks as spaces, and no field with an invalid name.
func TestBufferedResponseWriteTo(t *testing.T) {
	for _, keep := range []bool{false, true} {
		rw := &bufferedResponse{header: http.Header{
			"Content-Type":   {"text/plain; charset=UTF-8"},
			"X-Split":        {"a\r\nSet-Cookie: evil=1"},
			"Bad Name":       {"x"},
			"Content-Length": {"999"},
		}}
		rw.keep = keep
		rw.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(rw, "hello")
		var out bytes.Buffer
		if _, err := rw.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out.Bytes())), nil)
		if err != nil {
			t.Fatalf("keep %v: %v in %q", keep, err, out.String())
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusAccepted || string(body) != "hello" || resp.ContentLength != 5 {
			t.Errorf("keep %v: %d %q (length %d)", keep, resp.StatusCode, body, resp.ContentLength)
		}
		if resp.Close == keep {
			t.Errorf("keep %v: response closes the connection: %v", keep, resp.Close)
		}
		if got := resp.Header.Get("X-Split"); got != "a  Set-Cookie: evil=1" || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("keep %v: a line break in a value split the header: X-Split %q", keep, got)
		}
		if strings.Contains(out.String(), "Bad Name") {
			t.Errorf("keep %v: a field with an invalid name was written", keep)
		}
		if date, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(date) > 2*time.Second {
			t.Errorf("keep %v: Date %q (%v), want now", keep, resp.Header.Get("Date"), err)
		}
	}
}

// The Date header is formatted once a second and shared by the responses
// of that second; a new second gets its own.
func TestAppendDate(t *testing.T) {
	at := time.Date(2026, 11, 27, 11, 45, 30, 0, time.FixedZone("CET", 3600))
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{at, "Fri, 27 Nov 2026 10:45:30 GMT"},
		{at.Add(999 * time.Millisecond), "Fri, 27 Nov 2026 10:45:30 GMT"},
		{at.Add(time.Second), "Fri, 27 Nov 2026 10:45:31 GMT"},
		{at, "Fri, 27 Nov 2026 10:45:30 GMT"},
	} {
		if got := string(appendDate([]byte("x"), tc.now)); got != "x"+tc.want {
			t.Errorf("appendDate at %v = %q, want %q", tc.now, got, "x"+tc.want)
		}
	}
}

// validFieldName accepts exactly RFC 9110's tchar, one byte at a time,
// and names of several.
func TestValidFieldName(t *testing.T) {
	tchar := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
	}
	for c := 0; c < 256; c++ {
		if got, want := validFieldName(string([]byte{byte(c)})), tchar(byte(c)); got != want {
			t.Errorf("validFieldName(%q) = %v, want %v", byte(c), got, want)
		}
	}
	for name, want := range map[string]bool{"Content-Type": true, "X-Request_ID.2": true, "": false, "Bad Name": false, "Set-Cookie:": false, "Caf\xc3\xa9": false} {
		if got := validFieldName(name); got != want {
			t.Errorf("validFieldName(%q) = %v, want %v", name, got, want)
		}
	}
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eioactor/engineio"
)

// listenRaw accepts connections on a loopback port and hands each to serve
// on a goroutine of its own.
func listenRaw(t *testing.T, serve func(net.Conn)) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	u, _ := url.Parse("http://" + ln.Addr().String() + "/engine.io/")
	return u
}

// readRawRequest reads one request's bytes: its head and a body of the
// length it announces.
func readRawRequest(br *bufio.Reader) (string, error) {
	var b strings.Builder
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		b.WriteString(line)
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n := 0
			for _, ch := range strings.TrimSpace(v) {
				n = n*10 + int(ch-'0')
			}
			length = n
		}
		if line == "\r\n" {
			break
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(br, body); err != nil {
		return "", err
	}
	b.Write(body)
	return b.String(), nil
}

// The lean client sends the bytes net/http's client sends with compression
// off, so that the servers parse the same requests under either client.
func TestHTTPConnSendsNetHTTPBytes(t *testing.T) {
	got := make(chan string, 8)
	u := listenRaw(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := readRawRequest(br)
			if err != nil {
				return
			}
			got <- req
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	target := "/engine.io/?EIO=4&transport=polling&sid=abc"
	body := []byte("4hello")

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var rd io.Reader
		if method == http.MethodPost {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://"+u.Host+target, rd)
		if rd != nil {
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		want := <-got

		hc := newHTTPConn(&config{url: u, timeout: 5 * time.Second})
		var b []byte
		if method == http.MethodPost {
			b = body
		}
		var out bytes.Buffer
		status, err := hc.do(method, target, b, &out)
		hc.close()
		if err != nil || status != 200 || out.String() != "ok" {
			t.Fatalf("%s: status %d, body %q, %v", method, status, out.String(), err)
		}
		if lean := <-got; lean != want {
			t.Errorf("%s: lean client sent\n%q\nnet/http sent\n%q", method, lean, want)
		}
	}
}

// The lean client reads every framing of a response body a server may use,
// keeps the connection when it may and dials again when it may not.
func TestHTTPConnReadsResponses(t *testing.T) {
	responses := []struct {
		raw, body string
		keep      bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello", "hello", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n", "abcde", true},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "ok", true},
		{"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "{}", false},
		{"HTTP/1.0 200 OK\r\n\r\nuntil the end", "until the end", false},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx", "x", true},
	}
	conns := make(chan int, len(responses))
	next := make(chan int, len(responses))
	for i := range responses {
		next <- i
	}
	close(next)
	u := listenRaw(t, func(c net.Conn) {
		conns <- 1
		br := bufio.NewReader(c)
		for i := range next {
			if _, err := readRawRequest(br); err != nil {
				t.Error(err)
				return
			}
			io.WriteString(c, responses[i].raw)
			if !responses[i].keep {
				return
			}
		}
	})
	hc := newHTTPConn(&config{url: u, timeout: 5 * time.Second})
	defer hc.close()
	dials := 1
	for i, r := range responses {
		var out bytes.Buffer
		status, err := hc.do(http.MethodGet, "/", nil, &out)
		if err != nil || out.String() != r.body {
			t.Fatalf("response %d: status %d, body %q, %v", i, status, out.String(), err)
		}
		if open := hc.nc != nil; open != r.keep {
			t.Errorf("response %d: connection kept %v, want %v", i, open, r.keep)
		}
		if !r.keep && i < len(responses)-1 {
			dials++
		}
	}
	if len(conns) != dials {
		t.Errorf("%d connections, want %d", len(conns), dials)
	}
}

func TestHTTPConnRefusesMalformedResponses(t *testing.T) {
	for _, raw := range []string{
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		u := listenRaw(t, func(c net.Conn) {
			if _, err := readRawRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, raw)
			}
		})
		hc := newHTTPConn(&config{url: u, timeout: 5 * time.Second})
		var out bytes.Buffer
		if _, err := hc.do(http.MethodGet, "/", nil, &out); !errors.Is(err, errBadResponse) {
			t.Errorf("%q: %v, want errBadResponse", raw, err)
		}
		if hc.nc != nil {
			t.Errorf("%q: connection kept after an error", raw)
		}
	}
}

// A polling echo through the lean client: text and binary messages come
// back whole, and pings on the way are answered.
func TestLeanPollingEcho(t *testing.T) {
	srv, err := engineio.NewServer(
		engineio.WithPingInterval(50*time.Millisecond),
		engineio.WithPingTimeout(time.Second),
	)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnMessage(func(s *engineio.Session, m engineio.Message) { _ = s.SendMessage(m) })
	u := serveEngine(t, srv)
	d := newPollDialer(&config{url: u, transport: "polling", mode: "echo", clients: 1, timeout: 5 * time.Second, leanHTTP: true})
	if !d.lean {
		t.Fatal("the dialer does not use the lean client")
	}
	s, err := d.dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	var st clientStats
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; st.pings < 2; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings in 5 s", st.pings)
		}
		binary := i%2 == 1
		msg := newPayloadGen(1, 64, binary).next(uint64(i))
		got, gotBinary, err := s.echo(msg, binary, &st)
		if err != nil {
			t.Fatalf("echo %d: %v", i, err)
		}
		if !bytes.Equal(got, msg) || gotBinary != binary {
			t.Fatalf("echo %d: got %q (binary %v), sent %q (binary %v)", i, got, gotBinary, msg, binary)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

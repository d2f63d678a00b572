package main

// A lean HTTP/1.1 client connection for the polling echo. net/http's client
// runs two goroutines per connection and hands every request and response
// between them and the caller through channels; under the polling echo it
// took more CPU per message than the fastest servers, so one core of load
// generator saturated first and left them partly idle. This one writes a
// request and reads its response on the caller's goroutine, one request at
// a time, with the bytes net/http's client sends (with compression off):
// the servers see the same requests either way.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// httpConn is one keep-alive connection to the server, used by one
// goroutine. It dials on first use and again after an error or a response
// that ends the connection.
type httpConn struct {
	addr    string // host:port to dial
	host    string // the Host header
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration // for each request, response included

	nc  net.Conn
	br  *bufio.Reader
	req []byte // the request being written
}

func newHTTPConn(cfg *config) *httpConn {
	addr := cfg.url.Host
	if cfg.url.Port() == "" {
		addr = net.JoinHostPort(cfg.url.Hostname(), "80")
	}
	return &httpConn{addr: addr, host: cfg.url.Host, dial: dialFunc(cfg), timeout: cfg.timeout}
}

// errBadResponse marks a response the client cannot read.
var errBadResponse = errors.New("malformed HTTP response")

// do sends one request for target (path and query) with body, if not nil,
// as text/plain, and appends the response body to out. It returns the
// response's status code.
func (c *httpConn) do(method, target string, body []byte, out *bytes.Buffer) (int, error) {
	if c.nc == nil {
		nc, err := c.dial(context.Background(), "tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.nc = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 4096)
		} else {
			c.br.Reset(nc)
		}
	}
	status, keep, err := c.roundTrip(method, target, body, out)
	if err != nil || !keep {
		c.close()
	}
	return status, err
}

func (c *httpConn) roundTrip(method, target string, body []byte, out *bytes.Buffer) (status int, keep bool, err error) {
	b := append(c.req[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nUser-Agent: Go-http-client/1.1\r\n"...)
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\nContent-Type: text/plain;charset=UTF-8\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.req = b
	if c.timeout > 0 {
		if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
			return 0, false, err
		}
	}
	if _, err := c.nc.Write(b); err != nil {
		return 0, false, err
	}
	return c.readResponse(method, out)
}

// readResponse reads a response's status line, header and body. A 1xx
// response is skipped.
func (c *httpConn) readResponse(method string, out *bytes.Buffer) (status int, keep bool, err error) {
	for {
		line, err := c.line()
		if err != nil {
			return 0, false, fmt.Errorf("status line: %w", err)
		}
		// HTTP/1.x 200 Reason
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return 0, false, fmt.Errorf("%w: status line %q", errBadResponse, clip(line))
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil || status < 100 {
			return 0, false, fmt.Errorf("%w: status line %q", errBadResponse, clip(line))
		}
		keep = line[7] == '1'
		length, chunked := -1, false
		for {
			line, err := c.line()
			if err != nil {
				return 0, false, fmt.Errorf("header: %w", err)
			}
			if len(line) == 0 {
				break
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return 0, false, fmt.Errorf("%w: header line %q", errBadResponse, clip(line))
			}
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("content-length")):
				if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
					return 0, false, fmt.Errorf("%w: Content-Length %q", errBadResponse, clip(value))
				}
			case bytes.EqualFold(name, []byte("transfer-encoding")):
				chunked = bytes.EqualFold(value, []byte("chunked"))
				if !chunked {
					return 0, false, fmt.Errorf("%w: Transfer-Encoding %q", errBadResponse, clip(value))
				}
			case bytes.EqualFold(name, []byte("connection")):
				if bytes.EqualFold(value, []byte("close")) {
					keep = false
				} else if bytes.EqualFold(value, []byte("keep-alive")) {
					keep = true
				}
			}
		}
		if status < 200 {
			continue // 100 Continue and the like: the real response follows
		}
		switch {
		case method == "HEAD" || status == 204 || status == 304:
		case chunked:
			err = c.readChunked(out)
		case length >= 0:
			_, err = io.CopyN(out, c.br, int64(length))
		default: // the body ends with the connection
			_, err = out.ReadFrom(c.br)
			keep = false
		}
		if err != nil {
			return 0, false, fmt.Errorf("body: %w", err)
		}
		return status, keep, nil
	}
}

// readChunked reads a chunked body and its trailer.
func (c *httpConn) readChunked(out *bytes.Buffer) error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 31)
		if err != nil {
			return fmt.Errorf("%w: chunk size %q", errBadResponse, clip(line))
		}
		if n == 0 {
			for { // trailer
				line, err := c.line()
				if err != nil {
					return err
				}
				if len(line) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(out, c.br, int64(n)); err != nil {
			return err
		}
		if line, err := c.line(); err != nil || len(line) != 0 {
			return fmt.Errorf("%w: no CRLF after a chunk", errBadResponse)
		}
	}
}

// line reads one line without its CRLF (or LF). It is valid until the next
// read.
func (c *httpConn) line() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func (c *httpConn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

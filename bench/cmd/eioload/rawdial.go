package main

// The WebSocket handshake of -connect-only, written and read by hand.

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// rawDialer opens WebSocket-only sessions (EIO=4) for -connect-only, which
// opens and closes sessions and sends nothing else, and for the echo of
// -ws lean (leanWSSession). It writes the upgrade
// request from a template and reads the response and the open packet from
// one pooled buffer, then checks them as gorilla's Dialer would: status
// 101, the Sec-WebSocket-Accept that the key calls for, and an open packet
// with a sid in the first frame. gorilla's Dialer, with its two 4 KB
// buffers, parsed URL, request and response per connection, kept the load
// generator's core busier than the fastest servers' (bench/README.md,
// finding 31).
type rawDialer struct {
	addr    string // host:port
	request string // the upgrade request, up to the key's value
	dialTCP func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout time.Duration
	// awaitClose: a session's close waits for the server's close frame.
	awaitClose bool
	// echo: the sessions echo messages (-ws lean), with a read buffer of
	// bufSize bytes to start with.
	echo    bool
	bufSize int
}

func newRawDialer(cfg *config) *rawDialer {
	path := cfg.url.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &rawDialer{
		addr: cfg.url.Host,
		request: "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + cfg.url.Host +
			"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ",
		dialTCP:    dialFunc(cfg),
		timeout:    cfg.timeout,
		awaitClose: cfg.closeMode == "wait",
		echo:       cfg.mode == "echo",
		bufSize:    max(4096, cfg.size+16),
	}
}

// handshakeBuffers hold a request, then its response and the open packet.
var handshakeBuffers = sync.Pool{New: func() any { return new([2048]byte) }}

// acceptGUID is RFC 6455's, appended to the key for Sec-WebSocket-Accept.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func (d *rawDialer) dial(ctx context.Context) (session, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	conn, err := d.dialTCP(ctx, "tcp", d.addr)
	if err != nil {
		return nil, withKind(errConnect, fmt.Errorf("websocket handshake: %w", err))
	}
	open, rest, err := d.handshake(conn)
	if err != nil {
		conn.Close()
		return nil, withKind(errConnect, err)
	}
	s := &rawSession{conn: conn, open: open, awaitClose: d.awaitClose}
	if d.echo {
		return newLeanWSSession(s, rest, d.bufSize, d.timeout)
	}
	return s, nil
}

// handshake upgrades conn and reads the open packet. It returns the open
// packet and a copy of what the server sent after it, if anything.
func (d *rawDialer) handshake(conn net.Conn) (openPacket, []byte, error) {
	_ = conn.SetDeadline(time.Now().Add(d.timeout))
	buf := handshakeBuffers.Get().(*[2048]byte)
	defer handshakeBuffers.Put(buf)

	var key [16]byte
	binary.LittleEndian.PutUint64(key[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	var keyText [24]byte
	base64.StdEncoding.Encode(keyText[:], key[:])
	b := append(buf[:0], d.request...)
	b = append(append(b, keyText[:]...), "\r\n\r\n"...)
	if _, err := conn.Write(b); err != nil {
		return openPacket{}, nil, fmt.Errorf("websocket handshake: %w", err)
	}

	// The response's head, then the first frame, which most servers
	// send right behind it.
	n, end := 0, -1
	for end < 0 {
		if n == len(buf) {
			return openPacket{}, nil, protocolErrorf("websocket handshake: a response head longer than %d bytes", len(buf))
		}
		m, err := conn.Read(buf[n:])
		if m == 0 && err != nil {
			return openPacket{}, nil, fmt.Errorf("websocket handshake: %w", err)
		}
		n += m
		end = bytes.Index(buf[:n], []byte("\r\n\r\n"))
	}
	head := buf[:end]
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return openPacket{}, nil, protocolErrorf("websocket handshake: %q", clip(line))
	}
	want := acceptKey(keyText[:])
	if got, ok := headerValue(head, "Sec-WebSocket-Accept"); !ok || !bytes.Equal(got, want[:]) {
		return openPacket{}, nil, protocolErrorf("websocket handshake: Sec-WebSocket-Accept %q, want %q", got, want[:])
	}

	frame := buf[end+4 : n]
	size := -1 // of the whole frame, once its header is in
	for {
		if size < 0 && len(frame) >= 2 {
			if frame[0] != 0x81 || frame[1]&0x80 != 0 {
				return openPacket{}, nil, protocolErrorf("first frame %#x %#x, expected an unmasked final text frame", frame[0], frame[1])
			}
			switch l := int(frame[1]); {
			case l < 126:
				size = 2 + l
			case l == 126 && len(frame) >= 4:
				size = 4 + int(binary.BigEndian.Uint16(frame[2:4]))
			case l == 127:
				return openPacket{}, nil, protocolErrorf("an open packet of more than 64 KB")
			}
			if size > len(buf)-(end+4) {
				return openPacket{}, nil, protocolErrorf("an open packet of %d bytes, more than the buffer holds", size)
			}
		}
		if size >= 0 && len(frame) >= size {
			break
		}
		if n == len(buf) {
			return openPacket{}, nil, protocolErrorf("an open packet that does not fit in %d bytes after the response head", len(buf)-(end+4))
		}
		m, err := conn.Read(buf[n:])
		if m == 0 && err != nil {
			return openPacket{}, nil, fmt.Errorf("reading the open packet: %w", err)
		}
		n += m
		frame = buf[end+4 : n]
	}
	hdr := 2
	if frame[1] == 126 {
		hdr = 4
	}
	open, err := parseOpen(frame[hdr:size])
	if err != nil {
		return openPacket{}, nil, err
	}
	if len(frame) > size {
		return open, bytes.Clone(frame[size:]), nil
	}
	return open, nil, nil
}

// acceptKey is the Sec-WebSocket-Accept that a server answers key with.
func acceptKey(key []byte) [28]byte {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte(acceptGUID))
	var out [28]byte
	base64.StdEncoding.Encode(out[:], h.Sum(nil))
	return out
}

// headerValue finds the value of the header name (case-insensitive) in an
// HTTP response head.
func headerValue(head []byte, name string) ([]byte, bool) {
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v), true
		}
	}
	return nil, false
}

// rawSession is a session that rawDialer opened: it can only be closed.
type rawSession struct {
	conn       net.Conn
	open       openPacket
	awaitClose bool // wait for the server's close frame before closing
}

var errRawSession = errors.New("a -connect-only session sends nothing")

func (s *rawSession) echo([]byte, bool, *clientStats) ([]byte, bool, error) {
	return nil, false, errRawSession
}

func (s *rawSession) hold(time.Time, *clientStats) error { return errRawSession }

// closeFrame is a client's close frame, status 1000, masked with a zero
// key (RFC 6455 lets the key be any value; it only has to be there).
var closeFrame = []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}

// close sends a close frame and waits for the server's before it closes
// the connection, as engine.io-client does over the ws package and as a
// browser does: the server answers the close and closes first, so no data
// reaches a socket already closed. With -close drop it closes right after
// its own frame, and the server's answer meets a closed socket (a reset).
func (s *rawSession) close() {
	_ = s.conn.SetDeadline(time.Now().Add(time.Second))
	_, err := s.conn.Write(closeFrame)
	if err == nil && s.awaitClose {
		awaitCloseFrame(s.conn)
	}
	s.conn.Close()
}

// awaitCloseFrame reads frames from conn until a close frame, the end of
// the stream or an error (the deadline's included).
func awaitCloseFrame(conn net.Conn) {
	var buf [256]byte
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		// Skip the whole frames read so far; stop at a close frame.
		i := 0
		for {
			size, ok := frameSize(buf[i:n])
			if !ok {
				break
			}
			if buf[i]&0x0f == 0x8 {
				return
			}
			if size > n-i {
				if size > len(buf) {
					return // a frame that does not fit: not a connect-only session's
				}
				break
			}
			i += size
		}
		n = copy(buf[:], buf[i:n])
		if err != nil {
			return
		}
	}
}

// frameSize is the size of the (unmasked, server's) frame at the start of
// b, header included, once its header is in b.
func frameSize(b []byte) (int, bool) {
	_, size, ok := frameHeader(b)
	return size, ok
}

// frameHeader is the length of the header of the (unmasked, server's)
// frame at the start of b, and the frame's whole size, once its header is
// in b.
func frameHeader(b []byte) (hdr, size int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch l := int(b[1] & 0x7f); {
	case l < 126:
		return 2, 2 + l, true
	case l == 126 && len(b) >= 4:
		return 4, 4 + int(binary.BigEndian.Uint16(b[2:4])), true
	case l == 127 && len(b) >= 10:
		return 10, 10 + int(binary.BigEndian.Uint64(b[2:10])&(1<<40-1)), true
	}
	return 0, 0, false
}

package main

// An Engine.IO v4 client over a WebSocket-only session (no polling handshake,
// no sid in the URL): protocol.md 1.3 and 1.5.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type wsDialer struct {
	url     string // ws://host/engine.io/?EIO=4&transport=websocket
	dialer  websocket.Dialer
	timeout time.Duration
}

func newWSDialer(cfg *config) *wsDialer {
	u := *cfg.url
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.RawQuery = "EIO=4&transport=websocket"
	bufSize := max(4096, cfg.size+16) // one frame per message, no fragmentation
	return &wsDialer{
		url: u.String(),
		dialer: websocket.Dialer{
			NetDialContext:   dialFunc(cfg),
			HandshakeTimeout: cfg.timeout,
			ReadBufferSize:   bufSize,
			WriteBufferSize:  bufSize,
			TLSClientConfig:  tlsConfig(cfg),
		},
		timeout: cfg.timeout,
	}
}

func (d *wsDialer) dial(ctx context.Context) (session, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	c, resp, err := d.dialer.DialContext(ctx, d.url, nil)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
			return nil, withKind(errConnect, fmt.Errorf("websocket handshake: HTTP %d %s", resp.StatusCode, body))
		}
		return nil, withKind(errConnect, fmt.Errorf("websocket handshake: %w", err))
	}
	w := &wsSession{conn: c, timeout: d.timeout}
	w.extendDeadlines(time.Now())
	mt, data, err := w.read()
	if err == nil && mt != websocket.TextMessage {
		err = protocolErrorf("first frame is binary, expected the open packet")
	}
	if err == nil {
		w.open, err = parseOpen(data)
	}
	if err != nil {
		c.Close()
		return nil, withKind(errConnect, err)
	}
	return w, nil
}

// wsSession is used by one goroutine only.
type wsSession struct {
	conn    *websocket.Conn
	open    openPacket
	timeout time.Duration

	// Deadlines are pushed forward only when less than half of -timeout is
	// left, so that most messages do not pay for re-arming the timers.
	readDeadline, writeDeadline time.Time

	out []byte // "4" + text payload
	in  []byte // last frame read
}

func (w *wsSession) extendDeadlines(now time.Time) {
	if w.readDeadline.Sub(now) < w.timeout/2 {
		w.readDeadline = now.Add(w.timeout)
		w.conn.SetReadDeadline(w.readDeadline)
	}
	if w.writeDeadline.Sub(now) < w.timeout/2 {
		w.writeDeadline = now.Add(w.timeout)
		w.conn.SetWriteDeadline(w.writeDeadline)
	}
}

// read reads one whole frame into w.in, reusing its memory.
func (w *wsSession) read() (int, []byte, error) {
	mt, r, err := w.conn.NextReader()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return 0, nil, withKind(errServerClose, fmt.Errorf("websocket closed by server: %w", err))
		}
		return 0, nil, err
	}
	buf := w.in[:0]
	for {
		if len(buf) == cap(buf) {
			buf = grow(buf, max(512, cap(buf)))[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	w.in = buf
	return mt, buf, nil
}

func (w *wsSession) pong(st *clientStats) error {
	st.pings++
	return w.conn.WriteMessage(websocket.TextMessage, pongPayload)
}

// control handles a text frame that is not a message. It answers pings.
func (w *wsSession) control(pkt []byte, st *clientStats) error {
	ping, err := controlPacket(pkt)
	if ping {
		return w.pong(st)
	}
	return err
}

// controlPacket tells what a WebSocket text frame that is not a message
// asks of a client: ping is set for a ping, which the caller answers; a
// noop asks nothing; a close packet or anything else is an error.
func controlPacket(pkt []byte) (ping bool, err error) {
	switch {
	case len(pkt) == 1 && pkt[0] == packetPing:
		return true, nil
	case len(pkt) == 1 && pkt[0] == packetNoop:
		return false, nil
	case len(pkt) >= 1 && pkt[0] == packetClose:
		return false, withKind(errServerClose, errors.New("server sent a close packet"))
	default:
		return false, protocolErrorf("unexpected packet %q", clip(pkt))
	}
}

func (w *wsSession) echo(data []byte, binary bool, st *clientStats) ([]byte, bool, error) {
	w.extendDeadlines(time.Now())
	var err error
	if binary {
		// v4: a binary frame is the message itself, without a type byte.
		err = w.conn.WriteMessage(websocket.BinaryMessage, data)
	} else {
		w.out = append(append(w.out[:0], packetMessage), data...)
		err = w.conn.WriteMessage(websocket.TextMessage, w.out)
	}
	if err != nil {
		return nil, false, err
	}
	for {
		mt, frame, err := w.read()
		if err != nil {
			return nil, false, err
		}
		if mt == websocket.BinaryMessage {
			return frame, true, nil
		}
		if len(frame) > 0 && frame[0] == packetMessage {
			return frame[1:], false, nil
		}
		if err := w.control(frame, st); err != nil {
			return nil, false, err
		}
	}
}

func (w *wsSession) hold(until time.Time, st *clientStats) error {
	w.conn.SetReadDeadline(until)
	for {
		mt, frame, err := w.read()
		if err != nil {
			if classify(err) == errTimeout && !time.Now().Before(until) {
				return nil
			}
			return err
		}
		if mt == websocket.BinaryMessage || (len(frame) > 0 && frame[0] == packetMessage) {
			return protocolErrorf("message %q while idle", clip(frame))
		}
		w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		if err := w.control(frame, st); err != nil {
			return err
		}
	}
}

// close sends a WebSocket close frame and drops the connection without
// waiting for the server's close frame.
func (w *wsSession) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	w.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	w.conn.Close()
}

// tlsConfig is the TLS configuration of both transports: nil (Go's
// default) unless -insecure.
func tlsConfig(cfg *config) *tls.Config {
	if !cfg.insecure {
		return nil
	}
	return &tls.Config{InsecureSkipVerify: true}
}

// dialFunc dials TCP connections for both transports. With -local-ips N it
// binds them to the source addresses 127.0.0.F .. 127.0.0.(F+N-1) in turn
// (F is -local-ip-first): each source address has its own ~28k ephemeral
// ports (net.ipv4.ip_local_port_range) for each server address. The port
// is chosen by connect, not bind (bindAddressNoPort).
func dialFunc(cfg *config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if cfg.localIPs == 0 {
		return (&net.Dialer{Timeout: cfg.timeout}).DialContext
	}
	dialers := make([]*net.Dialer, cfg.localIPs)
	for i := range dialers {
		dialers[i] = &net.Dialer{
			Timeout:   cfg.timeout,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(cfg.firstIP+i))},
			Control:   bindAddressNoPort,
		}
	}
	var next atomic.Uint64
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialers[next.Add(1)%uint64(len(dialers))].DialContext(ctx, network, addr)
	}
}

package main

// The WebSocket echo of -ws lean: frames written and read by hand, each
// echo inside one read of the socket.

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"syscall"
	"time"
)

// leanWSSession echoes over a connection that rawDialer opened. gorilla's
// client reads the socket right after it writes a message, before the
// answer can have come: every echo costs the load generator a read that
// finds nothing, then a wait in the runtime's poller, then the read. Here
// the message is written from inside a read of the socket
// (syscall.RawConn.Read), which first forgets the readiness the poller had
// recorded and then keeps every edge that comes after it: the write comes
// after that point, so the answer's edge is kept, and the session waits
// for it without reading first. The server sees the same frames as from
// gorilla's client: masked with a random key for each frame, unfragmented,
// text messages as "4" and the payload, binary as the payload.
type leanWSSession struct {
	*rawSession
	rc           syscall.RawConn
	timeout      time.Duration
	readDeadline time.Time
	stepFn       func(fd uintptr) bool // step, bound once

	buf  []byte // frames read: buf[r:w] is not handled yet
	r, w int
	msg  []byte // the fragments of a fragmented message, joined
	out  []byte // the frames to write: out[sent:]
	sent int

	// One echo's state; used by step.
	st      *clientStats
	emptied bool // the socket cannot hold the answer yet, or the last read left it empty
	waiting bool // step returned false: it runs next for readiness
	blocked bool // a write found the socket's buffer full
	done    bool // the answer (or an error) is in; the pongs before it go out first
	got     []byte
	binary  bool
	err     error
}

func newLeanWSSession(s *rawSession, rest []byte, bufSize int, timeout time.Duration) (*leanWSSession, error) {
	sc, ok := s.conn.(syscall.Conn)
	if !ok {
		s.conn.Close()
		return nil, withKind(errConnect, errors.New("-ws lean needs a TCP connection"))
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		s.conn.Close()
		return nil, withKind(errConnect, err)
	}
	l := &leanWSSession{rawSession: s, rc: rc, timeout: timeout, buf: make([]byte, max(bufSize, len(rest)))}
	l.w = copy(l.buf, rest)
	l.stepFn = l.step
	return l, nil
}

func (l *leanWSSession) echo(data []byte, binaryMsg bool, st *clientStats) ([]byte, bool, error) {
	if now := time.Now(); l.readDeadline.Sub(now) < l.timeout/2 {
		l.readDeadline = now.Add(l.timeout)
		_ = l.conn.SetReadDeadline(l.readDeadline)
	}
	if binaryMsg {
		l.out = appendClientFrame(l.out[:0], 0x2, 0, data)
	} else {
		l.out = appendClientFrame(l.out[:0], 0x1, packetMessage, data)
	}
	l.sent = 0
	l.st, l.got, l.err, l.done = st, nil, nil, false
	// After the write, the socket holds at most what came before it, which
	// the answer's edge will bring along.
	l.emptied = true
	for {
		l.waiting = false
		if err := l.rc.Read(l.stepFn); err != nil {
			return nil, false, err
		}
		if !l.blocked {
			return l.got, l.binary, l.err
		}
		// Finish the write outside the read, where it may wait; what came
		// meanwhile has lost its edge (each read starts by forgetting the
		// readiness recorded), so the next step reads before it waits.
		l.blocked = false
		_ = l.conn.SetWriteDeadline(time.Now().Add(l.timeout))
		if _, err := l.conn.Write(l.out[l.sent:]); err != nil {
			return nil, false, err
		}
		l.sent = len(l.out)
		l.emptied = false
	}
}

// step runs inside RawConn.Read: it writes what is due, handles the frames
// read, and reads; it returns false to wait for the socket to be readable.
func (l *leanWSSession) step(fd uintptr) bool {
	if l.waiting {
		l.waiting, l.emptied = false, false
	}
	for {
		for l.sent < len(l.out) {
			n, err := syscall.Write(int(fd), l.out[l.sent:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				l.blocked = true
				return true
			case err != nil:
				l.err = err
				return true
			}
			l.sent += n
		}
		if l.done {
			return true
		}
		if l.handle() {
			l.done = true
			continue // write the pongs queued before the answer
		}
		if l.sent < len(l.out) {
			continue // a pong to write
		}
		if l.emptied {
			l.waiting = true
			return false
		}
		if l.r == l.w {
			l.r, l.w = 0, 0
		} else if l.w == len(l.buf) {
			l.w = copy(l.buf, l.buf[l.r:l.w])
			l.r = 0
			if l.w == len(l.buf) {
				l.buf = append(l.buf, make([]byte, len(l.buf))...)
			}
		}
		space := len(l.buf) - l.w
		n, err := syscall.Read(int(fd), l.buf[l.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			l.waiting = true
			return false
		case err != nil:
			l.err = err
			return true
		case n == 0:
			l.err = io.ErrUnexpectedEOF
			return true
		}
		l.w += n
		l.emptied = n < space
	}
}

// handle handles the whole frames in buf[r:w], and reports true once it
// has the answer (got) or an error (err). A ping is answered by appending
// a pong to out.
func (l *leanWSSession) handle() bool {
	for l.r < l.w {
		f := l.buf[l.r:l.w]
		hdr, size, ok := frameHeader(f)
		if !ok || size > len(f) {
			if ok && size > len(l.buf) {
				l.buf = append(l.buf, make([]byte, size-len(l.buf))...)
			}
			return false
		}
		if f[1]&0x80 != 0 {
			l.err = protocolErrorf("a masked frame from the server")
			return true
		}
		payload := f[hdr:size]
		l.r += size
		fin, op := f[0]&0x80 != 0, f[0]&0x0f
		switch op {
		case 0x8:
			l.err = withKind(errServerClose, errors.New("websocket closed by server"))
			return true
		case 0x9: // a WebSocket ping
			l.out = appendClientFrame(l.out, 0xa, 0, payload)
			continue
		case 0xa:
			continue
		case 0x0:
			if l.msg == nil {
				l.err = protocolErrorf("a continuation frame with no message begun")
				return true
			}
			l.msg = append(l.msg, payload...)
		case 0x1, 0x2:
			if l.msg != nil {
				l.err = protocolErrorf("a new message inside a fragmented one")
				return true
			}
			if !fin {
				l.msg = append(make([]byte, 0, 2*len(payload)), payload...)
				l.binary = op == 0x2
			}
		default:
			l.err = protocolErrorf("a frame of opcode %#x", op)
			return true
		}
		if !fin {
			continue
		}
		if l.msg != nil {
			payload, l.msg = l.msg, nil
		} else {
			l.binary = op == 0x2
		}
		if l.binary {
			l.got = payload
			return true
		}
		if len(payload) > 0 && payload[0] == packetMessage {
			l.got = payload[1:]
			return true
		}
		ping, err := controlPacket(payload)
		if err != nil {
			l.err = err
			return true
		}
		if ping {
			l.st.pings++
			l.out = appendClientFrame(l.out, 0x1, 0, pongPayload)
		}
	}
	return false
}

func (l *leanWSSession) hold(time.Time, *clientStats) error {
	return errors.New("-ws lean only echoes")
}

// appendClientFrame appends a final frame of opcode op whose payload is
// prefix (if not 0) and data, masked with a random key as RFC 6455 asks of
// a client. The key must be random here: a zero key would leave the
// payload as it is, and the ws package (the reference server's) skips its
// unmasking then, which real clients never let it do.
func appendClientFrame(b []byte, op, prefix byte, data []byte) []byte {
	n := len(data)
	if prefix != 0 {
		n++
	}
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := rand.Uint32() | 1 // never zero
	b = binary.LittleEndian.AppendUint32(b, key)
	start := len(b)
	if prefix != 0 {
		b = append(b, prefix)
	}
	b = append(b, data...)
	maskPayload(b[start:], key)
	return b
}

// maskPayload XORs b with the mask key (its bytes in wire order are key's
// little-endian bytes), eight bytes at a time.
func maskPayload(b []byte, key uint32) {
	k8 := uint64(key) | uint64(key)<<32
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k8)
	}
	for ; i < len(b); i++ {
		b[i] ^= byte(key >> (8 * (i & 3)))
	}
}

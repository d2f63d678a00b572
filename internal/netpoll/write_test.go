//go:build linux

package netpoll

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writePair is servePair without a reader at work: the server's end is
// registered, and nothing reads through it.
func writePair(t *testing.T) (c *Conn, server, client net.Conn) {
	t.Helper()
	c, server, client, _ = servePair(t)
	return c, server, client
}

// record is one writer's numbered record: writer, number, then size bytes
// of the writer's id.
func record(writer byte, n uint32, size int) []byte {
	b := make([]byte, 5+size)
	b[0] = writer
	binary.BigEndian.PutUint32(b[1:5], n)
	for i := 5; i < len(b); i++ {
		b[i] = writer
	}
	return b
}

// Writes larger than the socket takes at once wait for the peer to read, and
// the writes of Conn.Write, of another Conn.Write and of the connection's own
// Write, from three goroutines, each arrive whole: none comes between the
// bytes of another.
func TestWriteWholeBesideOtherWrites(t *testing.T) {
	c, server, client := writePair(t)
	const size, each = 100 << 10, 40 // each record is larger than a socket buffer's share
	writers := []func([]byte) (int, error){c.Write, c.Write, server.Write}
	var wg sync.WaitGroup
	errs := make(chan error, len(writers))
	for w, write := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range uint32(each) {
				rec := record(byte('a'+w), n, size)
				if m, err := write(rec); err != nil || m != len(rec) {
					errs <- errors.Join(err, errors.New("short write"))
					return
				}
			}
		}()
	}
	next := make(map[byte]uint32)
	head := make([]byte, 5)
	body := make([]byte, size)
	_ = client.SetReadDeadline(time.Now().Add(20 * time.Second))
	for range len(writers) * each {
		if _, err := io.ReadFull(client, head); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(client, body); err != nil {
			t.Fatal(err)
		}
		w, n := head[0], binary.BigEndian.Uint32(head[1:])
		if w < 'a' || w >= 'a'+byte(len(writers)) || n != next[w] {
			t.Fatalf("record of writer %q numbered %d, want writer a-c and number %d", w, n, next[w])
		}
		if !bytes.Equal(body, bytes.Repeat([]byte{w}, size)) {
			t.Fatalf("record %d of writer %q has another's bytes in it", n, w)
		}
		next[w]++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A write to a peer that does not read, waiting for the socket to take
// more, ends at the connection's write deadline, with the error the
// connection's own Write gives.
func TestWriteDeadline(t *testing.T) {
	c, server, client := writePair(t)
	// Set once the first part has reached the peer, while Write waits for
	// the socket to take more (or is about to).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			n, err := received(client)
			if err != nil {
				return // Write has failed, and the test with it
			}
			if n > 0 {
				break
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
		_ = server.SetWriteDeadline(time.Now())
	}()
	big := make([]byte, 64<<20) // far more than the socket buffers hold
	n, err := c.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write: %d bytes, %v; want os.ErrDeadlineExceeded", n, err)
	}
	if n <= 0 || n >= len(big) {
		t.Errorf("Write wrote %d bytes; want some, not all", n)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "write" {
		t.Errorf("Write's error %#v is not a write's *net.OpError", err)
	}
}

// A socket set to blocking mode (as an os.File's Fd does to a connection's
// duplicate) still never makes Write wait in the kernel: a write to a peer
// that does not read ends at the deadline.
func TestWriteBlockingSocket(t *testing.T) {
	if !rawWrites {
		t.Skip("Conn.Write is the connection's own Write on this target, which a blocking socket makes wait in the kernel")
	}
	c, server, _ := writePair(t)
	if err := onSocket(server, func(fd int) error { return syscall.SetNonblock(fd, false) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(50*time.Millisecond, func() { _ = server.SetWriteDeadline(time.Now()) })
	defer deadline.Stop()
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, 64<<20))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write: %v; want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write waited in the kernel past its deadline")
	}
}

// Writing a closed connection, or one whose peer has reset it, fails as the
// connection's own Write does.
func TestWriteFailures(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		c, _, _ := writePair(t)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := c.Write([]byte("x"))
		var oe *net.OpError
		if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) || oe.Op != "write" {
			t.Fatalf("Write after Close: %v; want a write's net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		c, _, client := writePair(t)
		_ = client.(*net.TCPConn).SetLinger(0)
		client.Close() // a reset
		var err error
		for i := 0; i < 100 && err == nil; i++ {
			_, err = c.Write([]byte("x"))
			time.Sleep(time.Millisecond)
		}
		var oe *net.OpError
		var se *os.SyscallError
		if !errors.As(err, &oe) || oe.Op != "write" || !errors.As(err, &se) || se.Syscall != "write" {
			t.Fatalf("Write to a reset connection: %#v; want a write's *net.OpError over an *os.SyscallError", err)
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("Write to a reset connection: %v; want ECONNRESET or EPIPE", err)
		}
	})
}

// Over TLS, Write is the TLS connection's: the peer reads the bytes
// decrypted.
func TestWriteTLS(t *testing.T) {
	p := New(time.Hour)
	defer p.Close()
	server, client, _ := tlsConns(t)
	c := p.RegisterTLS(server, funcs{})
	if c == nil {
		t.Fatal("RegisterTLS returned nil for TLS over TCP")
	}
	defer c.Unregister()
	if _, err := c.Write([]byte("over tls\n")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len("over tls\n"))
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "over tls\n" {
		t.Fatalf("the client read %q, %v", got, err)
	}
}

// onSocket runs f on conn's socket, and returns the first error of the
// two.
func onSocket(conn net.Conn, f func(fd int) error) error {
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// received is how many bytes wait in conn's socket to be read (SIOCINQ).
func received(conn net.Conn) (n int, err error) {
	err = onSocket(conn, func(fd int) (err error) { n, err = unix.IoctlGetInt(fd, unix.SIOCINQ); return err })
	return n, err
}

// segmentsOut is the count of segments the kernel has sent on conn's
// socket (tcp_info's tcpi_segs_out).
func segmentsOut(t *testing.T, conn net.Conn) uint32 {
	t.Helper()
	var info *unix.TCPInfo
	if err := onSocket(conn, func(fd int) (err error) {
		info, err = unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return info.Segs_out
}

// WriteLast's bytes and the end of the stream reach the peer in one
// segment, and nothing can be written after them.
func TestWriteLast(t *testing.T) {
	if !rawWrites {
		t.Skip("WriteLast is the connection's own Write on this target")
	}
	c, server, client := writePair(t)
	// The connection is quiet: the handshake's segments are acknowledged.
	if _, err := c.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	before := segmentsOut(t, server)
	if n, err := c.WriteLast([]byte("last")); n != 4 || err != nil {
		t.Fatalf("WriteLast: %d, %v", n, err)
	}
	rest, err := io.ReadAll(client)
	if err != nil || string(rest) != "last" {
		t.Fatalf("the client read %q, %v; want \"last\" and the end", rest, err)
	}
	if sent := segmentsOut(t, server) - before; sent != 1 {
		t.Errorf("WriteLast sent %d segments, want 1: the data with the FIN", sent)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write after WriteLast: %v, want EPIPE", err)
	}
}

//go:build linux && !386

package netpoll

import (
	"io"
	"net"
	"testing"
	"time"
)

// A TCP connection serves with TCP_INQ, which tells a FIN that comes with
// the last data: the end is read at once, with no kick from the sweep.
func TestServeUsesTCPInq(t *testing.T) {
	c, server, client, step := servePair(t)
	if !inqAccepted(t, server) {
		// Serve then takes a short read as empty, as on a Unix socket
		// (TestServeUnixDataThenHangUp).
		t.Skip("this kernel refuses TCP_INQ on the connection (Linux before 4.18, or a socket kind without it)")
	}
	buf := make([]byte, 16)
	var reads []string
	*step = func() bool {
		for {
			n, err := c.Read(buf)
			switch {
			case err == ErrWouldBlock:
				return false
			case err != nil:
				reads = append(reads, err.Error())
				return true
			}
			reads = append(reads, string(buf[:n]))
		}
	}
	write(t, client, "last")
	client.Close()
	waitFor(t, "the data to arrive", func() bool { data, _ := c.Peek(); return data })
	// The FIN follows on loopback at once; a peek cannot see it behind
	// the data. Both are then in one readiness report, and the poller never
	// sweeps: without TCP_INQ's count, Serve would wait for ever.
	time.Sleep(20 * time.Millisecond)
	if serveOnce(t, c) {
		t.Fatal("Serve parked the connection")
	}
	if c.inq != 1 {
		t.Fatalf("TCP_INQ not in use (%d), though the kernel accepts it", c.inq)
	}
	if len(reads) != 2 || reads[0] != "last" || reads[1] != io.EOF.Error() {
		t.Fatalf("reads %q, want [last EOF]", reads)
	}
}

// inqAccepted reports whether the kernel accepts TCP_INQ on conn's socket.
func inqAccepted(t *testing.T, conn net.Conn) bool {
	t.Helper()
	var ok bool
	if err := onSocket(conn, func(fd int) error { ok = enableInq(fd); return nil }); err != nil {
		t.Fatal(err)
	}
	return ok
}

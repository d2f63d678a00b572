//go:build linux

package netpoll

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testCertificate returns a self-signed certificate for 127.0.0.1.
func testCertificate(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "netpoll test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// heldConn holds what is written to it while hold is set, and writes it
// all at once in flush: TLS records written one by one reach the peer in
// one segment.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  []byte
}

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *heldConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = false
	_, err := c.Conn.Write(c.buf)
	c.buf = nil
	return err
}

// tlsConns returns both ends of a loopback TLS connection, handshake done;
// the client's writes go through a heldConn.
func tlsConns(t *testing.T) (server, client *tls.Conn, held *heldConn) {
	t.Helper()
	rawServer, rawClient := tcpPair(t)
	t.Cleanup(func() { rawServer.Close() })
	held = &heldConn{Conn: rawClient}
	server = tls.Server(rawServer, &tls.Config{Certificates: []tls.Certificate{testCertificate(t)}})
	client = tls.Client(held, &tls.Config{InsecureSkipVerify: true})
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return server, client, held
}

// tlsPair returns both ends of a loopback TLS connection, handshake done:
// the server's is registered with p (RegisterTLS) and read by a
// lineReader; the client's writes go through a heldConn.
func tlsPair(t *testing.T, p *Poller) (*lineReader, *tls.Conn, *heldConn) {
	t.Helper()
	server, client, held := tlsConns(t)
	r := &lineReader{br: bufio.NewReaderSize(server, 4096), lines: make(chan string, 16), done: make(chan error, 1)}
	r.c = p.RegisterTLS(server, r)
	if r.c == nil {
		t.Fatal("RegisterTLS returned nil for TLS over TCP")
	}
	go r.run()
	return r, client, held
}

// A TLS connection parks once its reader's wait has timed out, and resumes
// when a record comes.
func TestTLSParkAndResume(t *testing.T) {
	p := New(interval)
	defer p.Close()
	r, client, _ := tlsPair(t, p)
	if p.Register(r.c.nc, funcs{}) != nil {
		t.Fatal("Register accepted a *tls.Conn")
	}
	for i, line := range []string{"a\n", "b\n", "c\n"} {
		write(t, client, line)
		expectLine(t, r, line)
		waitFor(t, "the idle connection to be parked", func() bool { return p.Parked() == 1 && p.Parks() >= uint64(i+1) })
	}
	if !r.dropped.Load() {
		t.Error("Release was not called")
	}
	if r.c.Park(false) {
		t.Fatal("Park parked a TLS connection at once")
	}
	client.Close()
	if err := expectEnd(t, r); err != io.EOF {
		t.Fatalf("reader ended with %v, want EOF", err)
	}
	if n := p.Parked() + p.Running(); n != 0 {
		t.Fatalf("%d connections left after the connection closed", n)
	}
}

// A TLS connection that was parked for an interval and resumes for a
// message does not park right after it while crypto/tls holds the next
// record, read from the socket with the first: readiness would not tell
// of it, and the line would wait for the next segment.
func TestTLSResumedParksOnlyWhenDrained(t *testing.T) {
	const slow = 300 * time.Millisecond
	p := New(slow)
	defer p.Close()
	r, client, held := tlsPair(t, p)
	waitFor(t, "parking", func() bool { return p.Parked() == 1 })
	time.Sleep(slow) // parked for an interval: quiet enough to park at once
	held.hold = true
	write(t, client, "one\n") // a record each, in one segment
	write(t, client, "two\n")
	if err := held.flush(); err != nil {
		t.Fatal(err)
	}
	expectLine(t, r, "one\n")
	expectLine(t, r, "two\n")
	start := time.Now()
	waitFor(t, "parking again", func() bool { return p.Parked() == 1 })
	if d := time.Since(start); d >= slow {
		t.Fatalf("parked again after %v, want at once (before the next sweep)", d)
	}
	write(t, client, "three\n")
	expectLine(t, r, "three\n")
}

// ParkTLS parks a TLS connection that holds nothing whole, and declines
// one that holds a record read with an earlier one: wait has it then.
func TestParkTLS(t *testing.T) {
	p := New(time.Hour) // no sweeps: only ParkTLS parks
	defer p.Close()
	server, client, held := tlsConns(t)
	resumed := make(chan struct{}, 1)
	br := bufio.NewReader(server)
	c := p.RegisterTLS(server, funcs{
		resume: func() { resumed <- struct{}{} },
		await:  func() error { _, err := br.Peek(1); return err },
	})

	held.hold = true
	write(t, client, "one\n")
	write(t, client, "two\n")
	if err := held.flush(); err != nil {
		t.Fatal(err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "one\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	// "two" is inside crypto/tls now, not in the socket.
	if parked, err := c.ParkTLS(); parked || err != nil {
		t.Fatalf("ParkTLS with a record buffered = %v, %v; want false, nil", parked, err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "two\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if parked, err := c.ParkTLS(); !parked || err != nil {
		t.Fatalf("ParkTLS with nothing buffered = %v, %v; want true, nil", parked, err)
	}
	write(t, client, "three\n")
	select {
	case <-resumed:
	case <-time.After(5 * time.Second):
		t.Fatal("the parked connection did not resume when a record came")
	}
	if line, err := br.ReadString('\n'); err != nil || line != "three\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	c.Unregister()
}

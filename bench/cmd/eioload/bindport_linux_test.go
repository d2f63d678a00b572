package main

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// With -local-ips, a dial binds its source address and leaves the port to
// connect.
func TestLocalIPDialLeavesThePortToConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := dialFunc(&config{localIPs: 1, firstIP: 2, timeout: 5 * time.Second})
	c, err := dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ip := c.LocalAddr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 2)) {
		t.Fatalf("source address %v, want 127.0.0.2", ip)
	}
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var opt int
	var oerr error
	if err := raw.Control(func(fd uintptr) {
		opt, oerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
	}); err != nil {
		t.Fatal(err)
	}
	if oerr != nil {
		t.Fatal(oerr)
	}
	if opt != 1 {
		t.Fatalf("IP_BIND_ADDRESS_NO_PORT is %d, want 1", opt)
	}
}

package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort lets connect, not bind, choose the source port of a
// socket bound to a source address (IP_BIND_ADDRESS_NO_PORT). bind with
// port 0 searches the address's ports for one that no socket holds, at a
// cost that grows with the sockets bound to it, TIME_WAIT ones included:
// back-to-back runs of 10,000 polling clients left some 24,000 of those,
// and eioload then spent its core in the kernel's bind, its dials timed
// out and the connections it had made went without their requests until
// the server's header timeout closed them. connect picks a port whose
// four-tuple is free, reusing TIME_WAIT ones on loopback
// (net.ipv4.tcp_tw_reuse).
func bindAddressNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

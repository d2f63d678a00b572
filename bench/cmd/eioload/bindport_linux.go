package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort lets connect, not bind, choose the source port of a
// socket bound to a source address (IP_BIND_ADDRESS_NO_PORT). bind with
// port 0 searches the address's ports for one no socket holds, TIME_WAIT
// ones included, and that search grows with them: after back-to-back runs
// it took eioload's whole core (bench/README.md, finding 21). connect
// picks a port whose four-tuple is free.
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

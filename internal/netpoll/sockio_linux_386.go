//go:build linux && 386

package netpoll

import "syscall"

// readSocket reads the non-blocking socket fd once. On 386 the socket
// calls go through socketcall, and the read is syscall's.
func readSocket(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}

//go:build linux && !386

package netpoll

import (
	"syscall"
	"unsafe"
)

// readSocket reads the socket fd once, without waiting (MSG_DONTWAIT,
// even if the socket was set to blocking). The call is raw, without the
// runtime's hand-over of the thread's P to the scheduler that a call
// which may block needs: this one does not.
func readSocket(fd int, p []byte) (int, error) {
	var base uintptr
	if len(p) > 0 {
		base = uintptr(unsafe.Pointer(&p[0]))
	}
	for {
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), base, uintptr(len(p)), syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// rawWrites tells whether Conn.Write writes the socket itself.
const rawWrites = true

// writeSocket writes p to the socket fd, with raw calls that do not wait
// (as readSocket reads) and raise no SIGPIPE, until all of p is written or
// the socket is full (EAGAIN) or fails: n is what was written. With more,
// TCP holds back a last segment shorter than the path allows (MSG_MORE)
// until the next write without it or the end of the stream.
func writeSocket(fd int, p []byte, more bool) (n int, err syscall.Errno) {
	flags := syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL
	if more {
		flags |= syscall.MSG_MORE
	}
	for n < len(p) {
		r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n), uintptr(flags), 0, 0)
		switch e {
		case 0:
			n += int(r)
		case syscall.EINTR:
		default:
			return n, e
		}
	}
	return n, 0
}

// shutdownWrite ends the socket fd's outgoing stream. It fails only on a
// connection already gone, which the next call on it reports.
func shutdownWrite(fd int) {
	_, _, _ = syscall.RawSyscall(syscall.SYS_SHUTDOWN, uintptr(fd), syscall.SHUT_WR, 0)
}

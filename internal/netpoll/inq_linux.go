//go:build linux && !386

package netpoll

import (
	"syscall"
	"unsafe"
)

// tcpInq is TCP_INQ, and TCP_CM_INQ, the type of the control message it
// adds to every read: the bytes the socket still holds after the read,
// and not zero once the peer's FIN has come (Linux 4.18).
const tcpInq = 36

// enableInq asks the socket fd for TCP_INQ's count with every read; it
// reports whether the kernel agreed (a TCP socket, a recent kernel).
func enableInq(fd int) bool {
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpInq, 1) == nil
}

// readSocketInq reads the socket fd once, without waiting, with TCP_INQ
// enabled (a raw call, as readSocket's): left is the count of bytes it
// still holds (not zero after the peer's FIN), or -1 if the count did not
// come.
func readSocketInq(fd int, p []byte) (n, left int, err error) {
	var oob [24]byte // at least syscall.CmsgSpace(4) on every architecture
	var iov syscall.Iovec
	iov.SetLen(len(p))
	if len(p) > 0 {
		iov.Base = &p[0]
	}
	msg := syscall.Msghdr{Iov: &iov, Control: &oob[0]}
	msg.Iovlen = 1
	msg.SetControllen(len(oob))
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), syscall.MSG_DONTWAIT)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, -1, e
		}
		n = int(r)
		break
	}
	left = -1
	if int(msg.Controllen) >= syscall.CmsgLen(4) {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if h.Level == syscall.IPPROTO_TCP && h.Type == tcpInq {
			left = int(*(*int32)(unsafe.Pointer(&oob[syscall.CmsgLen(0)])))
		}
	}
	return n, left, nil
}

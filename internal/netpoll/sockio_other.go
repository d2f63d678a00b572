//go:build !linux || 386

package netpoll

import "syscall"

// rawWrites tells whether Conn.Write writes the socket itself: not here
// (on linux/386 the socket calls go through socketcall), where it is the
// connection's own Write.
const rawWrites = false

func writeSocket(int, []byte, bool) (int, syscall.Errno) { return 0, syscall.EINVAL }

func shutdownWrite(int) {}

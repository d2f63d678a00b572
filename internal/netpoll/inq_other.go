//go:build !linux || 386

package netpoll

import "errors"

// TCP_INQ's reads are Linux's, and linux/386 has no recvmsg system call of
// its own (socketcall): reads there take a short read as the end of the
// data (see Conn.Serve).

func enableInq(int) bool { return false }

func readSocketInq(int, []byte) (int, int, error) { return 0, -1, errors.New("unsupported") }

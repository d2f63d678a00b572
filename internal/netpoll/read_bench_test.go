//go:build linux

package netpoll

import (
	"net"
	"syscall"
	"testing"
)

// The reads a server makes per message, on a loopback TCP socket: the
// read that finds nothing (EAGAIN), which Serve saves, and a 64-byte
// message taken by read or by recvmsg with TCP_INQ's count, which Serve
// uses on TCP.
//
//	go test -run - -bench SocketRead ./internal/netpoll

// rawPair returns the server's socket of a loopback TCP connection, in
// non-blocking mode, and the client's end.
func rawPair(b *testing.B) (int, net.Conn) {
	server, client := tcpPair(b)
	b.Cleanup(func() { server.Close() })
	raw, err := server.(syscall.Conn).SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var fd int
	if err := raw.Control(func(s uintptr) { fd = int(s) }); err != nil {
		b.Fatal(err)
	}
	return fd, client
}

func BenchmarkSocketReadEmpty(b *testing.B) {
	fd, _ := rawPair(b)
	buf := make([]byte, 288)
	for b.Loop() {
		if _, err := readSocket(fd, buf); err != syscall.EAGAIN {
			b.Fatal(err)
		}
	}
}

func benchmarkSocketMessage(b *testing.B, inq bool) {
	fd, client := rawPair(b)
	if inq && !enableInq(fd) {
		b.Fatal("no TCP_INQ")
	}
	// 64-byte reads of what one 32 KB write brought: a message's read
	// without its write.
	fill, buf := make([]byte, 32<<10), make([]byte, 64)
	left := 0
	for b.Loop() {
		if left == 0 {
			b.StopTimer()
			if _, err := client.Write(fill); err != nil {
				b.Fatal(err)
			}
			left = len(fill)
			b.StartTimer()
		}
		var n int
		var err error
		if inq {
			n, _, err = readSocketInq(fd, buf)
		} else {
			n, err = readSocket(fd, buf)
		}
		if err == syscall.EAGAIN {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		left -= n
	}
}

func BenchmarkSocketReadMessage(b *testing.B)       { benchmarkSocketMessage(b, false) }
func BenchmarkSocketRecvmsgInqMessage(b *testing.B) { benchmarkSocketMessage(b, true) }

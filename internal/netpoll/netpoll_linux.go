package netpoll

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// sysPoller is an epoll instance. It is itself pollable, so the poller's
// goroutine waits for it in Go's own network poller rather than holding a
// thread in epoll_wait.
type sysPoller struct {
	epfd     int
	file     *os.File
	raw      syscall.RawConn
	closing  atomic.Bool
	deadline time.Time // of file, as last set by wait
	events   [128]syscall.EpollEvent
	ids      []uint64

	collectFn func(fd uintptr) bool // collect, bound once
	werr      error                 // what collect met
}

func newSysPoller() (*sysPoller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("netpoll: epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		_ = syscall.Close(epfd)
		return nil, fmt.Errorf("netpoll: set nonblock: %w", err)
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	raw, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("netpoll: %w", err)
	}
	s := &sysPoller{epfd: epfd, file: file, raw: raw, ids: make([]uint64, 0, 128)}
	s.collectFn = s.collect
	return s, nil
}

// collect reads the ready events of the epoll instance fd into ids; it
// reports false, to wait, when there are none.
func (s *sysPoller) collect(fd uintptr) bool {
	n, err := syscall.EpollWait(int(fd), s.events[:], 0)
	if err == syscall.EINTR || n == 0 {
		return false
	}
	if err != nil {
		s.werr = err
		return true
	}
	for _, ev := range s.events[:n] {
		s.ids = append(s.ids, uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32)
	}
	return true
}

// wait returns the ids of the connections that became ready, or none at
// until or after wake. An error means the poller is closed.
func (s *sysPoller) wait(until time.Time) ([]uint64, error) {
	if !until.Equal(s.deadline) {
		_ = s.file.SetReadDeadline(until)
		s.deadline = until
	}
	if s.closing.Load() {
		return nil, nil
	}
	s.ids = s.ids[:0]
	s.werr = nil
	err := s.raw.Read(s.collectFn)
	werr := s.werr
	switch {
	case err == nil && werr == nil:
		return s.ids, nil
	case err == nil:
		return nil, fmt.Errorf("netpoll: epoll_wait: %w", werr)
	case os.IsTimeout(err):
		return nil, nil
	}
	return nil, fmt.Errorf("netpoll: wait: %w", err)
}

// wake ends the current or next wait.
func (s *sysPoller) wake() {
	s.closing.Store(true)
	_ = s.file.SetReadDeadline(pastDeadline)
}

func (s *sysPoller) close() error { return s.file.Close() }

// arm registers fd, or re-arms it, for one readable (or hang-up) event
// carrying id.
func (s *sysPoller) arm(fd int, id uint64, rearm bool) error {
	ev := syscall.EpollEvent{
		Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT&0xffffffff,
		Fd:     int32(uint32(id)),
		Pad:    int32(uint32(id >> 32)),
	}
	op := syscall.EPOLL_CTL_ADD
	if rearm {
		op = syscall.EPOLL_CTL_MOD
	}
	err := syscall.EpollCtl(s.epfd, op, fd, &ev)
	if err == syscall.EEXIST {
		// The socket was registered before, by another Conn of the same
		// connection (a kept HTTP connection that became a WebSocket):
		// a fired registration stays in the interest list until the
		// socket closes.
		err = syscall.EpollCtl(s.epfd, syscall.EPOLL_CTL_MOD, fd, &ev)
	}
	if err != nil {
		return fmt.Errorf("netpoll: epoll_ctl: %w", err)
	}
	return nil
}

// peek tells, without taking any data, whether fd has data waiting
// (data), or has hung up or failed (err; io.EOF when the peer closed).
func peek(fd int) (data bool, err error) {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false, nil
		case err != nil:
			return false, err
		case n == 0:
			return false, io.EOF
		}
		return true, nil
	}
}

// shutdownSocket ends both directions of the connection on fd, which stays
// open: the peer gets its FIN.
func shutdownSocket(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_RDWR) }

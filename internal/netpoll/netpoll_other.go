//go:build !linux

package netpoll

import (
	"errors"
	"time"
)

// sysPoller is not available here: New returns nil.
type sysPoller struct{}

func newSysPoller() (*sysPoller, error) { return nil, errors.New("netpoll: not supported") }

func (s *sysPoller) wait(time.Time) ([]uint64, error) { return nil, errors.New("unsupported") }
func (s *sysPoller) wake()                            {}
func (s *sysPoller) close() error                     { return nil }
func (s *sysPoller) arm(int, uint64, bool) error      { return errors.New("unsupported") }
func peek(int) (bool, error)                          { return false, errors.New("unsupported") }
func readSocket(int, []byte) (int, error)             { return 0, errors.New("unsupported") }
func shutdownSocket(int) error                        { return errors.New("unsupported") }

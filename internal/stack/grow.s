//go:build amd64 || arm64

#include "funcdata.h"

// func Grow()
// A frame of 8192 bytes (growFrame) that nothing writes: the function's
// prologue grows the stack when it has less room than that.
TEXT ·Grow(SB), 0, $8192-0
	NO_LOCAL_POINTERS
	RET

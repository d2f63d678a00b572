//go:build amd64 || arm64

#include "funcdata.h"

// func Grow()
// A frame of 4096 bytes (growFrame) that nothing writes: the function's
// prologue grows the stack when it has less room than that.
TEXT ·Grow(SB), 0, $4096-0
	NO_LOCAL_POINTERS
	RET

package main

import (
	"errors"
	"fmt"
	"math/bits"
	"net"
	"os"
	"time"
)

// errorKind classifies what went wrong so the report can say more than "errors: 3".
type errorKind int

const (
	errConnect     errorKind = iota // handshake failed (dial, HTTP status, bad open packet)
	errTimeout                      // no echo / response within -timeout
	errMismatch                     // echo differs from what was sent
	errProtocol                     // a packet the client did not expect
	errServerClose                  // the server sent a close packet or closed the WebSocket
	errHTTPStatus                   // a polling request answered with something other than 200
	errTransport                    // any other network error
	numErrorKinds
)

var errorKindNames = [numErrorKinds]string{
	"connect", "timeout", "mismatch", "protocol", "server_close", "http_status", "transport",
}

func (k errorKind) String() string { return errorKindNames[k] }

// kindError tags an error with its kind.
type kindError struct {
	kind errorKind
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func protocolErrorf(format string, args ...any) error {
	return &kindError{errProtocol, fmt.Errorf(format, args...)}
}

func withKind(kind errorKind, err error) error {
	var ke *kindError
	if errors.As(err, &ke) {
		return err
	}
	return &kindError{kind, err}
}

// classify finds the kind of an error returned by a client.
func classify(err error) errorKind {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimeout
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errTimeout
	}
	return errTransport
}

// errorCounts counts errors per kind and keeps the first few messages of each
// kind, so a report can show what actually happened.
type errorCounts struct {
	n       [numErrorKinds]uint64
	samples [numErrorKinds][]string
}

const samplesPerKind = 3

func (e *errorCounts) add(kind errorKind, who string, err error) {
	e.n[kind]++
	if len(e.samples[kind]) < samplesPerKind {
		e.samples[kind] = append(e.samples[kind], who+": "+err.Error())
	}
}

func (e *errorCounts) merge(o *errorCounts) {
	for k := range e.n {
		e.n[k] += o.n[k]
		for _, s := range o.samples[k] {
			if len(e.samples[k]) < samplesPerKind {
				e.samples[k] = append(e.samples[k], s)
			}
		}
	}
}

func (e *errorCounts) total() uint64 {
	var t uint64
	for _, n := range e.n {
		t += n
	}
	return t
}

// histogram records durations in nanoseconds with a relative error below
// 1/256 (log-linear buckets, 128 per power of two), in fixed memory.
type histogram struct {
	counts []uint64
	total  uint64
	sum    uint64
	max    uint64
}

const (
	histSubBits  = 7
	histSub      = 1 << histSubBits
	histMaxShift = 34 // values up to 2^42 ns (over an hour) are exact to bucket precision
	histBuckets  = histSub * (histMaxShift + 2)
)

func newHistogram() *histogram { return &histogram{counts: make([]uint64, histBuckets)} }

func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return histSub*(shift+1) + int(v>>uint(shift)) - histSub
}

// histValue is the middle of a bucket.
func histValue(idx int) uint64 {
	if idx < histSub {
		return uint64(idx)
	}
	shift := idx/histSub - 1
	mantissa := uint64(idx%histSub + histSub)
	low := mantissa << uint(shift)
	return low + (uint64(1)<<uint(shift))/2
}

func (h *histogram) record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histBucket(v)]++
	h.total++
	h.sum += v
	h.max = max(h.max, v)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the value below which a fraction q of the samples lie.
func (h *histogram) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / h.total)
}

// latencySummary is the JSON form of a histogram, in milliseconds.
type latencySummary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (h *histogram) summary() latencySummary {
	return latencySummary{
		Count: h.total,
		Mean:  round3(ms(h.mean())),
		P50:   round3(ms(h.quantile(0.50))),
		P90:   round3(ms(h.quantile(0.90))),
		P99:   round3(ms(h.quantile(0.99))),
		Max:   round3(ms(time.Duration(h.max))),
	}
}

// clientStats is owned by one client goroutine; the main goroutine merges
// them after the clients have stopped, so nothing here is shared.
type clientStats struct {
	rtt    *histogram // samples whose echo arrived inside the measured window
	echoed uint64     // echoes received over the whole run, warm-up included
	pings  uint64     // server pings answered
	late   uint64     // -rate mode: sends that could not keep the schedule
	sent   uint64     // messages sent over the whole run
	errors errorCounts
}

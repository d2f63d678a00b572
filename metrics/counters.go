package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Counters is a Recorder that keeps every measurement in memory, for tests,
// health endpoints and applications without a metrics system. Read it with
// Snapshot.
//
// The zero value is ready to use; a Counters must not be copied after its
// first use. It is safe for concurrent use. The per-packet calls
// (PacketsIn, PacketsOut, QueueChanged) and the per-session calls are
// atomic adds that never allocate; only the rare by-reason and by-code
// counts (SessionClosed, HTTPError) take a lock.
//
// Counters knows the transports "polling" and "websocket", the only ones
// the server reports; measurements for any other transport name are
// ignored, except that SessionClosed still counts the close reason.
type Counters struct {
	polling   transportCounters
	websocket transportCounters

	upgrades        atomic.Int64
	upgradeFailures atomic.Int64
	queuedPackets   atomic.Int64
	queuedBytes     atomic.Int64

	mu         sync.Mutex
	closes     map[string]int64
	httpErrors map[HTTPErrorKey]int64
}

var _ Recorder = (*Counters)(nil)

// transportCounters are the counts of one transport.
type transportCounters struct {
	sessions   atomic.Int64
	handshakes atomic.Int64
	packetsIn  atomic.Int64
	bytesIn    atomic.Int64
	packetsOut atomic.Int64
	bytesOut   atomic.Int64
}

func (c *Counters) transport(name string) *transportCounters {
	switch name {
	case "polling":
		return &c.polling
	case "websocket":
		return &c.websocket
	}
	return nil
}

// SessionOpened implements Recorder: a handshake, and one more open session.
func (c *Counters) SessionOpened(transport string) {
	if t := c.transport(transport); t != nil {
		t.handshakes.Add(1)
		t.sessions.Add(1)
	}
}

// SessionUpgraded implements Recorder: an open session moves from polling
// to WebSocket.
func (c *Counters) SessionUpgraded() {
	c.upgrades.Add(1)
	c.polling.sessions.Add(-1)
	c.websocket.sessions.Add(1)
}

// UpgradeFailed implements Recorder.
func (c *Counters) UpgradeFailed() { c.upgradeFailures.Add(1) }

// SessionClosed implements Recorder: one open session fewer on transport,
// and one more close for reason.
func (c *Counters) SessionClosed(transport, reason string) {
	if t := c.transport(transport); t != nil {
		t.sessions.Add(-1)
	}
	c.mu.Lock()
	if c.closes == nil {
		c.closes = map[string]int64{}
	}
	c.closes[reason]++
	c.mu.Unlock()
}

// HTTPError implements Recorder.
func (c *Counters) HTTPError(status, code int) {
	c.mu.Lock()
	if c.httpErrors == nil {
		c.httpErrors = map[HTTPErrorKey]int64{}
	}
	c.httpErrors[HTTPErrorKey{Status: status, Code: code}]++
	c.mu.Unlock()
}

// PacketsIn implements Recorder.
func (c *Counters) PacketsIn(transport string, packets, bytes int) {
	if t := c.transport(transport); t != nil {
		t.packetsIn.Add(int64(packets))
		t.bytesIn.Add(int64(bytes))
	}
}

// PacketsOut implements Recorder.
func (c *Counters) PacketsOut(transport string, packets, bytes int) {
	if t := c.transport(transport); t != nil {
		t.packetsOut.Add(int64(packets))
		t.bytesOut.Add(int64(bytes))
	}
}

// QueueChanged implements Recorder.
func (c *Counters) QueueChanged(packets, bytes int) {
	c.queuedPackets.Add(int64(packets))
	c.queuedBytes.Add(int64(bytes))
}

// Snapshot returns the current values. Each value is read atomically, but
// not all of them at the same instant: while the server runs, a snapshot
// may see one side of an event that touches several values (an upgrade
// counted, its session not yet moved to WebSocket).
func (c *Counters) Snapshot() Snapshot {
	s := Snapshot{
		Polling:         c.polling.snapshot(),
		WebSocket:       c.websocket.snapshot(),
		Upgrades:        c.upgrades.Load(),
		UpgradeFailures: c.upgradeFailures.Load(),
		QueuedPackets:   c.queuedPackets.Load(),
		QueuedBytes:     c.queuedBytes.Load(),
	}
	c.mu.Lock()
	s.Closes = maps.Clone(c.closes)
	s.HTTPErrors = maps.Clone(c.httpErrors)
	c.mu.Unlock()
	if s.Closes == nil {
		s.Closes = map[string]int64{}
	}
	if s.HTTPErrors == nil {
		s.HTTPErrors = map[HTTPErrorKey]int64{}
	}
	return s
}

func (t *transportCounters) snapshot() TransportSnapshot {
	return TransportSnapshot{
		Sessions:   t.sessions.Load(),
		Handshakes: t.handshakes.Load(),
		PacketsIn:  t.packetsIn.Load(),
		BytesIn:    t.bytesIn.Load(),
		PacketsOut: t.packetsOut.Load(),
		BytesOut:   t.bytesOut.Load(),
	}
}

// Snapshot is what a Counters has recorded, as plain values. Its maps are
// copies that belong to the caller, never nil.
type Snapshot struct {
	// Polling and WebSocket are the counts of each transport.
	Polling, WebSocket TransportSnapshot
	// Upgrades counts sessions that moved from polling to WebSocket;
	// UpgradeFailures counts abandoned upgrades.
	Upgrades, UpgradeFailures int64
	// Closes counts closed sessions by reason (the text of an
	// engineio.Reason, e.g. "client close").
	Closes map[string]int64
	// HTTPErrors counts error responses by HTTP status and Engine.IO error
	// code.
	HTTPErrors map[HTTPErrorKey]int64
	// QueuedPackets and QueuedBytes are what waits in outbound queues now,
	// summed over all sessions.
	QueuedPackets, QueuedBytes int64
}

// TransportSnapshot is what a Counters has recorded for one transport.
type TransportSnapshot struct {
	// Sessions is the number of sessions open on the transport now. A
	// session opened over polling and upgraded counts for WebSocket.
	Sessions int64
	// Handshakes counts sessions opened over the transport.
	Handshakes int64
	// PacketsIn and BytesIn count packets received over the transport and
	// their payload bytes; PacketsOut and BytesOut the packets handed to
	// it.
	PacketsIn, BytesIn   int64
	PacketsOut, BytesOut int64
}

// Transport returns the counts of the named transport ("polling" or
// "websocket"); the zero value for any other name.
func (s Snapshot) Transport(name string) TransportSnapshot {
	switch name {
	case "polling":
		return s.Polling
	case "websocket":
		return s.WebSocket
	}
	return TransportSnapshot{}
}

// Sessions returns the number of open sessions over all transports.
func (s Snapshot) Sessions() int64 { return s.Polling.Sessions + s.WebSocket.Sessions }

// HTTPErrorKey identifies an error response: its HTTP status and its
// Engine.IO error code (0 to 5, see the protocol's error table).
type HTTPErrorKey struct {
	Status int
	Code   int
}

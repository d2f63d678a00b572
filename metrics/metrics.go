// Package metrics defines what an Engine.IO server reports about itself,
// as a small interface that adapters implement: Prometheus (package
// metrics/prometheus), or anything else. Nothing is registered anywhere
// unless the application asks.
//
// The server calls a Recorder from many goroutines at once, on hot paths:
// implementations must be safe for concurrent use and cheap (atomic adds).
package metrics

// Recorder receives the server's measurements.
type Recorder interface {
	// SessionOpened counts a successful handshake over transport
	// ("polling" or "websocket").
	SessionOpened(transport string)
	// SessionUpgraded counts a session that moved from polling to
	// WebSocket.
	SessionUpgraded()
	// UpgradeFailed counts an upgrade that was abandoned (a bad probe, a
	// timeout, a probing WebSocket that closed).
	UpgradeFailed()
	// SessionClosed counts a session that closed on transport with reason
	// (the text of an engineio.Reason).
	SessionClosed(transport, reason string)
	// HTTPError counts an error response with its HTTP status and
	// Engine.IO error code.
	HTTPError(status, code int)
	// PacketsIn counts packets and their payload bytes received over
	// transport.
	PacketsIn(transport string, packets, bytes int)
	// PacketsOut counts packets and their payload bytes handed to
	// transport.
	PacketsOut(transport string, packets, bytes int)
	// QueueChanged adds deltas to the packets and bytes waiting in
	// outbound queues, summed over all sessions.
	QueueChanged(packets, bytes int)
}

// Nop records nothing.
type Nop struct{}

// SessionOpened does nothing.
func (Nop) SessionOpened(string) {}

// SessionUpgraded does nothing.
func (Nop) SessionUpgraded() {}

// UpgradeFailed does nothing.
func (Nop) UpgradeFailed() {}

// SessionClosed does nothing.
func (Nop) SessionClosed(string, string) {}

// HTTPError does nothing.
func (Nop) HTTPError(int, int) {}

// PacketsIn does nothing.
func (Nop) PacketsIn(string, int, int) {}

// PacketsOut does nothing.
func (Nop) PacketsOut(string, int, int) {}

// QueueChanged does nothing.
func (Nop) QueueChanged(int, int) {}

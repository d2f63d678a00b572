// Package prometheus reports an Engine.IO server's measurements as
// Prometheus metrics, with the collectors of
// github.com/prometheus/client_golang.
//
// New returns a Recorder for engineio.WithMetrics. It is a
// prometheus.Collector and registers nothing by itself: register it on the
// registry of your choice.
//
//	reg := prometheus.NewRegistry()
//	rec := eioprom.New(eioprom.Options{})
//	reg.MustRegister(rec)
//	srv, err := engineio.NewServer(engineio.WithMetrics(rec))
//
// The metrics, with the default namespace "engineio":
//
//	engineio_sessions{transport}                   gauge: open sessions
//	engineio_handshakes_total{transport}           sessions opened
//	engineio_upgrades_total                        sessions moved from polling to WebSocket
//	engineio_upgrade_failures_total                upgrades abandoned
//	engineio_closes_total{reason}                  sessions closed, by reason
//	engineio_http_errors_total{status,code}        error responses, by HTTP status and Engine.IO code
//	engineio_packets_total{direction,transport}    packets in and out
//	engineio_bytes_total{direction,transport}      payload bytes in and out
//	engineio_queued_packets                        gauge: packets waiting in outbound queues
//	engineio_queued_bytes                          gauge: payload bytes waiting in outbound queues
//
// transport is "polling" or "websocket", direction "in" or "out", reason
// the text of an engineio.Reason ("client close", "ping timeout", ...).
// A session opened over polling and upgraded counts in engineio_sessions
// for WebSocket from the upgrade on.
package prometheus

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eioactor/engineio/metrics"
)

// Options configures a Recorder. The zero value is the default.
type Options struct {
	// Namespace prefixes every metric name; empty means "engineio".
	Namespace string
	// Subsystem, when set, goes between the namespace and the name:
	// engineio_<subsystem>_sessions.
	Subsystem string
	// ConstLabels are added to every metric, e.g. {"server": "chat"} to
	// tell apart several servers in one process (each with its own
	// Recorder, on the same registry).
	ConstLabels prometheus.Labels
}

// Recorder is a metrics.Recorder that keeps Prometheus metrics. It is a
// prometheus.Collector: register it with reg.MustRegister(rec) or
// reg.Register(rec). It is safe for concurrent use.
type Recorder struct {
	sessions   *prometheus.GaugeVec
	handshakes *prometheus.CounterVec
	upgrades   prometheus.Counter
	upgradeErr prometheus.Counter
	closes     *prometheus.CounterVec
	httpErrors *prometheus.CounterVec
	packets    *prometheus.CounterVec
	bytes      *prometheus.CounterVec
	queuedPkts prometheus.Gauge
	queuedByte prometheus.Gauge

	// The children of the fixed label sets, resolved once so that the
	// per-packet calls do not hash label values.
	polling, websocket transportMetrics
}

type transportMetrics struct {
	sessions   prometheus.Gauge
	handshakes prometheus.Counter
	packetsIn  prometheus.Counter
	packetsOut prometheus.Counter
	bytesIn    prometheus.Counter
	bytesOut   prometheus.Counter
}

var (
	_ metrics.Recorder     = (*Recorder)(nil)
	_ prometheus.Collector = (*Recorder)(nil)
)

// New returns a Recorder whose metrics are described by opts. Nothing is
// registered; see Recorder.
func New(opts Options) *Recorder {
	ns := opts.Namespace
	if ns == "" {
		ns = "engineio"
	}
	counterOpts := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: ns, Subsystem: opts.Subsystem, Name: name, Help: help, ConstLabels: opts.ConstLabels}
	}
	gaugeOpts := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: ns, Subsystem: opts.Subsystem, Name: name, Help: help, ConstLabels: opts.ConstLabels}
	}
	r := &Recorder{
		sessions: prometheus.NewGaugeVec(gaugeOpts("sessions",
			"Open Engine.IO sessions, by current transport."), []string{"transport"}),
		handshakes: prometheus.NewCounterVec(counterOpts("handshakes_total",
			"Engine.IO sessions opened, by transport of the handshake."), []string{"transport"}),
		upgrades: prometheus.NewCounter(counterOpts("upgrades_total",
			"Engine.IO sessions upgraded from polling to WebSocket.")),
		upgradeErr: prometheus.NewCounter(counterOpts("upgrade_failures_total",
			"Engine.IO upgrades abandoned: a bad probe, a timeout or a probing WebSocket that closed.")),
		closes: prometheus.NewCounterVec(counterOpts("closes_total",
			"Engine.IO sessions closed, by reason."), []string{"reason"}),
		httpErrors: prometheus.NewCounterVec(counterOpts("http_errors_total",
			"Engine.IO error responses, by HTTP status and Engine.IO error code."), []string{"status", "code"}),
		packets: prometheus.NewCounterVec(counterOpts("packets_total",
			"Engine.IO packets received (in) and handed to the transport (out)."), []string{"direction", "transport"}),
		bytes: prometheus.NewCounterVec(counterOpts("bytes_total",
			"Payload bytes of Engine.IO packets received (in) and handed to the transport (out)."), []string{"direction", "transport"}),
		queuedPkts: prometheus.NewGauge(gaugeOpts("queued_packets",
			"Packets waiting in the outbound queues of all sessions.")),
		queuedByte: prometheus.NewGauge(gaugeOpts("queued_bytes",
			"Payload bytes waiting in the outbound queues of all sessions.")),
	}
	r.polling = r.resolve("polling")
	r.websocket = r.resolve("websocket")
	return r
}

// resolve creates the children of one transport, so that they are also
// exported (at zero) before anything happens on it.
func (r *Recorder) resolve(transport string) transportMetrics {
	return transportMetrics{
		sessions:   r.sessions.WithLabelValues(transport),
		handshakes: r.handshakes.WithLabelValues(transport),
		packetsIn:  r.packets.WithLabelValues("in", transport),
		packetsOut: r.packets.WithLabelValues("out", transport),
		bytesIn:    r.bytes.WithLabelValues("in", transport),
		bytesOut:   r.bytes.WithLabelValues("out", transport),
	}
}

// transport returns the resolved children of a transport; an unknown name
// (the server reports none) gets its children looked up on each call.
func (r *Recorder) transport(name string) *transportMetrics {
	switch name {
	case "polling":
		return &r.polling
	case "websocket":
		return &r.websocket
	}
	t := r.resolve(name)
	return &t
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{
		r.sessions, r.handshakes, r.upgrades, r.upgradeErr, r.closes,
		r.httpErrors, r.packets, r.bytes, r.queuedPkts, r.queuedByte,
	}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

// SessionOpened implements metrics.Recorder.
func (r *Recorder) SessionOpened(transport string) {
	t := r.transport(transport)
	t.handshakes.Inc()
	t.sessions.Inc()
}

// SessionUpgraded implements metrics.Recorder.
func (r *Recorder) SessionUpgraded() {
	r.upgrades.Inc()
	r.polling.sessions.Dec()
	r.websocket.sessions.Inc()
}

// UpgradeFailed implements metrics.Recorder.
func (r *Recorder) UpgradeFailed() { r.upgradeErr.Inc() }

// SessionClosed implements metrics.Recorder.
func (r *Recorder) SessionClosed(transport, reason string) {
	r.transport(transport).sessions.Dec()
	r.closes.WithLabelValues(reason).Inc()
}

// HTTPError implements metrics.Recorder.
func (r *Recorder) HTTPError(status, code int) {
	r.httpErrors.WithLabelValues(strconv.Itoa(status), strconv.Itoa(code)).Inc()
}

// PacketsIn implements metrics.Recorder.
func (r *Recorder) PacketsIn(transport string, packets, bytes int) {
	t := r.transport(transport)
	t.packetsIn.Add(float64(packets))
	t.bytesIn.Add(float64(bytes))
}

// PacketsOut implements metrics.Recorder.
func (r *Recorder) PacketsOut(transport string, packets, bytes int) {
	t := r.transport(transport)
	t.packetsOut.Add(float64(packets))
	t.bytesOut.Add(float64(bytes))
}

// QueueChanged implements metrics.Recorder.
func (r *Recorder) QueueChanged(packets, bytes int) {
	r.queuedPkts.Add(float64(packets))
	r.queuedByte.Add(float64(bytes))
}

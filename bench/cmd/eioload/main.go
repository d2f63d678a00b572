// Command eioload is a load generator for Engine.IO v4 echo servers.
//
// It opens -clients sessions (over WebSocket, without a polling handshake, or
// over long-polling) against any server that echoes every message back, and
// measures the connect rate, echo throughput and round-trip times. Every echo
// is compared byte for byte with what was sent. With -pid it also reads the
// server process's CPU time and resident memory from /proc.
//
// Modes:
//
//	(default)      each client sends a message and waits for its echo, in a
//	               closed loop, or -rate times a second
//	-idle          connect, then only answer the server's pings for -duration
//	-connect-only  -clients sessions in all, -concurrency at a time: open,
//	               wait for the open packet, close (over WebSocket with a
//	               handshake of its own, lighter than gorilla's Dialer; the
//	               close waits for the server's close frame unless -close drop)
//	-upgrade       -clients sessions in all, -concurrency at a time: polling
//	               handshake, a pending GET, then the upgrade to WebSocket
//	               (2probe, 3probe, wait for the GET, 5) and one echo over
//	               the WebSocket; reports the time from the start of the
//	               upgrade to that echo
//
// Exit status: 0 if everything went well, 1 if any error or echo mismatch was
// seen or a client could not connect, 2 on bad flags.
//
// Usage:
//
//	eioload -url http://127.0.0.1:3000/engine.io/ -transport websocket \
//	        -clients 200 -duration 10s -warmup 2s -size 64 [-binary] [-rate 0] \
//	        [-pid PID] [-json]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	url         *url.URL
	transport   string
	mode        string // "echo", "idle", "connect-only" or "upgrade"
	clients     int
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	timeout     time.Duration
	size        int
	binary      bool
	rate        float64
	pid         int
	jsonOut     bool
	localIPs    int  // dial from localIPs loopback addresses; 0: let the kernel choose
	firstIP     int  // the last byte of the first of them: 127.0.0.firstIP
	idleGet     bool // -idle over polling: keep a GET pending during the hold
	insecure    bool // https: accept any certificate (a self-signed test server's)
	leanHTTP    bool // the polling echo over http:// uses httpConn, not net/http's client
	leanWS      bool // the WebSocket echo over ws:// uses leanWSSession, not gorilla's client
	cpuProfile  string
	closeMode   string // "wait" for the server's close frame, or "drop" the connection after ours
}

// session is one connected Engine.IO client. Its methods are called by one
// goroutine only.
type session interface {
	// echo sends a message and returns the next message the server sends,
	// answering pings that arrive in between. The returned slice is valid
	// until the next call.
	echo(data []byte, binary bool, st *clientStats) (got []byte, gotBinary bool, err error)
	// hold answers pings until the deadline.
	hold(until time.Time, st *clientStats) error
	close()
}

type dialer interface {
	dial(ctx context.Context) (session, error)
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "eioload:", err)
		os.Exit(2)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "eioload: -cpuprofile:", err)
			os.Exit(2)
		}
	}
	res := run(cfg)
	if cfg.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	summary := os.Stdout
	if cfg.jsonOut {
		summary = os.Stderr
		line, err := json.Marshal(res)
		if err != nil {
			panic(err)
		}
		os.Stdout.Write(append(line, '\n'))
	}
	res.print(summary)
	if res.failed() {
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("eioload", flag.ContinueOnError)
	rawURL := fs.String("url", "http://127.0.0.1:3000/engine.io/", "Engine.IO endpoint (http:// or https://, with the path)")
	cfg := &config{}
	fs.StringVar(&cfg.transport, "transport", "websocket", "websocket or polling")
	fs.IntVar(&cfg.clients, "clients", 100, "number of sessions (with -connect-only: sessions in all)")
	fs.IntVar(&cfg.concurrency, "concurrency", 50, "handshakes in flight at once while connecting")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured window (echo) or holding time (-idle)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before the window (with -connect-only: unmeasured connect/close cycles)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "give up on a handshake or an echo after this long")
	fs.IntVar(&cfg.size, "size", 64, "message size in bytes")
	fs.BoolVar(&cfg.binary, "binary", false, "send binary messages instead of text")
	fs.Float64Var(&cfg.rate, "rate", 0, "messages per second per client; 0 = closed loop (next message as soon as the echo is in)")
	fs.IntVar(&cfg.pid, "pid", 0, "server process id, to report its CPU time and RSS from /proc")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print one JSON object line on stdout (the summary goes to stderr)")
	fs.IntVar(&cfg.localIPs, "local-ips", 0, "dial from N loopback source addresses, 127.0.0.2 and up, so that more than ~28k connections find a local port (loopback servers only)")
	fs.IntVar(&cfg.firstIP, "local-ip-first", 2, "with -local-ips, the last byte of the first source address; load generators run side by side each take addresses of their own")
	fs.BoolVar(&cfg.idleGet, "idle-get", true, "with -idle over polling: keep a long-poll GET pending during the hold, as a browser does; false: handshake, close the HTTP connections and stay silent until the end (the server holds only the session; pings go unanswered)")
	fs.BoolVar(&cfg.insecure, "insecure", false, "with an https:// -url: accept the server's certificate without checking it (a self-signed test server's)")
	fs.StringVar(&cfg.closeMode, "close", "wait", "with -connect-only: how a session ends: wait (send a close frame, wait for the server's, then close, as engine.io-client and browsers do) or drop (close right after sending it)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file: to see what it spends when it, not the server, is the bottleneck")
	httpClient := fs.String("http", "lean", "the polling echo's HTTP client over http://: lean (two connections per session, GETs on one and POSTs on the other, written and read by hand with the bytes net/http's client sends) or nethttp (net/http's client, as before it); the other modes and https use net/http's")
	wsClient := fs.String("ws", "gorilla", "the WebSocket echo's client over ws://: gorilla (gorilla/websocket's) or lean (frames written and read by hand, each echo waiting for its answer in the runtime's poller without first reading the socket empty); the other modes and wss use gorilla's")
	idle := fs.Bool("idle", false, "only connect and hold the sessions for -duration, answering pings")
	connectOnly := fs.Bool("connect-only", false, "open and close -clients sessions, -concurrency at a time; report sessions per second")
	upgrade := fs.Bool("upgrade", false, "open -clients polling sessions, -concurrency at a time, upgrade each to WebSocket and echo one message over it; report the upgrade time (-transport is ignored)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	u, err := url.Parse(*rawURL)
	if err != nil {
		return nil, fmt.Errorf("-url: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("-url must be http:// or https://, got %q", *rawURL)
	}
	cfg.url = u
	if cfg.insecure && u.Scheme != "https" {
		return nil, fmt.Errorf("-insecure needs an https:// -url")
	}
	if cfg.localIPs > 0 {
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
			return nil, fmt.Errorf("-local-ips needs a server on an IPv4 loopback address, got %q", u.Hostname())
		}
	}
	switch *httpClient {
	case "lean", "nethttp":
		cfg.leanHTTP = *httpClient == "lean"
	default:
		return nil, fmt.Errorf("-http must be lean or nethttp, got %q", *httpClient)
	}
	switch *wsClient {
	case "gorilla", "lean":
		cfg.leanWS = *wsClient == "lean"
	default:
		return nil, fmt.Errorf("-ws must be gorilla or lean, got %q", *wsClient)
	}
	switch {
	case *idle && *connectOnly, *idle && *upgrade, *connectOnly && *upgrade:
		return nil, fmt.Errorf("-idle, -connect-only and -upgrade exclude each other")
	case *upgrade:
		cfg.mode = "upgrade"
		cfg.transport = "polling"
	case *idle:
		cfg.mode = "idle"
	case *connectOnly:
		cfg.mode = "connect-only"
	default:
		cfg.mode = "echo"
	}
	switch {
	case cfg.closeMode != "wait" && cfg.closeMode != "drop":
		return nil, fmt.Errorf("-close must be wait or drop, got %q", cfg.closeMode)
	case cfg.transport != "websocket" && cfg.transport != "polling":
		return nil, fmt.Errorf("-transport must be websocket or polling, got %q", cfg.transport)
	case cfg.clients < 1:
		return nil, fmt.Errorf("-clients must be at least 1")
	case cfg.concurrency < 1:
		return nil, fmt.Errorf("-concurrency must be at least 1")
	case cfg.size < 1:
		return nil, fmt.Errorf("-size must be at least 1")
	case cfg.rate < 0:
		return nil, fmt.Errorf("-rate must not be negative")
	case cfg.localIPs < 0 || cfg.localIPs > 250:
		return nil, fmt.Errorf("-local-ips must be between 0 and 250")
	case cfg.localIPs > 0 && (cfg.firstIP < 2 || cfg.firstIP+cfg.localIPs-1 > 254):
		return nil, fmt.Errorf("-local-ip-first %d with -local-ips %d leaves 127.0.0.2 .. 127.0.0.254", cfg.firstIP, cfg.localIPs)
	case cfg.duration <= 0 && cfg.mode != "connect-only" && cfg.mode != "upgrade":
		return nil, fmt.Errorf("-duration must be positive")
	case cfg.warmup < 0:
		return nil, fmt.Errorf("-warmup must not be negative")
	case cfg.timeout <= 0:
		return nil, fmt.Errorf("-timeout must be positive")
	}
	return cfg, nil
}

// result is what a run reports; it is also the -json line.
type result struct {
	Mode        string  `json:"mode"`
	Transport   string  `json:"transport"`
	URL         string  `json:"url"`
	Clients     int     `json:"clients"`
	Concurrency int     `json:"concurrency"`
	Size        int     `json:"size,omitempty"`
	Binary      bool    `json:"binary,omitempty"`
	Rate        float64 `json:"rate,omitempty"`
	WarmupS     float64 `json:"warmup_s"`
	DurationS   float64 `json:"duration_s"` // -duration
	WindowS     float64 `json:"window_s"`   // between the CPU probes, as it happened

	Connect connectResult `json:"connect"`

	Messages   uint64          `json:"messages,omitempty"` // echoes inside the window
	MsgsPerSec float64         `json:"msgs_per_sec,omitempty"`
	RTT        *latencySummary `json:"rtt_ms,omitempty"`
	Pings      uint64          `json:"pings"`
	LateSends  uint64          `json:"late_sends,omitempty"`
	// Echo mode: messages sent over the whole run (warm-up included), and
	// those of them whose echo never came (a timeout, a closed session).
	Sent uint64  `json:"sent,omitempty"`
	Lost *uint64 `json:"lost,omitempty"`

	// -upgrade: from the start of the upgrade (dialling the WebSocket) to
	// the 3probe answer, and to the first echo over the upgraded
	// WebSocket; upgrades per second and per server CPU-second are in
	// Connect.
	Probe   *latencySummary `json:"probe_ms,omitempty"`
	Upgrade *latencySummary `json:"upgrade_ms,omitempty"`

	Errors       uint64            `json:"errors"`
	Mismatches   uint64            `json:"mismatches"`
	ErrorKinds   map[string]uint64 `json:"error_kinds,omitempty"`
	ErrorSamples []string          `json:"error_samples,omitempty"`

	Server  *serverResult `json:"server,omitempty"`
	Loadgen loadgenResult `json:"loadgen"`
	Machine machineResult `json:"machine"`
}

type connectResult struct {
	Attempted int            `json:"attempted"`
	Connected int            `json:"connected"`
	Seconds   float64        `json:"seconds"`
	PerSec    float64        `json:"per_sec"`
	Handshake latencySummary `json:"handshake_ms"`
	// Server CPU time spent during the connect phase, and sessions per
	// server CPU-second (with -pid).
	ServerCPUS      float64 `json:"server_cpu_s,omitempty"`
	PerServerCPUSec float64 `json:"per_server_cpu_s,omitempty"`
}

type serverResult struct {
	PID           int    `json:"pid"`
	ClkTck        uint64 `json:"clk_tck"`
	ClkTckAssumed bool   `json:"clk_tck_assumed,omitempty"`
	// CPU time over the measured window: the echo window, the -idle holding
	// time, or the -connect-only connect phase.
	CPUS          float64 `json:"cpu_s"`
	CPUUtil       float64 `json:"cpu_util"` // CPUS / window, 1.0 = one core busy
	MsgsPerCPUSec float64 `json:"msgs_per_cpu_s,omitempty"`
	// RSS before connecting, after connecting, and at the end of the window
	// (before the clients disconnect).
	RSSBeforeKB    uint64  `json:"rss_before_kb"`
	RSSConnectedKB uint64  `json:"rss_connected_kb"`
	RSSEndKB       uint64  `json:"rss_end_kb"`
	RSSPerConnKB   float64 `json:"rss_per_conn_kb"`     // (connected - before) / clients
	RSSPerConnEnd  float64 `json:"rss_per_conn_end_kb"` // (end - before) / clients
	Error          string  `json:"error,omitempty"`
}

type loadgenResult struct {
	CPUS    float64 `json:"cpu_s"`
	CPUUtil float64 `json:"cpu_util"`
}

// machineResult tells whether something else competed for the CPUs during
// the window: busy cores of the whole machine, and what is left of them once
// the server (if -pid) and this load generator are taken out.
type machineResult struct {
	BusyCores  float64 `json:"busy_cores"`
	OtherCores float64 `json:"other_cores"`
}

func (r *result) failed() bool {
	return r.Errors > 0 || r.Connect.Connected < r.Connect.Attempted || (r.Server != nil && r.Server.Error != "")
}

// probe samples the server (if -pid) and this process at one instant.
type probe struct {
	at      time.Time
	server  procSample
	err     error
	self    time.Duration
	machine uint64 // busy ticks of all CPUs
}

type prober struct {
	pid    int
	hz     uint64
	server *serverResult
}

// machine sums up the CPU use of everything between two probes.
func (p *prober) machine(a, b probe) (machineResult, loadgenResult) {
	secs := b.at.Sub(a.at).Seconds()
	self := (b.self - a.self).Seconds()
	busy := 0.0
	if a.machine > 0 && b.machine >= a.machine { // 0: /proc/stat could not be read
		busy = float64(b.machine-a.machine) / float64(p.hz) / secs
	}
	other := busy - self/secs
	if p.server != nil {
		other -= p.cpuSeconds(a, b) / secs
	}
	m := machineResult{BusyCores: round3(busy), OtherCores: round3(max(other, 0))}
	return m, loadgenResult{CPUS: round3(self), CPUUtil: round3(self / secs)}
}

func (p *prober) sample() probe {
	s := probe{at: time.Now(), self: selfCPU()}
	s.machine, _ = machineBusyTicks()
	if p.pid > 0 {
		s.server, s.err = readProc(p.pid)
		if s.err != nil && p.server.Error == "" {
			p.server.Error = s.err.Error()
		}
	}
	return s
}

func (p *prober) cpuSeconds(a, b probe) float64 {
	if a.err != nil || b.err != nil {
		return 0
	}
	return float64(b.server.cpuTicks-a.server.cpuTicks) / float64(p.hz)
}

func run(cfg *config) *result {
	res := &result{
		Mode: cfg.mode, Transport: cfg.transport, URL: cfg.url.String(),
		Clients: cfg.clients, Concurrency: cfg.concurrency,
		WarmupS: cfg.warmup.Seconds(),
	}
	if cfg.mode != "connect-only" && cfg.mode != "upgrade" {
		res.DurationS = cfg.duration.Seconds()
	}
	if cfg.mode == "echo" {
		res.Size, res.Binary, res.Rate = cfg.size, cfg.binary, cfg.rate
	}
	hz, measured := clockTicks()
	pr := &prober{pid: cfg.pid, hz: hz}
	if cfg.pid > 0 {
		pr.server = &serverResult{PID: cfg.pid, ClkTck: hz, ClkTckAssumed: !measured}
		res.Server = pr.server
	}
	var d dialer
	switch {
	case cfg.transport == "websocket" && cfg.mode == "echo" && cfg.leanWS && cfg.url.Scheme == "http":
		d = newRawDialer(cfg)
	case cfg.transport == "websocket":
		d = newWSDialer(cfg)
	default:
		d = newPollDialer(cfg)
	}
	var errs errorCounts

	if cfg.mode == "connect-only" {
		if cfg.transport == "websocket" && cfg.url.Scheme == "http" {
			d = newRawDialer(cfg)
		}
		runConnectOnly(cfg, d, pr, res, &errs)
		finish(res, &errs)
		return res
	}
	if cfg.mode == "upgrade" {
		runUpgrade(cfg, d.(*pollDialer), newWSDialer(cfg), pr, res, &errs)
		finish(res, &errs)
		return res
	}

	before := pr.sample()
	sessions, handshakes := connectAll(cfg, d, &errs)
	connected := pr.sample()
	live := make([]session, 0, len(sessions))
	for _, s := range sessions {
		if s != nil {
			live = append(live, s)
		}
	}
	res.Connect = connectSummary(cfg.clients, len(live), handshakes, before, connected, pr)
	if len(live) > 0 {
		warnAboutPings(cfg, live[0])
	}
	if pd, ok := d.(*pollDialer); ok && cfg.mode == "idle" && !cfg.idleGet {
		// Only the sessions stay: no connection, no pending request.
		pd.shared.transport.CloseIdleConnections()
	}

	stats := make([]clientStats, len(sessions))
	var wg sync.WaitGroup
	var start, end probe
	if cfg.mode == "idle" {
		until := time.Now().Add(cfg.duration)
		for i, s := range sessions {
			if s == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.hold(until, &stats[i]); err != nil {
					stats[i].errors.add(classify(err), fmt.Sprintf("client %d", i), err)
				}
			}()
		}
		start = connected
		time.Sleep(time.Until(until))
		end = pr.sample()
	} else {
		t0 := time.Now().Add(cfg.warmup)
		t1 := t0.Add(cfg.duration)
		for i, s := range sessions {
			if s == nil {
				continue
			}
			stats[i].rtt = newHistogram()
			wg.Add(1)
			go func() {
				defer wg.Done()
				runEcho(cfg, i, s, t0, t1, &stats[i])
			}()
		}
		time.Sleep(time.Until(t0))
		start = pr.sample()
		time.Sleep(time.Until(t1))
		end = pr.sample()
	}
	wg.Wait()
	closeAll(live, cfg.concurrency)

	window := end.at.Sub(start.at).Seconds()
	res.WindowS = round3(window)
	rtt := newHistogram()
	var echoed uint64
	for i := range stats {
		st := &stats[i]
		if st.rtt != nil {
			rtt.merge(st.rtt)
		}
		res.Pings += st.pings
		res.LateSends += st.late
		res.Sent += st.sent
		echoed += st.echoed
		errs.merge(&st.errors)
	}
	// Echoes are counted by their arrival in [t0, t1), CPU time between the
	// two probes, which the main goroutine may take a little late; rates are
	// per second of each.
	msgRate := float64(rtt.total) / cfg.duration.Seconds()
	if cfg.mode == "echo" {
		res.Messages = rtt.total
		res.MsgsPerSec = round1(msgRate)
		sum := rtt.summary()
		res.RTT = &sum
		lost := res.Sent - echoed
		res.Lost = &lost
	}
	res.Machine, res.Loadgen = pr.machine(start, end)
	if s := pr.server; s != nil {
		cpu := pr.cpuSeconds(start, end)
		s.CPUS = round3(cpu)
		s.CPUUtil = round3(cpu / window)
		if cfg.mode == "echo" && cpu > 0 {
			s.MsgsPerCPUSec = round1(msgRate / (cpu / window))
		}
		s.RSSBeforeKB = before.server.rssKB
		s.RSSConnectedKB = connected.server.rssKB
		s.RSSEndKB = end.server.rssKB
		n := float64(res.Connect.Connected)
		if n > 0 && s.Error == "" {
			s.RSSPerConnKB = round1((float64(s.RSSConnectedKB) - float64(s.RSSBeforeKB)) / n)
			s.RSSPerConnEnd = round1((float64(s.RSSEndKB) - float64(s.RSSBeforeKB)) / n)
		}
	}
	finish(res, &errs)
	return res
}

func finish(res *result, errs *errorCounts) {
	res.Errors = errs.total()
	res.Mismatches = errs.n[errMismatch]
	for k, n := range errs.n {
		if n > 0 {
			if res.ErrorKinds == nil {
				res.ErrorKinds = map[string]uint64{}
			}
			res.ErrorKinds[errorKind(k).String()] = n
			res.ErrorSamples = append(res.ErrorSamples, errs.samples[k]...)
		}
	}
}

// connectAll opens cfg.clients sessions, cfg.concurrency at a time. A failed
// session is nil in the result.
func connectAll(cfg *config, d dialer, errs *errorCounts) ([]session, *histogram) {
	sessions := make([]session, cfg.clients)
	var next atomic.Int64
	hists, werrs := forWorkers(cfg.concurrency, func(h *histogram, e *errorCounts) {
		for {
			i := int(next.Add(1)) - 1
			if i >= cfg.clients {
				return
			}
			t := time.Now()
			s, err := d.dial(context.Background())
			if err != nil {
				e.add(errConnect, fmt.Sprintf("client %d", i), err)
				continue
			}
			h.record(time.Since(t))
			sessions[i] = s
		}
	})
	errs.merge(werrs)
	return sessions, hists
}

// forWorkers runs fn on n goroutines, each with its own histogram and error
// counts, and merges them.
func forWorkers(n int, fn func(*histogram, *errorCounts)) (*histogram, *errorCounts) {
	hists := make([]*histogram, n)
	errs := make([]errorCounts, n)
	var wg sync.WaitGroup
	for w := range n {
		hists[w] = newHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(hists[w], &errs[w])
		}()
	}
	wg.Wait()
	h, e := newHistogram(), &errorCounts{}
	for w := range n {
		h.merge(hists[w])
		e.merge(&errs[w])
	}
	return h, e
}

// runConnectOnly opens and closes sessions: for -warmup without measuring,
// then cfg.clients of them, measured.
func runConnectOnly(cfg *config, d dialer, pr *prober, res *result, errs *errorCounts) {
	churn := func(count int64, until time.Time) (*histogram, *errorCounts) {
		var next atomic.Int64
		return forWorkers(cfg.concurrency, func(h *histogram, e *errorCounts) {
			for {
				if count > 0 {
					if next.Add(1) > count {
						return
					}
				} else if !time.Now().Before(until) {
					return
				}
				t := time.Now()
				s, err := d.dial(context.Background())
				if err != nil {
					e.add(errConnect, "connect", err)
					continue
				}
				h.record(time.Since(t))
				s.close()
			}
		})
	}
	if cfg.warmup > 0 {
		_, werrs := churn(0, time.Now().Add(cfg.warmup))
		errs.merge(werrs)
	}
	before := pr.sample()
	h, e := churn(int64(cfg.clients), time.Time{})
	after := pr.sample()
	errs.merge(e)
	res.Connect = connectSummary(cfg.clients, int(h.total), h, before, after, pr)
	window := after.at.Sub(before.at).Seconds()
	res.WindowS = round3(window)
	res.Machine, res.Loadgen = pr.machine(before, after)
	if s := pr.server; s != nil {
		s.CPUS = res.Connect.ServerCPUS
		s.CPUUtil = round3(s.CPUS / window)
		s.RSSBeforeKB = before.server.rssKB
		s.RSSConnectedKB = after.server.rssKB
		s.RSSEndKB = after.server.rssKB
	}
}

func connectSummary(attempted, connected int, h *histogram, before, after probe, pr *prober) connectResult {
	c := connectResult{Attempted: attempted, Connected: connected}
	secs := after.at.Sub(before.at).Seconds()
	c.Seconds = round3(secs)
	c.PerSec = round1(float64(h.total) / secs)
	c.Handshake = h.summary()
	if pr.server != nil {
		cpu := pr.cpuSeconds(before, after)
		c.ServerCPUS = round3(cpu)
		if cpu > 0 {
			c.PerServerCPUSec = round1(float64(h.total) / cpu)
		}
	}
	return c
}

func closeAll(sessions []session, concurrency int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(sessions) {
					return
				}
				sessions[i].close()
			}
		}()
	}
	wg.Wait()
}

// warnAboutPings says when a -rate client would sleep through a ping: a
// client only reads while it waits for an echo.
func warnAboutPings(cfg *config, s session) {
	var open openPacket
	switch s := s.(type) {
	case *wsSession:
		open = s.open
	case *pollSession:
		open = s.open
	case *leanWSSession:
		open = s.open
	}
	if cfg.mode == "echo" && cfg.rate > 0 && open.PingTimeout > 0 {
		gap := time.Duration(float64(time.Second) / cfg.rate)
		if gap > time.Duration(open.PingTimeout)*time.Millisecond/2 {
			fmt.Fprintf(os.Stderr, "eioload: warning: -rate %g leaves %v between messages; pings are answered only between sends, pingTimeout is %dms\n",
				cfg.rate, gap, open.PingTimeout)
		}
	}
	if open.MaxPayload > 0 {
		need := cfg.size + 1
		if cfg.transport == "polling" && cfg.binary {
			need = 1 + (cfg.size+2)/3*4
		}
		if need > open.MaxPayload {
			fmt.Fprintf(os.Stderr, "eioload: warning: a %d-byte message is %d bytes on the wire, above the server's maxPayload %d\n",
				cfg.size, need, open.MaxPayload)
		}
	}
}

// runEcho is one client's loop: send, wait for the echo, compare, repeat
// until t1. Only echoes that arrive in [t0, t1) are measured.
func runEcho(cfg *config, id int, s session, t0, t1 time.Time, st *clientStats) {
	gen := newPayloadGen(id, cfg.size, cfg.binary)
	var interval time.Duration
	var next time.Time
	if cfg.rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.rate)
		// Spread the clients over one interval so they do not send in bursts.
		next = time.Now().Add(time.Duration(rand.Int64N(int64(interval) + 1)))
	}
	who := func(seq uint64) string { return fmt.Sprintf("client %d message %d", id, seq) }
	for seq := uint64(0); ; seq++ {
		if interval > 0 {
			now := time.Now()
			if next.After(now) {
				if !next.Before(t1) {
					return
				}
				time.Sleep(next.Sub(now))
			} else if now.Sub(next) > interval {
				st.late++ // more than one interval behind: do not try to catch up
				next = now
			}
			next = next.Add(interval)
		}
		msg := gen.next(seq)
		sent := time.Now()
		if !sent.Before(t1) {
			return
		}
		st.sent++
		got, gotBinary, err := s.echo(msg, cfg.binary, st)
		done := time.Now()
		if err != nil {
			st.errors.add(classify(err), who(seq), err)
			return // the session's state is unknown now
		}
		st.echoed++
		if gotBinary != cfg.binary || !bytes.Equal(got, msg) {
			st.errors.add(errMismatch, who(seq), mismatch(msg, cfg.binary, got, gotBinary))
		}
		if !done.Before(t0) && done.Before(t1) {
			st.rtt.record(done.Sub(sent))
		}
	}
}

func mismatch(want []byte, wantBinary bool, got []byte, gotBinary bool) error {
	kind := func(b bool) string {
		if b {
			return "binary"
		}
		return "text"
	}
	at := 0
	for at < len(want) && at < len(got) && want[at] == got[at] {
		at++
	}
	return fmt.Errorf("echo mismatch: sent %d B %s, got %d B %s, first difference at byte %d (sent %q..., got %q...)",
		len(want), kind(wantBinary), len(got), kind(gotBinary), at,
		want[at:min(at+16, len(want))], got[at:min(at+16, len(got))])
}

// payloadGen makes each client's messages: a fixed random body per client
// with the sequence number written over its start, so that an echo of another
// message or another client's message is caught. Text messages are
// alphanumeric ASCII (no record separator, valid UTF-8); binary messages use
// every byte value.
type payloadGen struct {
	buf    []byte
	binary bool
}

func newPayloadGen(id, size int, binary bool) *payloadGen {
	rng := rand.New(rand.NewPCG(uint64(id), 0x5eed))
	g := &payloadGen{buf: make([]byte, size), binary: binary}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range g.buf {
		if binary {
			g.buf[i] = byte(rng.Uint32())
		} else {
			g.buf[i] = alnum[rng.IntN(len(alnum))]
		}
	}
	return g
}

func (g *payloadGen) next(seq uint64) []byte {
	if g.binary {
		for i := 0; i < 8 && i < len(g.buf); i++ {
			g.buf[i] = byte(seq >> (8 * i))
		}
	} else {
		const hex = "0123456789abcdef"
		for i := 0; i < 16 && i < len(g.buf); i++ {
			g.buf[i] = hex[(seq>>(4*i))&0xf]
		}
	}
	return g.buf
}

func round1(v float64) float64 { return roundTo(v, 10) }
func round3(v float64) float64 { return roundTo(v, 1000) }

func roundTo(v, scale float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*scale) / scale
}

func (r *result) print(w io.Writer) {
	var b strings.Builder
	what := r.Mode
	switch r.Mode {
	case "echo":
		kind := "text"
		if r.Binary {
			kind = "binary"
		}
		load := "closed loop"
		if r.Rate > 0 {
			load = fmt.Sprintf("%g msg/s per client (%g offered)", r.Rate, r.Rate*float64(r.Clients))
		}
		what = fmt.Sprintf("echo, %d B %s, %s", r.Size, kind, load)
	case "connect-only":
		what = fmt.Sprintf("connect-only, %d at a time", r.Concurrency)
	case "upgrade":
		what = fmt.Sprintf("upgrade to websocket, %d at a time", r.Concurrency)
	}
	fmt.Fprintf(&b, "eioload: %s %s, %d clients, %s\n", r.Transport, what, r.Clients, r.URL)
	c := r.Connect
	fmt.Fprintf(&b, "  connect     %d/%d sessions in %.3f s = %.1f sessions/s; handshake ms p50 %.3f p99 %.3f max %.3f\n",
		c.Connected, c.Attempted, c.Seconds, c.PerSec, c.Handshake.P50, c.Handshake.P99, c.Handshake.Max)
	if r.Mode == "echo" {
		fmt.Fprintf(&b, "  echo        %d msgs in the %.3f s window (after %.1f s warm-up) = %.1f msgs/s\n",
			r.Messages, r.DurationS, r.WarmupS, r.MsgsPerSec)
		fmt.Fprintf(&b, "  RTT ms      p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
			r.RTT.P50, r.RTT.P90, r.RTT.P99, r.RTT.Max, r.RTT.Mean)
		if r.Lost != nil {
			fmt.Fprintf(&b, "  sent        %d messages, %d of them lost (no echo)\n", r.Sent, *r.Lost)
		}
		if r.LateSends > 0 {
			fmt.Fprintf(&b, "  late sends  %d (could not keep the -rate schedule)\n", r.LateSends)
		}
	}
	if r.Mode == "idle" {
		fmt.Fprintf(&b, "  idle        held %.3f s\n", r.WindowS)
	}
	if r.Upgrade != nil {
		fmt.Fprintf(&b, "  upgrade ms  to 3probe p50 %.3f p99 %.3f; to the first echo over WebSocket p50 %.3f p90 %.3f p99 %.3f max %.3f\n",
			r.Probe.P50, r.Probe.P99, r.Upgrade.P50, r.Upgrade.P90, r.Upgrade.P99, r.Upgrade.Max)
	}
	fmt.Fprintf(&b, "  pings       %d answered\n", r.Pings)
	fmt.Fprintf(&b, "  errors      %d", r.Errors)
	if r.Errors > 0 {
		fmt.Fprintf(&b, " %v", r.ErrorKinds)
		for _, s := range r.ErrorSamples {
			fmt.Fprintf(&b, "\n    %s", s)
		}
	}
	b.WriteString("\n")
	if s := r.Server; s != nil {
		assumed := ""
		if s.ClkTckAssumed {
			assumed = ", assumed"
		}
		window := "window"
		switch r.Mode {
		case "connect-only", "upgrade":
			window = "connect phase"
		case "idle":
			window = "holding time"
		}
		fmt.Fprintf(&b, "  server      pid %d (CLK_TCK %d%s): CPU %.3f s over the %.3f s %s (%.0f%% of a core)",
			s.PID, s.ClkTck, assumed, s.CPUS, r.WindowS, window, 100*s.CPUUtil)
		if s.MsgsPerCPUSec > 0 {
			fmt.Fprintf(&b, ", %.0f msgs per CPU-s", s.MsgsPerCPUSec)
		}
		if c.PerServerCPUSec > 0 {
			fmt.Fprintf(&b, "\n              connect phase: CPU %.3f s, %.0f sessions per CPU-s", c.ServerCPUS, c.PerServerCPUSec)
		}
		fmt.Fprintf(&b, "\n              RSS before %.1f MB, connected %.1f MB, end %.1f MB",
			float64(s.RSSBeforeKB)/1024, float64(s.RSSConnectedKB)/1024, float64(s.RSSEndKB)/1024)
		if r.Mode != "connect-only" && r.Mode != "upgrade" {
			fmt.Fprintf(&b, "; per session %.1f KB connected, %.1f KB at the end", s.RSSPerConnKB, s.RSSPerConnEnd)
		}
		b.WriteString("\n")
		if s.Error != "" {
			fmt.Fprintf(&b, "  server      ERROR reading /proc: %s\n", s.Error)
		}
	}
	fmt.Fprintf(&b, "  load gen    CPU %.3f s (%.0f%% of a core)\n", r.Loadgen.CPUS, 100*r.Loadgen.CPUUtil)
	fmt.Fprintf(&b, "  machine     %.2f cores busy, %.2f of them by other processes\n", r.Machine.BusyCores, r.Machine.OtherCores)
	io.WriteString(w, b.String())
}

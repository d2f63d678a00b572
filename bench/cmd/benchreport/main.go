// Command benchreport turns the results file written by bench/run.sh into
// Markdown tables: the median of every figure per server, its range over
// the rounds, and the ratios of the first server to the second (and to the
// third, the bare limit, when it was run); then how the cost grows with the
// message size and with the number of idle sessions, and which of the
// performance targets are met.
//
// Each input line is one run:
//
//	{"server":"ours","scenario":"ws-text","round":1,"exit":0,"server_alive":true,"result":{...eioload -json...}}
//
// Usage: benchreport [-a ours] [-b reference] [-c bare] < results.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

type run struct {
	Server      string         `json:"server"`
	Scenario    string         `json:"scenario"`
	Round       int            `json:"round"`
	Exit        int            `json:"exit"`
	ServerAlive bool           `json:"server_alive"`
	Result      map[string]any `json:"result"`
}

// metric is one row of the table.
type metric struct {
	name   string
	path   string // dotted path into the eioload JSON
	better string // "higher" or "lower"
	format string
}

var echoMetrics = []metric{
	{"echo msgs/s", "msgs_per_sec", "higher", "%.0f"},
	{"msgs per server CPU-s", "server.msgs_per_cpu_s", "higher", "%.0f"},
	{"RTT p50 ms", "rtt_ms.p50", "lower", "%.2f"},
	{"RTT p99 ms", "rtt_ms.p99", "lower", "%.2f"},
	{"messages lost", "lost", "lower", "%.0f"},
	{"server CPU (cores)", "server.cpu_util", "", "%.2f"},
	{"load generator CPU (cores)", "loadgen.cpu_util", "", "%.2f"},
	{"other processes' CPU (cores)", "machine.other_cores", "", "%.2f"},
}

var connectMetrics = []metric{
	{"sessions/s", "connect.per_sec", "higher", "%.0f"},
	{"sessions per server CPU-s", "connect.per_server_cpu_s", "higher", "%.0f"},
	{"handshake p50 ms", "connect.handshake_ms.p50", "lower", "%.2f"},
	{"handshake p99 ms", "connect.handshake_ms.p99", "lower", "%.2f"},
	{"server CPU (cores)", "server.cpu_util", "", "%.2f"},
	{"load generator CPU (cores)", "loadgen.cpu_util", "", "%.2f"},
	{"other processes' CPU (cores)", "machine.other_cores", "", "%.2f"},
}

var idleMetrics = []metric{
	{"RSS per session KB, after connecting", "server.rss_per_conn_kb", "lower", "%.1f"},
	{"RSS per session KB, after holding", "server.rss_per_conn_end_kb", "lower", "%.1f"},
	{"RSS before connecting MB", "server.rss_before_kb", "lower", "%.1f"},
	{"RSS after holding MB", "server.rss_end_kb", "lower", "%.1f"},
	{"sessions connected", "connect.connected", "", "%.0f"},
	{"seconds to connect them all", "connect.seconds", "lower", "%.2f"},
	{"connect sessions/s", "connect.per_sec", "higher", "%.0f"},
	{"pings answered", "pings", "", "%.0f"},
	{"other processes' CPU (cores)", "machine.other_cores", "", "%.2f"},
}

var upgradeMetrics = []metric{
	{"upgrade p50 ms (start to first WS echo)", "upgrade_ms.p50", "lower", "%.2f"},
	{"upgrade p99 ms", "upgrade_ms.p99", "lower", "%.2f"},
	{"to 3probe p50 ms", "probe_ms.p50", "lower", "%.2f"},
	{"polling handshake p50 ms", "connect.handshake_ms.p50", "lower", "%.2f"},
	{"upgraded sessions/s", "connect.per_sec", "higher", "%.0f"},
	{"upgraded sessions per server CPU-s", "connect.per_server_cpu_s", "higher", "%.0f"},
	{"server CPU (cores)", "server.cpu_util", "", "%.2f"},
	{"other processes' CPU (cores)", "machine.other_cores", "", "%.2f"},
}

func main() {
	a := flag.String("a", "ours", "server in the numerator of the ratio")
	b := flag.String("b", "reference", "server in the denominator of the ratio")
	c := flag.String("c", "bare", "a second denominator (the bare limit); its columns appear when it has runs")
	flag.Parse()
	runs, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	servers := []string{*a, *b}
	for _, r := range runs {
		if *c != "" && r.Server == *c {
			servers = append(servers, *c)
			break
		}
	}
	write(os.Stdout, runs, servers)
	growth(os.Stdout, runs, servers)
	targets(os.Stdout, runs, servers)
}

func read(r io.Reader) ([]run, error) {
	var runs []run
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r run
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// lookup follows a dotted path through decoded JSON.
func lookup(v any, path string) (float64, bool) {
	for key := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return 0, false
		}
		v = m[key]
	}
	f, ok := v.(float64)
	return f, ok
}

func metricsFor(mode string) []metric {
	switch mode {
	case "connect-only":
		return connectMetrics
	case "idle":
		return idleMetrics
	case "upgrade":
		return upgradeMetrics
	default:
		return echoMetrics
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// table holds the runs of one invocation by scenario and server.
type table struct {
	scenarios []string
	byKey     map[string][]run // scenario + "\x00" + server
}

func index(runs []run) *table {
	t := &table{byKey: map[string][]run{}}
	for _, r := range runs {
		if !slices.Contains(t.scenarios, r.Scenario) {
			t.scenarios = append(t.scenarios, r.Scenario)
		}
		k := r.Scenario + "\x00" + r.Server
		t.byKey[k] = append(t.byKey[k], r)
	}
	return t
}

func (t *table) runs(scenario, server string) []run { return t.byKey[scenario+"\x00"+server] }

// median of a figure over the rounds of one scenario and server.
func (t *table) median(scenario, server, path string) (float64, bool) {
	vs, ok := values(t.runs(scenario, server), path)
	if !ok {
		return 0, false
	}
	return median(vs), true
}

func write(w io.Writer, runs []run, servers []string) {
	t := index(runs)
	a := servers[0]
	head := "| scenario | figure |"
	rule := "|---|---|"
	for _, s := range servers {
		head += " " + s + " |"
		rule += "---:|"
	}
	for _, s := range servers[1:] {
		head += fmt.Sprintf(" %s/%s |", a, s)
		rule += "---:|"
	}
	fmt.Fprintln(w, head+" better |")
	fmt.Fprintln(w, rule+"---|")
	var notes []string
	for _, sc := range t.scenarios {
		mode := ""
		for _, srv := range servers {
			for _, r := range t.runs(sc, srv) {
				if m, ok := r.Result["mode"].(string); ok && mode == "" {
					mode = m
				}
			}
		}
		for i, m := range metricsFor(mode) {
			label := ""
			if i == 0 {
				label = "**" + sc + "**"
			}
			scale := 1.0
			if strings.HasSuffix(m.path, "_kb") && strings.Contains(m.name, "MB") {
				scale = 1.0 / 1024
			}
			row := fmt.Sprintf("| %s | %s |", label, m.name)
			meds := make([]float64, len(servers))
			oks := make([]bool, len(servers))
			for k, srv := range servers {
				vs, ok := values(t.runs(sc, srv), m.path)
				if ok {
					meds[k], oks[k] = median(vs), true
				}
				row += " " + cell(vs, ok, m.format, scale) + " |"
			}
			for k := range servers[1:] {
				ratio := "" // rows without "better" are observations, not figures of merit
				if m.better != "" {
					ratio = "–"
					if oks[0] && oks[k+1] && meds[k+1] != 0 {
						ratio = fmt.Sprintf("%.2f", meds[0]/meds[k+1])
					}
				}
				row += " " + ratio + " |"
			}
			fmt.Fprintln(w, row+" "+m.better+" |")
		}
		for _, srv := range servers {
			rs := t.runs(sc, srv)
			if note := health(rs); note != "" {
				notes = append(notes, fmt.Sprintf("%s, %s: %s", sc, rs[0].Server, note))
			}
		}
	}
	fmt.Fprintln(w) // a table ends at a blank line
	fmt.Fprintln(w, "Cells: median over the rounds, with the lowest and highest value in brackets.")
	if len(notes) == 0 {
		fmt.Fprintln(w, "All runs finished with 0 errors and 0 echo mismatches.")
	} else {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Runs that did not go cleanly:")
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, "- "+n)
		}
	}
	interference(w, runs)
}

// growth prints how the cost grows: server CPU per message against the
// message size (scenarios size-N), and memory per idle WebSocket session
// against the number of sessions (scenarios idle-N).
func growth(w io.Writer, runs []run, servers []string) {
	t := index(runs)
	numbered := func(prefix string) []string {
		var scs []string
		for _, sc := range t.scenarios {
			if n, ok := strings.CutPrefix(sc, prefix); ok && n != "" && strings.Trim(n, "0123456789") == "" {
				scs = append(scs, sc)
			}
		}
		slices.SortStableFunc(scs, func(x, y string) int { return atoi(x[len(prefix):]) - atoi(y[len(prefix):]) })
		return scs
	}
	header := func(title string, cols ...string) {
		fmt.Fprintln(w)
		fmt.Fprintln(w, title)
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| "+strings.Join(cols, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---:|", len(cols)))
	}
	a := servers[0]
	if sizes := numbered("size-"); len(sizes) > 0 {
		cols := []string{"message size"}
		for _, s := range servers {
			cols = append(cols, s+" µs CPU/msg")
		}
		for _, s := range servers[1:] {
			cols = append(cols, fmt.Sprintf("%s/%s msgs per CPU-s", a, s))
		}
		for _, s := range servers {
			cols = append(cols, s+" MB/s per CPU-s")
		}
		header("How server CPU per echoed message grows with the message size (WebSocket echo; median msgs per server CPU-s, inverted):", cols...)
		first := map[string]float64{}
		last := map[string]float64{}
		firstN, lastN := 0, 0
		for i, sc := range sizes {
			n := atoi(sc[len("size-"):])
			row := []string{sizeName(n)}
			per := make([]float64, len(servers))
			for k, srv := range servers {
				v, ok := t.median(sc, srv, "server.msgs_per_cpu_s")
				if !ok || v == 0 {
					row = append(row, "–")
					continue
				}
				per[k] = v
				us := 1e6 / v
				row = append(row, fmt.Sprintf("%.1f", us))
				if i == 0 {
					first[srv] = us
				}
				last[srv] = us
			}
			for k := range servers[1:] {
				if per[0] > 0 && per[k+1] > 0 {
					row = append(row, fmt.Sprintf("%.2f", per[0]/per[k+1]))
				} else {
					row = append(row, "–")
				}
			}
			for k := range servers {
				if per[k] > 0 {
					row = append(row, fmt.Sprintf("%.0f", per[k]*float64(n)/1e6))
				} else {
					row = append(row, "–")
				}
			}
			if i == 0 {
				firstN = n
			}
			lastN = n
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
		if lastN > firstN {
			fmt.Fprintln(w)
			var parts []string
			for _, srv := range servers {
				if f, ok := first[srv]; ok {
					if l, ok := last[srv]; ok {
						parts = append(parts, fmt.Sprintf("%s %.2f µs", srv, (l-f)/(float64(lastN-firstN)/1024)))
					}
				}
			}
			fmt.Fprintf(w, "Marginal server CPU per extra KB of message (%s to %s): %s.\n", sizeName(firstN), sizeName(lastN), strings.Join(parts, ", "))
		}
	}
	if idles := numbered("idle-"); len(idles) > 0 {
		cols := []string{"idle WebSocket sessions"}
		for _, s := range servers {
			cols = append(cols, s+" KB/session")
		}
		for _, s := range servers {
			cols = append(cols, s+" RSS MB")
		}
		for _, s := range servers {
			cols = append(cols, s+" s to connect")
		}
		header("How memory grows with the number of idle WebSocket sessions (RSS after the hold, minus the fresh process's, per session):", cols...)
		for _, sc := range idles {
			row := []string{sc[len("idle-"):]}
			for _, path := range []string{"server.rss_per_conn_end_kb", "server.rss_end_kb", "connect.seconds"} {
				for _, srv := range servers {
					v, ok := t.median(sc, srv, path)
					conn, _ := t.median(sc, srv, "connect.connected")
					switch {
					case !ok:
						row = append(row, "–")
					case path == "server.rss_end_kb":
						row = append(row, fmt.Sprintf("%.0f", v/1024))
					case path == "connect.seconds":
						row = append(row, fmt.Sprintf("%.1f", v))
					default:
						cell := fmt.Sprintf("%.1f", v)
						if want := float64(atoi(sc[len("idle-"):])); conn < want {
							cell += fmt.Sprintf(" (only %.0f connected)", conn)
						}
						row = append(row, cell)
					}
				}
			}
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
	}
}

func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return n
		}
		n = 10*n + int(c-'0')
	}
	return n
}

// targets compares the medians of servers[0] with the goals of the
// performance issue, which are set against the servers named reference and
// bare whatever the table compares with (a base revision, say): a goal
// whose server did not run is "not run".
func targets(w io.Writer, runs []run, servers []string) {
	t := index(runs)
	a, ref, bare := servers[0], "reference", "bare"
	type row struct{ goal, measured, verdict string }
	var rows []row
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	ratio := func(goal, sc, other, path string, want float64) {
		if other == "" {
			return
		}
		x, okA := t.median(sc, a, path)
		y, okB := t.median(sc, other, path)
		if !okA || !okB || y == 0 {
			rows = append(rows, row{goal, "not run", "–"})
			return
		}
		rows = append(rows, row{goal, fmt.Sprintf("%.2f (%.0f vs %.0f)", x/y, x, y), verdict(x/y >= want)})
	}
	ratio("ws-text 64 B: msgs per server CPU-s ≥ 1.6 × reference", "ws-text", ref, "server.msgs_per_cpu_s", 1.6)
	ratio("ws-text 64 B: msgs per server CPU-s ≥ 1.0 × bare", "ws-text", bare, "server.msgs_per_cpu_s", 1.0)
	ratio("ws-binary 1 KB: msgs per server CPU-s ≥ 1.4 × reference", "ws-binary", ref, "server.msgs_per_cpu_s", 1.4)
	ratio("polling 64 B: msgs per server CPU-s ≥ 1.3 × reference", "polling", ref, "server.msgs_per_cpu_s", 1.3)
	ratio("WebSocket handshakes/s ≥ 3 × reference", "connect", ref, "connect.per_sec", 3)
	ratio("(the same per server CPU-s)", "connect", ref, "connect.per_server_cpu_s", 3)
	upper := func(goal, sc, path string, limit float64, unit string) {
		v, ok := t.median(sc, a, path)
		if !ok {
			rows = append(rows, row{goal, "not run", "–"})
			return
		}
		m := fmt.Sprintf("%.2f %s", v, unit)
		if r, ok := t.median(sc, ref, path); ok {
			m += fmt.Sprintf(" (reference %.2f)", r)
		}
		if bare != "" {
			if b, ok := t.median(sc, bare, path); ok {
				m += fmt.Sprintf(" (bare %.2f)", b)
			}
		}
		rows = append(rows, row{goal, m, verdict(v <= limit)})
	}
	upper("upgrade polling → WebSocket p50 ≤ 5 ms", "upgrade", "upgrade_ms.p50", 5, "ms")
	upper("idle WebSocket session at 10,000 sessions ≤ 9 KB RSS after the hold", "idle-10000", "server.rss_per_conn_end_kb", 9, "KB")
	upper("idle polling session (GET pending) ≤ 4 KB RSS", "idle-polling", "server.rss_per_conn_end_kb", 4, "KB")
	upper("idle polling session (no request pending) ≤ 4 KB RSS", "idle-polling-state", "server.rss_per_conn_end_kb", 4, "KB")
	if rs := t.runs("idle-100000", a); len(rs) > 0 {
		conn, _ := t.median("idle-100000", a, "connect.connected")
		errs, _ := t.median("idle-100000", a, "errors")
		pings, _ := t.median("idle-100000", a, "pings")
		secs, _ := t.median("idle-100000", a, "connect.seconds")
		rss, _ := t.median("idle-100000", a, "server.rss_end_kb")
		rows = append(rows, row{"100,000 idle WebSocket sessions stay connected and answer heartbeats",
			fmt.Sprintf("%.0f connected in %.1f s, %.0f errors, %.0f pings answered, RSS %.0f MB", conn, secs, errs, pings, rss/1024),
			verdict(conn >= 100000 && errs == 0 && pings >= conn)})
	} else {
		rows = append(rows, row{"100,000 idle WebSocket sessions stay connected and answer heartbeats", "not run", "–"})
	}
	if _, ok := t.median("rate", a, "rtt_ms.p99"); ok {
		p99, _ := t.median("rate", a, "rtt_ms.p99")
		rp99, okR := t.median("rate", ref, "rtt_ms.p99")
		lost := 0.0
		for _, r := range t.runs("rate", a) {
			l, _ := lookup(r.Result, "lost")
			e, _ := lookup(r.Result, "errors")
			lost += l + e
		}
		m := fmt.Sprintf("p99 %.2f ms vs reference %.2f ms; %.0f lost or failed over all rounds", p99, rp99, lost)
		rows = append(rows, row{"rate: p99 RTT ≤ reference, no message lost", m, verdict(okR && p99 <= rp99 && lost == 0)})
	} else {
		rows = append(rows, row{"rate: p99 RTT ≤ reference, no message lost", "not run", "–"})
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Targets of the performance issue (%s, medians):\n\n", a)
	fmt.Fprintln(w, "| target | measured | verdict |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r.goal, r.measured, r.verdict)
	}
}

func values(rs []run, path string) ([]float64, bool) {
	var vs []float64
	for _, r := range rs {
		if v, ok := lookup(r.Result, path); ok {
			vs = append(vs, v)
		}
	}
	return vs, len(vs) > 0
}

func cell(vs []float64, ok bool, format string, scale float64) string {
	if !ok {
		return "–"
	}
	med := fmt.Sprintf(format, median(vs)*scale)
	if len(vs) == 1 {
		return med
	}
	return fmt.Sprintf("%s ("+format+"–"+format+")", med, slices.Min(vs)*scale, slices.Max(vs)*scale)
}

// health says what went wrong in a set of runs, or "" if nothing did.
func health(rs []run) string {
	if len(rs) == 0 {
		return ""
	}
	var parts []string
	var errs, mism float64
	for _, r := range rs {
		if r.Result == nil {
			parts = append(parts, fmt.Sprintf("round %d produced no result (exit %d)", r.Round, r.Exit))
			continue
		}
		e, _ := lookup(r.Result, "errors")
		m, _ := lookup(r.Result, "mismatches")
		errs += e
		mism += m
		if kinds, ok := r.Result["error_kinds"].(map[string]any); ok && len(kinds) > 0 {
			parts = append(parts, fmt.Sprintf("round %d errors %v", r.Round, kinds))
		}
		if c, _ := lookup(r.Result, "connect.connected"); c < mustLookup(r.Result, "connect.attempted") {
			parts = append(parts, fmt.Sprintf("round %d connected %.0f of %.0f", r.Round, c, mustLookup(r.Result, "connect.attempted")))
		}
		if !r.ServerAlive {
			parts = append(parts, fmt.Sprintf("round %d: the server process had exited by the end of the run", r.Round))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f errors, %.0f mismatches; ", errs, mism) + strings.Join(parts, "; ")
}

func mustLookup(v any, path string) float64 {
	f, _ := lookup(v, path)
	return f
}

// interference summarises how much CPU other processes took during the
// measured windows, and how busy the load generator was.
func interference(w io.Writer, runs []run) {
	var other, loadgen []float64
	for _, r := range runs {
		if v, ok := lookup(r.Result, "machine.other_cores"); ok {
			other = append(other, v)
		}
		if v, ok := lookup(r.Result, "loadgen.cpu_util"); ok {
			loadgen = append(loadgen, v)
		}
	}
	if len(other) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Other processes on the machine used %.2f cores (median; %.2f–%.2f) during the measured windows; the load generator used %.2f cores (median; at most %.2f).\n",
		median(other), slices.Min(other), slices.Max(other), median(loadgen), slices.Max(loadgen))
}

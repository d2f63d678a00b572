// Command benchreport turns the results file written by bench/run.sh into a
// Markdown table: the median of every figure per server, its range over the
// rounds, and the ratio of the first server to the second.
//
// Each input line is one run:
//
//	{"server":"ours","scenario":"ws-text","round":1,"exit":0,"server_alive":true,"result":{...eioload -json...}}
//
// Usage: benchreport [-a ours] [-b reference] < results.jsonl
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
	{"connect sessions/s", "connect.per_sec", "higher", "%.0f"},
	{"other processes' CPU (cores)", "machine.other_cores", "", "%.2f"},
}

func main() {
	a := flag.String("a", "ours", "server in the numerator of the ratio")
	b := flag.String("b", "reference", "server in the denominator of the ratio")
	flag.Parse()
	runs, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	write(os.Stdout, runs, *a, *b)
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

func write(w io.Writer, runs []run, a, b string) {
	var scenarios []string
	byKey := map[string][]run{} // scenario + "\x00" + server
	for _, r := range runs {
		if !slices.Contains(scenarios, r.Scenario) {
			scenarios = append(scenarios, r.Scenario)
		}
		k := r.Scenario + "\x00" + r.Server
		byKey[k] = append(byKey[k], r)
	}

	fmt.Fprintf(w, "| scenario | figure | %s | %s | %s/%s | better |\n", a, b, a, b)
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|")
	var notes []string
	for _, sc := range scenarios {
		ra, rb := byKey[sc+"\x00"+a], byKey[sc+"\x00"+b]
		mode := ""
		for _, r := range append(slices.Clone(ra), rb...) {
			if m, ok := r.Result["mode"].(string); ok {
				mode = m
				break
			}
		}
		for i, m := range metricsFor(mode) {
			label := ""
			if i == 0 {
				label = "**" + sc + "**"
			}
			va, okA := values(ra, m.path)
			vb, okB := values(rb, m.path)
			scale := 1.0
			if strings.HasSuffix(m.path, "_kb") && strings.Contains(m.name, "MB") {
				scale = 1.0 / 1024
			}
			ratio := "" // rows without "better" are observations, not figures of merit
			if m.better != "" {
				ratio = "–"
				if okA && okB && median(vb) != 0 {
					ratio = fmt.Sprintf("%.2f", median(va)/median(vb))
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n",
				label, m.name, cell(va, okA, m.format, scale), cell(vb, okB, m.format, scale), ratio, m.better)
		}
		for _, rs := range [][]run{ra, rb} {
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

// Command spreadsum sums the eioload -json results of the load generators
// bench/spread.sh runs side by side, one per server process, into one line
// per run; with -table it turns those lines into a Markdown table of
// medians per server.
//
//	eioload -json ... (one line per process) | spreadsum -server ours -round 1 -sessions 100000 -hold 30s -ping-interval 25000 -wall 71.3
//	spreadsum -table < results.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"
)

// loadResult is the part of an eioload -json line that is summed.
type loadResult struct {
	Connect struct {
		Attempted int     `json:"attempted"`
		Connected int     `json:"connected"`
		Seconds   float64 `json:"seconds"`
	} `json:"connect"`
	Pings  uint64 `json:"pings"`
	Errors uint64 `json:"errors"`
	Server *struct {
		CPUS           float64 `json:"cpu_s"`
		RSSBeforeKB    uint64  `json:"rss_before_kb"`
		RSSConnectedKB uint64  `json:"rss_connected_kb"`
		RSSEndKB       uint64  `json:"rss_end_kb"`
		Error          string  `json:"error"`
	} `json:"server"`
	ErrorSamples []string `json:"error_samples"`
}

// spreadRun is one server's run over all its processes: the line this
// command writes, and -table reads.
type spreadRun struct {
	Server    string `json:"server"`
	Round     int    `json:"round"`
	Procs     int    `json:"procs"`
	Sessions  int    `json:"sessions"`
	Attempted int    `json:"attempted"`
	Connected int    `json:"connected"`
	Errors    uint64 `json:"errors"`
	// Pings answered, and the least every session should have answered:
	// one per full ping interval of the hold.
	Pings         uint64 `json:"pings"`
	PingsExpected uint64 `json:"pings_expected"`
	// The slowest process's connect phase: the processes start together,
	// so this is the time to establish every session.
	ConnectS float64 `json:"connect_s"`
	WallS    float64 `json:"wall_s"`
	// Server RSS summed over the processes, and per session: after
	// connecting and at the end of the hold, both less the processes' RSS
	// before connecting; per session over the processes whose RSS was read
	// (MissingProcesses counts the others).
	RSSBeforeMB      float64  `json:"rss_before_mb"`
	RSSConnectedMB   float64  `json:"rss_connected_mb"`
	RSSEndMB         float64  `json:"rss_end_mb"`
	PerSessionKB     float64  `json:"per_session_kb"`
	PerSessionEndKB  float64  `json:"per_session_end_kb"`
	HoldCPUS         float64  `json:"hold_cpu_s"` // server CPU over the hold, summed
	ErrorSamples     []string `json:"error_samples,omitempty"`
	MissingProcesses int      `json:"missing_processes,omitempty"`
}

func main() {
	table := flag.Bool("table", false, "read spreadsum lines and print a Markdown table")
	server := flag.String("server", "", "server name")
	round := flag.Int("round", 1, "round")
	sessions := flag.Int("sessions", 0, "sessions asked for in all")
	hold := flag.Duration("hold", 30*time.Second, "holding time of the run")
	interval := flag.Int("ping-interval", 25000, "the servers' ping interval in milliseconds")
	wall := flag.Float64("wall", 0, "seconds from starting the load generators to their end")
	flag.Parse()
	var err error
	if *table {
		err = writeTable(os.Stdout, os.Stdin)
	} else {
		err = sum(os.Stdout, os.Stdin, spreadRun{Server: *server, Round: *round, Sessions: *sessions, WallS: *wall}, *hold, *interval)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spreadsum:", err)
		os.Exit(1)
	}
}

// maxErrorSamples bounds the error samples a run keeps from all its load
// generators.
const maxErrorSamples = 5

func sum(w io.Writer, r io.Reader, run spreadRun, hold time.Duration, intervalMS int) error {
	var before, connected, end uint64
	measured := 0 // sessions of the processes whose RSS was read
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l loadResult
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("reading a load generator's result: %w", err)
		}
		run.Procs++
		run.Attempted += l.Connect.Attempted
		run.Connected += l.Connect.Connected
		run.Errors += l.Errors
		run.Pings += l.Pings
		run.ConnectS = math.Max(run.ConnectS, l.Connect.Seconds)
		if room := maxErrorSamples - len(run.ErrorSamples); room > 0 {
			run.ErrorSamples = append(run.ErrorSamples, l.ErrorSamples[:min(room, len(l.ErrorSamples))]...)
		}
		if l.Server == nil || l.Server.Error != "" {
			run.MissingProcesses++
			continue
		}
		before += l.Server.RSSBeforeKB
		connected += l.Server.RSSConnectedKB
		end += l.Server.RSSEndKB
		measured += l.Connect.Connected
		run.HoldCPUS += l.Server.CPUS
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the load generators' results: %w", err)
	}
	if run.Procs == 0 {
		return fmt.Errorf("no load generator's result")
	}
	run.PingsExpected = uint64(run.Connected) * uint64(hold/(time.Duration(intervalMS)*time.Millisecond))
	run.RSSBeforeMB = round(float64(before)/1024, 1)
	run.RSSConnectedMB = round(float64(connected)/1024, 1)
	run.RSSEndMB = round(float64(end)/1024, 1)
	if measured > 0 {
		run.PerSessionKB = round((float64(connected)-float64(before))/float64(measured), 2)
		run.PerSessionEndKB = round((float64(end)-float64(before))/float64(measured), 2)
	}
	run.HoldCPUS = round(run.HoldCPUS, 2)
	return json.NewEncoder(w).Encode(run)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func writeTable(w io.Writer, r io.Reader) error {
	byServer := map[string][]spreadRun{}
	var order []string
	dec := json.NewDecoder(r)
	for {
		var s spreadRun
		if err := dec.Decode(&s); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("reading spreadsum lines: %w", err)
		}
		if _, ok := byServer[s.Server]; !ok {
			order = append(order, s.Server)
		}
		byServer[s.Server] = append(byServer[s.Server], s)
	}
	rows := []struct {
		name, format string
		get          func(spreadRun) float64
	}{
		{"server processes", "%.0f", func(s spreadRun) float64 { return float64(s.Procs) }},
		{"sessions connected", "%.0f", func(s spreadRun) float64 { return float64(s.Connected) }},
		{"seconds to connect them all", "%.1f", func(s spreadRun) float64 { return s.ConnectS }},
		{"sessions connected per second", "%.0f", func(s spreadRun) float64 { return perSec(s) }},
		{"RSS per session KB, after connecting", "%.2f", func(s spreadRun) float64 { return s.PerSessionKB }},
		{"RSS per session KB, after holding", "%.2f", func(s spreadRun) float64 { return s.PerSessionEndKB }},
		{"RSS of all processes before connecting MB", "%.1f", func(s spreadRun) float64 { return s.RSSBeforeMB }},
		{"RSS of all processes after holding MB", "%.1f", func(s spreadRun) float64 { return s.RSSEndMB }},
		{"pings answered", "%.0f", func(s spreadRun) float64 { return float64(s.Pings) }},
		{"pings expected, at least (one per session per full ping interval of the hold)", "%.0f", func(s spreadRun) float64 { return float64(s.PingsExpected) }},
		{"errors", "%.0f", func(s spreadRun) float64 { return float64(s.Errors) }},
		{"server CPU-seconds over the hold, summed", "%.2f", func(s spreadRun) float64 { return s.HoldCPUS }},
	}
	fmt.Fprint(w, "| |")
	for _, s := range order {
		fmt.Fprintf(w, " %s |", s)
	}
	fmt.Fprint(w, "\n|---|")
	for range order {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, row := range rows {
		fmt.Fprintf(w, "| %s |", row.name)
		for _, s := range order {
			var xs []float64
			for _, r := range byServer[s] {
				xs = append(xs, row.get(r))
			}
			fmt.Fprintf(w, " %s |", cell(xs, row.format))
		}
		fmt.Fprintln(w)
	}
	for _, s := range order {
		for _, r := range byServer[s] {
			if r.MissingProcesses > 0 || r.Errors > 0 || r.Connected < r.Sessions {
				fmt.Fprintf(w, "\n%s round %d: %d of %d sessions connected, %d errors, %d processes without figures; samples: %q\n",
					s, r.Round, r.Connected, r.Sessions, r.Errors, r.MissingProcesses, r.ErrorSamples)
			}
		}
	}
	return nil
}

func perSec(s spreadRun) float64 {
	if s.ConnectS == 0 {
		return 0
	}
	return float64(s.Connected) / s.ConnectS
}

// cell is the median, with the range when there are several rounds.
func cell(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	slices.Sort(xs)
	m := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		m = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	out := fmt.Sprintf(format, m)
	if xs[0] != xs[len(xs)-1] {
		out += " (" + fmt.Sprintf(format, xs[0]) + "–" + fmt.Sprintf(format, xs[len(xs)-1]) + ")"
	}
	return out
}

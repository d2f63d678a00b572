package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Two load generators' lines, as eioload -json writes them (fields that
// spreadsum does not read left out).
const twoProcesses = `{"mode":"idle","connect":{"attempted":3,"connected":3,"seconds":1.5},"pings":3,"errors":0,"server":{"cpu_s":0.25,"rss_before_kb":1000,"rss_connected_kb":1030,"rss_end_kb":1036}}
{"mode":"idle","connect":{"attempted":3,"connected":2,"seconds":2.5},"pings":2,"errors":1,"error_samples":["client 2: dial tcp: i/o timeout"],"server":{"cpu_s":0.5,"rss_before_kb":2000,"rss_connected_kb":2020,"rss_end_kb":2024}}
`

func TestSum(t *testing.T) {
	var out bytes.Buffer
	err := sum(&out, strings.NewReader(twoProcesses), spreadRun{Server: "ours", Round: 2, Sessions: 6, WallS: 40}, 60*time.Second, 25000)
	if err != nil {
		t.Fatal(err)
	}
	var got spreadRun
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	want := spreadRun{
		Server: "ours", Round: 2, Procs: 2, Sessions: 6, Attempted: 6, Connected: 5, Errors: 1,
		Pings: 5, PingsExpected: 10, ConnectS: 2.5, WallS: 40,
		RSSBeforeMB: 2.9, RSSConnectedMB: 3, RSSEndMB: 3,
		PerSessionKB: 10, PerSessionEndKB: 12, HoldCPUS: 0.75,
		ErrorSamples: []string{"client 2: dial tcp: i/o timeout"},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("sum:\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestSumCountsProcessesWithoutServerFigures(t *testing.T) {
	in := `{"connect":{"attempted":1,"connected":1,"seconds":1},"pings":1,"server":{"error":"no such process"}}` + "\n"
	var out bytes.Buffer
	if err := sum(&out, strings.NewReader(in), spreadRun{Server: "bare", Sessions: 1}, 30*time.Second, 25000); err != nil {
		t.Fatal(err)
	}
	var got spreadRun
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.MissingProcesses != 1 || got.PerSessionEndKB != 0 {
		t.Errorf("got %+v, want one process without figures and no RSS per session", got)
	}
}

func TestSumRejectsNoInput(t *testing.T) {
	if err := sum(&bytes.Buffer{}, strings.NewReader("\n"), spreadRun{}, time.Second, 1000); err == nil {
		t.Error("no error for an input without results")
	}
}

func TestTable(t *testing.T) {
	in := `{"server":"ours","round":1,"procs":6,"sessions":12,"connected":12,"connect_s":2,"per_session_end_kb":6.5,"pings":12,"pings_expected":12}
{"server":"ref","round":1,"procs":6,"sessions":12,"connected":12,"connect_s":4,"per_session_end_kb":12,"pings":14,"pings_expected":12}
{"server":"ours","round":2,"procs":6,"sessions":12,"connected":10,"connect_s":3,"per_session_end_kb":6.1,"errors":2,"pings":10,"pings_expected":10}
{"server":"ours","round":3,"procs":6,"sessions":12,"connected":12,"connect_s":2.5,"per_session_end_kb":6.2,"pings":12,"pings_expected":12}
`
	var out bytes.Buffer
	if err := writeTable(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| | ours | ref |",
		"| server processes | 6 | 6 |",
		"| seconds to connect them all | 2.5 (2.0–3.0) | 4.0 |",
		"| RSS per session KB, after holding | 6.20 (6.10–6.50) | 12.00 |",
		"| sessions connected per second | 5 (3–6) | 3 |",
		"ours round 2: 10 of 12 sessions connected, 2 errors",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSumPerSessionOnlyOverMeasuredProcesses(t *testing.T) {
	// The second process's RSS could not be read: its 3 sessions must not
	// dilute the first one's 1 MB over 2 sessions.
	in := `{"connect":{"attempted":2,"connected":2,"seconds":1},"server":{"rss_before_kb":1000,"rss_connected_kb":2024,"rss_end_kb":2024}}
{"connect":{"attempted":3,"connected":3,"seconds":1},"server":{"error":"no such process"}}
`
	var out bytes.Buffer
	if err := sum(&out, strings.NewReader(in), spreadRun{Server: "ours", Sessions: 5}, 30*time.Second, 25000); err != nil {
		t.Fatal(err)
	}
	var got spreadRun
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Connected != 5 || got.MissingProcesses != 1 || got.PerSessionEndKB != 512 {
		t.Errorf("got %d connected, %d missing, %v KB per session; want 5, 1, 512", got.Connected, got.MissingProcesses, got.PerSessionEndKB)
	}
}

func TestSumKeepsAtMostFiveErrorSamples(t *testing.T) {
	line := `{"connect":{"attempted":4,"connected":0,"seconds":1},"errors":4,"error_samples":["a","b","c","d"]}` + "\n"
	var out bytes.Buffer
	if err := sum(&out, strings.NewReader(line+line), spreadRun{Server: "ours", Sessions: 8}, 30*time.Second, 25000); err != nil {
		t.Fatal(err)
	}
	var got spreadRun
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c", "d", "a"}; strings.Join(got.ErrorSamples, ",") != strings.Join(want, ",") {
		t.Errorf("samples %q, want %q", got.ErrorSamples, want)
	}
}

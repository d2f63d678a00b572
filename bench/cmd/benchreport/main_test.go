package main

import (
	"bytes"
	"strings"
	"testing"
)

func echoRun(server string, perCPU float64) run {
	return run{Server: server, Scenario: "ws-binary", Round: 1, ServerAlive: true,
		Result: map[string]any{"server": map[string]any{"msgs_per_cpu_s": perCPU}}}
}

// A table that compares with a base revision does not judge the goals set
// against the reference by the base's figures.
func TestTargetsCompareWithTheReferenceOnly(t *testing.T) {
	var out bytes.Buffer
	targets(&out, []run{echoRun("ours", 100), echoRun("base", 90)}, []string{"ours", "base"})
	if !strings.Contains(out.String(), "| ws-binary 1 KB: msgs per server CPU-s ≥ 1.4 × reference | not run | – |") {
		t.Errorf("with no reference run, the ws-binary goal is judged:\n%s", out.String())
	}

	out.Reset()
	targets(&out, []run{echoRun("ours", 150), echoRun("base", 90), echoRun("reference", 100)}, []string{"ours", "base"})
	if !strings.Contains(out.String(), "| ws-binary 1 KB: msgs per server CPU-s ≥ 1.4 × reference | 1.50 (150 vs 100) | met |") {
		t.Errorf("the ws-binary goal is not judged against the reference:\n%s", out.String())
	}
}

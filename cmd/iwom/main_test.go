package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary is the pipeline and the operator's tools: nothing
// of test/, and no training, evaluation or benchmarks (iwomlab has them).
func TestNoLabInTheProductionBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lab := []string{"/test/", "/pipeline/bench/", "/sinks/clickhouse/bench/", "/pipeline/alerts/evaluate/"}
	for _, p := range strings.Fields(string(out)) {
		for _, l := range lab {
			if strings.HasPrefix(p, "github.com/iwom/iwom/") && strings.Contains(p+"/", l) {
				t.Errorf("iwom links %s", p)
			}
		}
	}
	root := newRoot()
	for _, path := range [][]string{{"train"}, {"eval"}, {"bench"}, {"report", "bench"}} {
		if c, _, err := root.Find(path); err == nil && c.CommandPath() == "iwom "+strings.Join(path, " ") {
			t.Errorf("iwom carries %q", c.CommandPath())
		}
	}
}

package main

import (
	"strings"
	"testing"
)

// iwomlab carries the development commands, and of the pipeline only run
// (with the fake platforms as sources).
func TestLabCommands(t *testing.T) {
	root := newRoot()
	var got []string
	for _, c := range root.Commands() {
		if c.Name() != "help" && c.Name() != "completion" {
			got = append(got, c.Name())
		}
	}
	if strings.Join(got, " ") != "bench eval report run train" {
		t.Errorf("iwomlab commands: %v", got)
	}
	for _, path := range [][]string{{"bench", "e2e"}, {"bench", "enrich"}, {"eval", "sentiment"}, {"eval", "segment"}, {"eval", "alerts"},
		{"train", "sentiment"}, {"train", "keywords"}, {"report", "bench"}} {
		if c, _, err := root.Find(path); err != nil || c.CommandPath() != "iwomlab "+strings.Join(path, " ") {
			t.Errorf("iwomlab lacks %q", strings.Join(path, " "))
		}
	}
	run, _, _ := root.Find([]string{"run"})
	if f := run.Flags().Lookup("source"); f == nil || !strings.Contains(f.Usage, "fake:weibo-mobile") {
		t.Errorf("run --source does not offer the fake platforms")
	}
}

func TestIwomBinary(t *testing.T) {
	if p, err := iwomBinary("/some/iwom"); err != nil || p != "/some/iwom" {
		t.Errorf("--iwom /some/iwom gives %q, %v", p, err)
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := iwomBinary(""); err == nil || !strings.Contains(err.Error(), "--iwom") {
		t.Errorf("without an iwom beside or on PATH: %v", err)
	}
}

package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iwom/iwom/test/shareddata"
)

// TestTrainSentimentCLI checks the comparison modes of `iwomlab train
// sentiment`: a model trained on the row split or a baseline run can never
// be written as the shipped model, and the baseline's JSON carries the
// polarity scores per file.
func TestTrainSentimentCLI(t *testing.T) {
	bin := iwomlabBinary(t)
	out := filepath.Join(t.TempDir(), "model.bin.gz")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--split", "rows", "--out", out}, "comparison only"},
		{[]string{"--baseline", "--out", out}, "writes no model"},
		{[]string{"--split", "random"}, `unknown split "random"`},
	} {
		cmd := exec.Command(bin, append([]string{"train", "sentiment", "--data", t.TempDir()}, tc.args...)...)
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), tc.want) {
			t.Errorf("iwomlab train sentiment %v: err %v, output %q; want a failure saying %q", tc.args, err, b, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("iwomlab train sentiment %v wrote %s", tc.args, out)
		}
	}

	data := shareddata.Dir()
	if data == "" {
		t.Skip("shared sentiment corpora not found: the baseline run is not checked")
	}
	b, err := exec.Command(bin, "train", "sentiment", "--baseline", "--split", "rows", "--format", "json", "--data", data).Output()
	if err != nil {
		t.Fatalf("iwomlab train sentiment --baseline: %v", err)
	}
	var rep struct {
		Split   string `json:"split"`
		HeldOut map[string]struct {
			N        int     `json:"n"`
			Accuracy float64 `json:"accuracy"`
		} `json:"held_out"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("baseline JSON: %v\n%s", err, b)
	}
	if rep.Split != "rows" || len(rep.HeldOut) != 4 {
		t.Fatalf("baseline JSON: split %q, %d files", rep.Split, len(rep.HeldOut))
	}
	if w := rep.HeldOut["weibo_emotion_17k.csv"]; w.N < 1000 || w.Accuracy < 0.9 {
		t.Errorf("naive Bayes on the Weibo row split: n %d, accuracy %.4f; docs/QUALITY.md says 0.922", w.N, w.Accuracy)
	}
}

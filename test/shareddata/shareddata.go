// Package shareddata finds the shared sentiment corpora (../shared in a
// checkout; see the README's "Data") for the tests that retrain or evaluate
// on them. Those tests skip when the files are not there, so a plain clone
// still passes its other tests.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// probe is a file every copy of the corpora has.
const probe = "weibo_emotion_17k.csv"

// Dir returns the directory holding the corpora's CSV files, or "" if
// there is none: $IWOM_SHARED_DATA (that directory itself, or a shared/
// directory containing data/sentiment), else the first
// shared/data/sentiment found walking up from the working directory.
func Dir() string {
	var candidates []string
	if env := os.Getenv("IWOM_SHARED_DATA"); env != "" {
		candidates = append(candidates, env, filepath.Join(env, "data", "sentiment"), filepath.Join(env, "sentiment"))
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			candidates = append(candidates, filepath.Join(dir, "shared", "data", "sentiment"))
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, probe)); err == nil {
			return c
		}
	}
	return ""
}

// DirOrSkip returns Dir, or skips the test when the corpora are not found.
func DirOrSkip(t testing.TB) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skip("shared sentiment corpora not found: set IWOM_SHARED_DATA")
	}
	return d
}

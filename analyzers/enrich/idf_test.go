package enrich

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/configs/dict"
)

// sharedData finds the shared corpora ($IWOM_SHARED_DATA, else a
// shared/data/sentiment above the package), or skips the test.
func sharedData(t *testing.T) string {
	t.Helper()
	probe := sentiment.Corpora[0].File
	var cands []string
	if env := os.Getenv("IWOM_SHARED_DATA"); env != "" {
		cands = append(cands, env, filepath.Join(env, "data", "sentiment"))
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			cands = append(cands, filepath.Join(dir, "shared", "data", "sentiment"))
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, probe)); err == nil {
			return c
		}
	}
	t.Skip("shared corpora not found: set IWOM_SHARED_DATA")
	return ""
}

// The shipped IDF table (configs/dict/idf.txt) is what `iwom train
// keywords` builds from the shared corpora with the shipped dictionaries.
func TestIDFReproducible(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("segments the shared corpora (86,000 texts)")
	}
	dir := sharedData(t)
	e := defaultEnricher(t)
	b, err := BuildIDF(dir, e.Seg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteIDF(&buf, 2, keywords.IDFWorthy); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), []byte(dict.IDF)) {
		t.Error("configs/dict/idf.txt differs from what the corpora and dictionaries give: run iwom train keywords")
	}
}

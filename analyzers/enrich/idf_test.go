package enrich

import (
	"bytes"
	"testing"

	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/configs/dict"
	"github.com/iwom/iwom/test/shareddata"
)

// sharedData finds the shared corpora or skips the test (see
// shareddata.Dir).
func sharedData(t *testing.T) string {
	t.Helper()
	return shareddata.DirOrSkip(t)
}

// The shipped IDF table (configs/dict/idf.txt) is what `iwomlab train
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
		t.Error("configs/dict/idf.txt differs from what the corpora and dictionaries give: run iwomlab train keywords")
	}
}

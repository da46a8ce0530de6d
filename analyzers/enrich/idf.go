package enrich

import (
	"fmt"

	"github.com/iwom/iwom/analyzers/extract"
	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/analyzers/normalize"
	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/analyzers/sentiment"
)

// BuildIDF counts document frequencies for the keyword IDF table over the
// shared corpora in dataDir (the files of sentiment.Corpora, training and
// held-out rows: IDF needs no labels): each distinct text once, normalised
// and segmented as Enrich does.
func BuildIDF(dataDir string, seg *segment.Segmenter) (*keywords.IDFBuilder, error) {
	b := keywords.NewIDFBuilder()
	seen := map[string]struct{}{}
	for _, c := range sentiment.Corpora {
		train, held, err := sentiment.LoadSplit(dataDir, c.File)
		if err != nil {
			return nil, fmt.Errorf("building IDF table: %w", err)
		}
		for _, rows := range [][]sentiment.Example{train, held} {
			for _, r := range rows {
				if _, ok := seen[r.Text]; ok {
					continue
				}
				seen[r.Text] = struct{}{}
				text := normalize.Fold(r.Text)
				b.Add(seg.Tokens(text, extract.Spans(text)))
			}
		}
	}
	return b, nil
}

package main

import (
	"fmt"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/cmd/internal/cli"
)

// loadSegmenter builds the enrich stage's segmenter (the watch-list's
// aliases in its dictionary) without the rest of the enricher.
func loadSegmenter(g *cli.Globals) (*segment.Segmenter, error) {
	wl, err := brands.Load(g.Cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, err
	}
	seg, err := enrich.NewSegmenter(wl)
	if err != nil {
		return nil, fmt.Errorf("building segmenter: %w", err)
	}
	return seg, nil
}

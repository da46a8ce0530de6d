package main

import (
	"fmt"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/pipeline/app"
)

// loadEnricher builds the enrich stage's analyser from the configured
// watch-list (enrich.brands_file, else the embedded one), for the commands
// that enrich text outside a running pipeline.
func loadEnricher(g *globals) (*enrich.Enricher, *brands.WatchList, error) {
	wl, err := app.LoadWatchList(g.cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, nil, err
	}
	e, err := enrich.New(wl)
	if err != nil {
		return nil, nil, fmt.Errorf("building enricher: %w", err)
	}
	return e, wl, nil
}

// loadSegmenter builds the enrich stage's segmenter (the watch-list's
// aliases in its dictionary) without the rest of the enricher.
func loadSegmenter(g *globals) (*segment.Segmenter, error) {
	wl, err := app.LoadWatchList(g.cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, err
	}
	seg, err := enrich.NewSegmenter(wl)
	if err != nil {
		return nil, fmt.Errorf("building segmenter: %w", err)
	}
	return seg, nil
}

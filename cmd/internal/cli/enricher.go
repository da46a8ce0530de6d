package cli

import (
	"fmt"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/analyzers/enrich"
)

// LoadEnricher builds the enrich stage's analyser from the configured
// watch-list (enrich.brands_file, else the embedded one), for the commands
// that enrich text outside a running pipeline.
func LoadEnricher(g *Globals) (*enrich.Enricher, *brands.WatchList, error) {
	wl, err := brands.Load(g.Cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, nil, err
	}
	e, err := enrich.New(wl)
	if err != nil {
		return nil, nil, fmt.Errorf("building enricher: %w", err)
	}
	return e, wl, nil
}

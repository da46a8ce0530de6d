package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	_ "github.com/iwom/iwom/pipeline/connectors/all" // every connector kind
	"github.com/iwom/iwom/pipeline/connectors/registry"
)

// ConfiguredConnectors builds the config's connectors, filtered by kind and
// name (none: all).
func ConfiguredConnectors(g *Globals, a *app.App, kinds, names []string) ([]connectors.Connector, error) {
	var keep []registry.Entry
	for _, e := range g.Cfg.Connectors {
		if (len(kinds) == 0 || slices.Contains(kinds, e.Kind())) && (len(names) == 0 || slices.Contains(names, e.Name())) {
			keep = append(keep, e)
		}
	}
	deps, err := ConnectorDeps(g, a)
	if err != nil {
		return nil, err
	}
	return registry.BuildAll(keep, deps)
}

// ConnectorDeps is what a connector is built with: the bus, the metrics,
// the limits and the watch-list's brand names as search keywords.
func ConnectorDeps(g *Globals, a *app.App) (registry.Deps, error) {
	wl, err := a.WatchList()
	if err != nil {
		return registry.Deps{}, err
	}
	var kw []string
	for _, b := range wl.Brands {
		kw = append(kw, b.Name)
	}
	return registry.Deps{Bus: a.Bus, Reg: a.Reg, Log: g.Log, Limits: a.Limits(), Keywords: kw}, nil
}

// RunConnectors runs each connector with its own publisher until all
// return; the first error is returned after the others stopped.
func RunConnectors(ctx context.Context, a *app.App, cs []connectors.Connector) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(cs))
	for i, c := range cs {
		if r, ok := c.(registry.Readier); ok {
			a.AddReadiness("connector "+c.Name(), r.Ready)
		}
		wg.Add(1)
		go func(i int, c connectors.Connector) {
			defer wg.Done()
			if err := c.Run(ctx, a.Publisher(c.Name())); err != nil && ctx.Err() == nil {
				errs[i] = fmt.Errorf("connector %s: %w", c.Name(), err)
				a.Log.Error().Err(err).Str("connector", c.Name()).Msg("connector stopped")
			}
		}(i, c)
	}
	wg.Wait()
	return errors.Join(errs...)
}

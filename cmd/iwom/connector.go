package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/test/fakeplatform"
)

func init() { addCommand(connectorCmd) }

func connectorCmd(g *globals) *cobra.Command {
	var names []string
	cmd := &cobra.Command{
		Use:   "connector [KIND…]",
		Short: "Run the platform connectors configured under connectors: (all, or those of KIND / --name)",
		Long: `Runs connector instances from the connectors: list of the config, each
publishing on iwom.raw.<platform>: weibo (Open API v2 poller), weibo-mobile
(m.weibo.cn poller), wechat-push (Official Account push receiver),
wechat-mp (articles and comments poller), http (generic ingest). Pollers
with once: true stop when caught up; the others run until SIGTERM, then
flush what they accepted. See pipeline/connectors/README.md.`,
		Example: "  iwom connector weibo\n  iwom connector --name mp-main",
		RunE: func(cmd *cobra.Command, kinds []string) error {
			for _, k := range kinds {
				if !slices.Contains(registry.Kinds(), k) {
					return fmt.Errorf("unknown connector kind %q (%s)", k, strings.Join(registry.Kinds(), ", "))
				}
			}
			ctx := cmd.Context()
			a, err := app.Connect(ctx, g.cfg, g.log)
			if err != nil {
				return err
			}
			defer a.Close()
			cs, err := configuredConnectors(g, a, kinds, names)
			if err != nil {
				return err
			}
			if len(cs) == 0 {
				return errors.New("no connector in the config matches (see connectors: in configs/iwom.yaml)")
			}
			if err := a.ServeMetrics(ctx); err != nil {
				return err
			}
			return runConnectors(ctx, a, cs)
		},
	}
	cmd.Flags().StringSliceVar(&names, "name", nil, "only the connector instances with these names")
	return cmd
}

// configuredConnectors builds the config's connectors, filtered by kind and
// name (none: all).
func configuredConnectors(g *globals, a *app.App, kinds, names []string) ([]connectors.Connector, error) {
	entries, err := registry.Entries(g.cfg.Connectors)
	if err != nil {
		return nil, fmt.Errorf("reading connectors: %w", err)
	}
	var keep []registry.Entry
	for _, e := range entries {
		k, _ := e["kind"].(string)
		n, _ := e["name"].(string)
		if (len(kinds) == 0 || slices.Contains(kinds, k)) && (len(names) == 0 || slices.Contains(names, n)) {
			keep = append(keep, e)
		}
	}
	deps, err := connectorDeps(g, a)
	if err != nil {
		return nil, err
	}
	return registry.BuildAll(keep, deps)
}

func connectorDeps(g *globals, a *app.App) (registry.Deps, error) {
	wl, err := a.WatchList()
	if err != nil {
		return registry.Deps{}, err
	}
	var kw []string
	for _, b := range wl.Brands {
		kw = append(kw, b.Name)
	}
	return registry.Deps{Bus: a.Bus, Reg: a.Reg, Log: g.log, Limits: a.Limits(), Keywords: kw}, nil
}

// runConnectors runs each connector with its own publisher until all
// return; the first error is returned after the others stopped.
func runConnectors(ctx context.Context, a *app.App, cs []connectors.Connector) error {
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

// fakeSource runs one connector kind against a local fake platform that
// serves generated posts (for the demo: make demo SOURCE=weibo). Pollers
// run until caught up; the push receiver and the HTTP ingest get every
// message the fake sends, then stop.
type fakeSource struct {
	kind string
	gen  genFlags
	g    *globals
	a    *app.App
}

func (f *fakeSource) Name() string { return f.kind }

func (f *fakeSource) Run(ctx context.Context, pub connectors.Publisher) error {
	gn, err := f.gen.generator(f.g)
	if err != nil {
		return err
	}
	tr := gn.Truth()
	fp, err := fakeplatform.New(fakeplatform.Options{Count: f.gen.count, Seed: f.gen.seed, Scenario: f.gen.scenario, End: tr.End, Span: tr.End.Sub(tr.Start)})
	if err != nil {
		return fmt.Errorf("starting the fake platform: %w", err)
	}
	defer fp.Close()
	listen := ""
	if f.kind == registry.KindWechatPush || f.kind == registry.KindHTTP {
		port, err := freeLocalPort()
		if err != nil {
			return err
		}
		listen = fmt.Sprintf("127.0.0.1:%d", port)
	}
	deps, err := connectorDeps(f.g, f.a)
	if err != nil {
		return err
	}
	c, err := registry.Build(fp.Entry(f.kind, "fake-"+f.kind, true, listen), deps)
	if err != nil {
		return err
	}
	f.g.log.Info().Str("kind", f.kind).Str("url", fp.URL()).Msg("fake platform serving generated posts")
	switch f.kind {
	case registry.KindWechatPush, registry.KindHTTP:
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx, pub) }()
		if err := waitListening(ctx, listen); err != nil {
			cancel()
			return err
		}
		var serr error
		if f.kind == registry.KindWechatPush {
			p := fp.Pusher("http://" + listen + "/")
			for i, m := range fp.PushMessages() {
				// Every third message in each of WeChat's three modes.
				status, body, err := p.Push(ctx, m, fakeplatform.Mode(i%3))
				if err == nil && status != 200 {
					err = fmt.Errorf("answer %d %q", status, body)
				}
				if err != nil {
					serr = err
					break
				}
			}
		} else {
			_, _, serr = fakeplatform.PostPosts(ctx, "http://"+listen, fakeplatform.IngestToken, fp.Posts())
		}
		cancel()
		if err := <-done; err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("sending to the %s connector: %w", f.kind, serr)
		}
		return pub.Flush(ctx)
	}
	if err := c.Run(ctx, pub); err != nil {
		return err
	}
	return pub.Flush(ctx)
}

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := dialTCP(addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("connector did not listen on %s", addr)
}

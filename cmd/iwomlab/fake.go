package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/httpingest"
	"github.com/iwom/iwom/pipeline/connectors/registry"
	"github.com/iwom/iwom/pipeline/connectors/wechatpush"
	"github.com/iwom/iwom/test/fakeplatform"
)

// fakeSource is run's --source fake:<kind>: a connector of that kind
// against a local fake platform serving generated posts (make demo
// SOURCE=weibo).
var fakeSource = cli.Source{
	Prefix: "fake:",
	Help:   "fake:<kind> (a connector of that kind against a local fake platform serving generated posts: fake:" + strings.Join(registry.Kinds(), ", fake:") + ")",
	New: func(kind string, g *cli.Globals, a *app.App, gen *cli.GenFlags) (connectors.Connector, error) {
		if !slices.Contains(registry.Kinds(), kind) {
			return nil, fmt.Errorf("--source fake:%s: unknown connector kind (%s)", kind, strings.Join(registry.Kinds(), ", "))
		}
		return &fakeConnector{kind: kind, gen: gen, g: g, a: a}, nil
	},
}

// fakeConnector runs one connector kind against a local fake platform that
// serves generated posts. Pollers run until caught up; the push receiver
// and the HTTP ingest get every message the fake sends, then stop.
type fakeConnector struct {
	kind string
	gen  *cli.GenFlags
	g    *cli.Globals
	a    *app.App
}

func (f *fakeConnector) Name() string { return f.kind }

func (f *fakeConnector) Run(ctx context.Context, pub connectors.Publisher) error {
	gn, err := f.gen.Generator(f.g)
	if err != nil {
		return err
	}
	tr := gn.Truth()
	fp, err := fakeplatform.New(fakeplatform.Options{Count: f.gen.Count, Seed: f.gen.Seed, Scenario: f.gen.Scenario, End: tr.End, Span: tr.End.Sub(tr.Start)})
	if err != nil {
		return fmt.Errorf("starting the fake platform: %w", err)
	}
	defer fp.Close()
	listen := ""
	if f.kind == wechatpush.Kind || f.kind == httpingest.Kind {
		port, err := freeLocalPort()
		if err != nil {
			return err
		}
		listen = fmt.Sprintf("127.0.0.1:%d", port)
	}
	deps, err := cli.ConnectorDeps(f.g, f.a)
	if err != nil {
		return err
	}
	c, err := registry.Build(fp.Entry(f.kind, "fake-"+f.kind, true, listen), deps)
	if err != nil {
		return err
	}
	f.g.Log.Info().Str("kind", f.kind).Str("url", fp.URL()).Msg("fake platform serving generated posts")
	switch f.kind {
	case wechatpush.Kind, httpingest.Kind:
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx, pub) }()
		if err := waitListening(ctx, listen); err != nil {
			cancel()
			return err
		}
		var serr error
		if f.kind == wechatpush.Kind {
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

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/gen"
	"github.com/iwom/iwom/pipeline/connectors/replay"
	"github.com/iwom/iwom/pipeline/post"
)

func limits(g *globals) post.Limits {
	return post.Limits{MaxTextBytes: g.cfg.Limits.MaxTextBytes, MaxFutureSkew: g.cfg.Limits.MaxFutureSkew}
}

type genFlags struct {
	count    int
	seed     uint64
	scenario string
	end      string
	span     time.Duration
	truth    string
}

func (f *genFlags) register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.count, "count", 1000, "posts to generate")
	cmd.Flags().Uint64Var(&f.seed, "seed", 1, "random seed: the same seed and --end give the same posts")
	cmd.Flags().StringVar(&f.scenario, "scenario", "steady", "steady, or crisis (adds a negative storm about 西门子 冰箱门)")
	cmd.Flags().StringVar(&f.end, "end", "", "end of the generated time span, RFC 3339 (default: the current hour)")
	cmd.Flags().DurationVar(&f.span, "span", 24*time.Hour, "length of the generated time span")
	cmd.Flags().StringVar(&f.truth, "truth", "", "write what was generated (per brand and sentiment) to this JSON file")
}

func (f *genFlags) generator(g *globals) (*gen.Generator, error) {
	wl, err := app.LoadWatchList(g.cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, err
	}
	opts := gen.Options{Count: f.count, Seed: f.seed, Scenario: f.scenario, Span: f.span}
	if f.end != "" {
		t, err := time.Parse(time.RFC3339, f.end)
		if err != nil {
			return nil, fmt.Errorf("parsing --end: %w", err)
		}
		opts.End = t
	}
	return gen.New(opts, wl)
}

func (f *genFlags) writeTruth(gn *gen.Generator) error {
	if f.truth == "" {
		return nil
	}
	data, err := json.MarshalIndent(gn.Truth(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.truth, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing truth file: %w", err)
	}
	return nil
}

func genCmd(g *globals) *cobra.Command {
	var f genFlags
	var publish bool
	var rate float64
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate realistic Weibo/WeChat-style posts (JSONL to stdout, or --publish)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gn, err := f.generator(g)
			if err != nil {
				return err
			}
			if !publish {
				w := bufio.NewWriterSize(os.Stdout, 1<<16)
				if err := gen.WriteJSONL(w, gn.All()); err != nil {
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
				return f.writeTruth(gn)
			}
			if err := publishWith(cmd, g, &gen.Connector{Gen: gn, Rate: rate}); err != nil {
				return err
			}
			return f.writeTruth(gn)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&publish, "publish", false, "publish to iwom.raw.<platform> instead of printing")
	cmd.Flags().Float64Var(&rate, "rate", 0, "posts per second with --publish (0: as fast as possible)")
	return cmd
}

func replayCmd(g *globals) *cobra.Command {
	var file string
	var rate float64
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Publish a JSONL file of posts; bad lines go to iwom.dlq.replay with their line number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("--file is required")
			}
			c := &replay.Connector{Path: file, Rate: rate, Limits: limits(g)}
			if file == "-" {
				c.In = os.Stdin
			}
			if err := publishWith(cmd, g, c); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "replayed %d lines, %d rejected (see iwom dlq list replay)\n", c.Lines, c.Bad)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "JSONL file of posts (- for stdin)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "lines per second (0: as fast as possible)")
	return cmd
}

// publishWith runs a connector against the configured NATS.
func publishWith(cmd *cobra.Command, g *globals, c connectors.Connector) error {
	ctx := cmd.Context()
	a, err := app.Connect(ctx, g.cfg, g.log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.ServeMetrics(ctx); err != nil {
		// A one-off publisher beside a running iwom with the same config
		// finds the port taken: its metrics are not worth failing for.
		g.log.Warn().Err(err).Msg("metrics endpoint not served")
	}
	pub := a.Publisher(c.Name())
	if err := c.Run(ctx, pub); err != nil {
		return fmt.Errorf("connector %s: %w", c.Name(), err)
	}
	st := pub.Stats()
	g.log.Info().Str("connector", c.Name()).Int64("published", st.Published).Int64("duplicates", st.Duplicates).Int64("invalid", st.Invalid).Msg("done")
	return nil
}

func analyzeCmd(g *globals) *cobra.Command {
	var text string
	var pretty bool
	cmd := &cobra.Command{
		Use:   "analyze [--text TEXT]",
		Short: "Print the enriched JSON of one text (or of each stdin line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, _, err := loadEnricher(g)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			enc.SetEscapeHTML(false)
			if pretty {
				enc.SetIndent("", "  ")
			}
			if cmd.Flags().Changed("text") {
				return enc.Encode(e.Analyze(text, time.Now()))
			}
			r := bufio.NewReader(os.Stdin)
			for {
				line, err := r.ReadString('\n')
				if s := strings.TrimSpace(line); s != "" {
					if eerr := enc.Encode(e.Analyze(s, time.Now())); eerr != nil {
						return eerr
					}
				}
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
			}
		},
	}
	cmd.Flags().StringVar(&text, "text", "", "text to analyze (default: read lines from stdin)")
	cmd.Flags().BoolVar(&pretty, "pretty", true, "indent the JSON")
	return cmd
}

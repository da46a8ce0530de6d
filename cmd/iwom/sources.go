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

	"github.com/iwom/iwom/cmd/internal/cli"
	"github.com/iwom/iwom/pipeline/app"
	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/gen"
	"github.com/iwom/iwom/pipeline/connectors/replay"
	"github.com/iwom/iwom/pipeline/synth"
)

func genCmd(g *cli.Globals) *cobra.Command {
	var f cli.GenFlags
	var publish bool
	var rate float64
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Generate realistic Weibo/WeChat-style posts (JSONL to stdout, or --publish)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			gn, err := f.Generator(g)
			if err != nil {
				return err
			}
			if !publish {
				w := bufio.NewWriterSize(os.Stdout, 1<<16)
				if err := synth.WriteJSONL(w, gn.All()); err != nil {
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
				return f.WriteTruth(gn)
			}
			if err := publishWith(cmd, g, &gen.Connector{Gen: gn, Rate: rate}); err != nil {
				return err
			}
			return f.WriteTruth(gn)
		},
	}
	f.Register(cmd)
	cmd.Flags().BoolVar(&publish, "publish", false, "publish to iwom.raw.<platform> instead of printing")
	cmd.Flags().Float64Var(&rate, "rate", 0, "posts per second with --publish (0: as fast as possible)")
	return cmd
}

func replayCmd(g *cli.Globals) *cobra.Command {
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
			c := &replay.Connector{Path: file, Rate: rate, Limits: cli.Limits(g)}
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
func publishWith(cmd *cobra.Command, g *cli.Globals, c connectors.Connector) error {
	ctx := cmd.Context()
	a, err := app.Connect(ctx, g.Cfg, g.Log)
	if err != nil {
		return err
	}
	defer a.Close()
	// A publisher does not create the topology: on a server without the
	// raw stream it fails at once rather than retrying unanswered
	// publishes.
	if _, err := a.Bus.StreamInfo(ctx, bus.StreamRaw); err != nil {
		return err
	}
	if err := a.ServeMetrics(ctx); err != nil {
		// A one-off publisher beside a running iwom with the same config
		// finds the port taken: its metrics are not worth failing for.
		g.Log.Warn().Err(err).Msg("metrics endpoint not served")
	}
	pub := a.Publisher(c.Name())
	if err := c.Run(ctx, pub); err != nil {
		return fmt.Errorf("connector %s: %w", c.Name(), err)
	}
	st := pub.Stats()
	g.Log.Info().Str("connector", c.Name()).Int64("published", st.Published).Int64("duplicates", st.Duplicates).Int64("invalid", st.Invalid).Msg("done")
	return nil
}

func analyzeCmd(g *cli.Globals) *cobra.Command {
	var text string
	var pretty bool
	cmd := &cobra.Command{
		Use:   "analyze [--text TEXT]",
		Short: "Print the enriched JSON of one text (or of each stdin line)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, _, err := cli.LoadEnricher(g)
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

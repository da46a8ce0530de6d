package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/analyzers/brands"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/synth"
)

// Limits are the configured bounds of a post.
func Limits(g *Globals) post.Limits {
	return post.Limits{MaxTextBytes: g.Cfg.Limits.MaxTextBytes, MaxFutureSkew: g.Cfg.Limits.MaxFutureSkew}
}

// GenFlags are the generator's flags (iwom gen, run --source gen and the
// sources built on generated posts).
type GenFlags struct {
	Count    int
	Seed     uint64
	Scenario string
	End      string
	Span     time.Duration
	Truth    string
}

// Register adds the flags to cmd.
func (f *GenFlags) Register(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.Count, "count", 1000, "posts to generate")
	cmd.Flags().Uint64Var(&f.Seed, "seed", 1, "random seed: the same seed and --end give the same posts")
	cmd.Flags().StringVar(&f.Scenario, "scenario", "steady", "steady, or crisis (adds a negative storm about 西门子 冰箱门)")
	cmd.Flags().StringVar(&f.End, "end", "", "end of the generated time span, RFC 3339 (default: the current hour)")
	cmd.Flags().DurationVar(&f.Span, "span", 24*time.Hour, "length of the generated time span")
	cmd.Flags().StringVar(&f.Truth, "truth", "", "write what was generated (per brand and sentiment) to this JSON file")
}

// Generator builds the generator the flags describe, on the configured
// watch-list.
func (f *GenFlags) Generator(g *Globals) (*synth.Generator, error) {
	wl, err := brands.Load(g.Cfg.Enrich.BrandsFile)
	if err != nil {
		return nil, err
	}
	opts := synth.Options{Count: f.Count, Seed: f.Seed, Scenario: f.Scenario, Span: f.Span}
	if f.End != "" {
		t, err := time.Parse(time.RFC3339, f.End)
		if err != nil {
			return nil, fmt.Errorf("parsing --end: %w", err)
		}
		opts.End = t
	}
	return synth.New(opts, wl)
}

// WriteTruth writes what gn generated to the --truth file, if any.
func (f *GenFlags) WriteTruth(gn *synth.Generator) error {
	if f.Truth == "" {
		return nil
	}
	data, err := json.MarshalIndent(gn.Truth(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.Truth, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing truth file: %w", err)
	}
	return nil
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/analyzers/keywords"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/cmd/internal/cli"
)

// defaultSharedData is where the shared corpora are from the repository
// root (see ../shared/README.md).
const defaultSharedData = "../shared/data/sentiment"

func trainCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Rebuild the shipped models from the shared corpora (sentiment, keywords)",
	}
	cmd.AddCommand(trainSentimentCmd(g), trainKeywordsCmd(g))
	return cmd
}

func trainSentimentCmd(g *cli.Globals) *cobra.Command {
	var data, out, format, splitName string
	var baseline bool
	// The model's options, defaults first; the flags below change them for
	// experiments (the embedded model is trained with the defaults).
	o := sentiment.DefaultTrainOptions()
	cmd := &cobra.Command{
		Use:   "sentiment [--data DIR] [--out FILE] [--split text|rows] [--baseline]",
		Short: "Train the sentiment and emotion model from the shared corpora; print its held-out scores",
		Long: `Trains the polarity and 7-way emotion model exactly as the embedded one
(analyzers/sentiment/model.bin.gz) was trained, from the four shared corpora in
--data, and prints the scores on their fixed held-out splits (never trained on).
With --out it writes the model file; it always says whether the result equals the
embedded model. To replace the shipped model:

  iwomlab train sentiment --data ../shared/data/sentiment --out analyzers/sentiment/model.bin.gz

For comparison with figures measured another way:
  --split rows   trains and scores on a random row split instead (about one row
                 in ten held out by its position, so copies of a post fall on
                 both sides); such a model cannot be written with --out.
  --baseline     trains nothing of the model: prints the held-out polarity
                 scores of the reference naive Bayes over character bigrams
                 on the chosen split.

The flags --bits … --threshold change the training options for experiments; the
embedded model is trained with their defaults.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			split, err := sentiment.ParseSplit(splitName)
			if err != nil {
				return err
			}
			if baseline {
				if out != "" {
					return fmt.Errorf("--baseline writes no model: drop --out")
				}
				rep, err := sentiment.NaiveBayesBaseline(data, split)
				if err != nil {
					return err
				}
				return printBaseline(rep, split, format)
			}
			if split != sentiment.SplitText && out != "" {
				return fmt.Errorf("--split %s is for comparison only: the shipped model is trained on the text split (drop --out)", split)
			}
			o.DataDir = data
			o.Split = split
			o.Logf = func(f string, a ...any) { g.Log.Info().Msgf(f, a...) }
			m, rep, err := sentiment.Train(o)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				return err
			}
			emb, err := sentiment.Default()
			if err != nil {
				return err
			}
			same := m.Equal(emb)
			if format == "json" {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					*sentiment.TrainReport
					EqualsEmbedded bool `json:"equals_embedded"`
				}{rep, same}); err != nil {
					return err
				}
			} else {
				if split != sentiment.SplitText {
					fmt.Printf("%s split (for comparison only: copies of a text can be on both sides)\n", split)
				}
				printHeldOut(rep.HeldOut)
				fmt.Printf("slope %.3f, emotion temperature %.3f, trained in %.1fs\n", rep.Slope, rep.EmotionTemp, rep.Seconds)
				fmt.Printf("equals the embedded model: %v\n", same)
			}
			if out != "" {
				if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
					return fmt.Errorf("writing model: %w", err)
				}
				fmt.Fprintf(os.Stderr, "wrote %s (%d bytes)\n", out, buf.Len())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultSharedData, "directory holding the shared corpora")
	cmd.Flags().StringVar(&out, "out", "", "model file to write (default: only report)")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().StringVar(&splitName, "split", "text", "held-out split: text (the fixed one, copies of a text on one side) or rows (a random row split, for comparison)")
	cmd.Flags().BoolVar(&baseline, "baseline", false, "print the reference naive Bayes over character bigrams instead of training the model")
	f := cmd.Flags()
	f.IntVar(&o.Bits, "bits", o.Bits, "log2 of the number of hash buckets")
	f.IntVar(&o.Epochs, "epochs", o.Epochs, "polarity epochs")
	f.Float64Var(&o.LearningRate, "lr", o.LearningRate, "polarity AdaGrad learning rate")
	f.IntVar(&o.Runs, "runs", o.Runs, "polarity fits averaged")
	f.Float64Var(&o.WeiboWeight, "weibo-weight", o.WeiboWeight, "weight of the Weibo head's logit")
	f.Float64Var(&o.WeiboAlpha, "weibo-alpha", o.WeiboAlpha, "naive Bayes smoothing of the Weibo head's feature scales")
	f.IntVar(&o.EmotionEpochs, "emotion-epochs", o.EmotionEpochs, "emotion epochs")
	f.Float64Var(&o.EmotionLearningRate, "emotion-lr", o.EmotionLearningRate, "emotion AdaGrad learning rate")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "shuffling seed")
	f.Float64Var(&o.IronyDamp, "irony", o.IronyDamp, "factor on a positive logit with an ironic marker (negative: sarcasm)")
	f.Float64Var(&o.Threshold, "threshold", o.Threshold, "neutral band")
	return cmd
}

// printBaseline prints the naive Bayes baseline's polarity scores.
func printBaseline(rep map[string]*sentiment.EvalReport, split sentiment.Split, format string) error {
	if format == "json" {
		// Only the polarity scores: the baseline has no emotions and no
		// neutral band.
		type scores struct {
			N                int     `json:"n"`
			Accuracy         float64 `json:"accuracy"`
			MacroF1          float64 `json:"macro_f1"`
			DistinctAccuracy float64 `json:"distinct_accuracy"`
		}
		held := map[string]scores{}
		for f, r := range rep {
			held[f] = scores{r.PolarityN, r.PolarityAccuracy, r.PolarityMacroF1, r.DistinctPolarityAccuracy}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Model   string            `json:"model"`
			Split   sentiment.Split   `json:"split"`
			HeldOut map[string]scores `json:"held_out"`
		}{"naive Bayes over character bigrams", split, held})
	}
	files := make([]string, 0, len(rep))
	for f := range rep {
		files = append(files, f)
	}
	slices.Sort(files)
	fmt.Printf("naive Bayes over character bigrams, %s split\n", split)
	fmt.Printf("%-28s %6s %9s %9s %9s\n", "held-out split", "n", "accuracy", "macro-F1", "distinct")
	for _, f := range files {
		r := rep[f]
		fmt.Printf("%-28s %6d %9.4f %9.4f %9.4f\n", f, r.PolarityN, r.PolarityAccuracy, r.PolarityMacroF1, r.DistinctPolarityAccuracy)
	}
	return nil
}

func printHeldOut(h map[string]*sentiment.EvalReport) {
	files := make([]string, 0, len(h))
	for f := range h {
		files = append(files, f)
	}
	slices.Sort(files)
	fmt.Printf("%-28s %6s %9s %9s | %s\n", "held-out split", "n", "accuracy", "macro-F1", "polarity n, accuracy, macro-F1, neutral share")
	for _, f := range files {
		r := h[f]
		fmt.Printf("%-28s %6d %9.4f %9.4f | %5d %.4f %.4f %.3f\n",
			f, r.N, r.Accuracy, r.MacroF1, r.PolarityN, r.PolarityAccuracy, r.PolarityMacroF1, r.NeutralRate)
	}
}

func trainKeywordsCmd(g *cli.Globals) *cobra.Command {
	var data, out string
	var minDF int
	cmd := &cobra.Command{
		Use:   "keywords [--data DIR] [--out FILE]",
		Short: "Build the keyword IDF table (configs/dict/idf.txt) from the shared corpora",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			seg, err := loadSegmenter(g)
			if err != nil {
				return err
			}
			b, err := enrich.BuildIDF(data, seg)
			if err != nil {
				return err
			}
			f, err := os.Create(out)
			if err != nil {
				return fmt.Errorf("writing IDF table: %w", err)
			}
			if err := b.WriteIDF(f, minDF, keywords.IDFWorthy); err != nil {
				f.Close()
				return fmt.Errorf("writing IDF table: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("writing IDF table: %w", err)
			}
			fmt.Fprintf(os.Stderr, "wrote %s from %d documents\n", out, b.Docs())
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", defaultSharedData, "directory holding the shared corpora")
	cmd.Flags().StringVar(&out, "out", "configs/dict/idf.txt", "IDF table to write")
	cmd.Flags().IntVar(&minDF, "min-df", 2, "keep words found in at least this many documents (rarer ones get the rarest IDF)")
	return cmd
}

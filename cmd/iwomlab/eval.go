package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/iwom/iwom/analyzers/segment"
	"github.com/iwom/iwom/analyzers/sentiment"
	"github.com/iwom/iwom/cmd/internal/cli"
)

func evalCmd(g *cli.Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure the analyzers on labelled data (sentiment, segment)",
	}
	cmd.AddCommand(evalSentimentCmd(g), evalSegmentCmd(g), evalAlertsCmd(g))
	return cmd
}

func evalSentimentCmd(g *cli.Globals) *cobra.Command {
	var data, textCol, labelCol, labels, format, split string
	cmd := &cobra.Command{
		Use:   "sentiment --data FILE.csv [--text-col review] [--label-col label] [--labels binary|emotion7|polarity3]",
		Short: "Accuracy, macro-F1, per-class precision/recall and the confusion matrix of the sentiment on a labelled CSV",
		Long: `Scores each text of a labelled CSV (with a header row) as the enrich stage scores
a post's words: normalised, simplified, brand names masked (the whole labelled
text, a quoted //@ chain included: that is what was labelled).

--labels binary:    1 positive, 0 negative; polarity by the sign of the score.
--labels emotion7:  0 fear, 1 disgust, 2 optimism, 3 surprise, 4 gratitude,
                    5 sadness, 6 anger; the 7-way emotion, and the polarity
                    (optimism, gratitude positive; surprise left out).
--labels polarity3: 1 positive, 0 neutral, -1 negative; the three labels the
                    enrich stage gives (neutral band included).

For a file named like one of the shared corpora the model is trained on
(ChnSentiCorp_htl_all.csv, waimai_10k.csv, online_shopping_10_cats.csv,
weibo_emotion_17k.csv) only its fixed held-out rows are scored (--split heldout,
the default; --split all scores every row, training rows included).

--format json prints one JSON object: n, accuracy, macro_f1, per_class,
confusion (true class -> predicted class -> rows), and more.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return fmt.Errorf("--data is required")
			}
			ls, err := sentiment.ParseLabelSet(labels)
			if err != nil {
				return err
			}
			rows, err := sentiment.ReadCSV(data, textCol, labelCol)
			if err != nil {
				return err
			}
			switch split {
			case "heldout":
				if _, err := sentiment.CorpusByFile(filepath.Base(data)); err == nil {
					held := rows[:0:0]
					for _, r := range rows {
						if sentiment.IsHeldOut(r.Text) {
							held = append(held, r)
						}
					}
					fmt.Fprintf(os.Stderr, "%s is a training corpus: scoring its %d held-out rows of %d (--split all for every row)\n", filepath.Base(data), len(held), len(rows))
					rows = held
				}
			case "all":
			default:
				return fmt.Errorf("--split must be heldout or all")
			}
			e, _, err := cli.LoadEnricher(g)
			if err != nil {
				return err
			}
			rep := sentiment.EvaluateWith(e.PredictText, rows, ls)
			return printEval(os.Stdout, rep, format)
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "labelled CSV file")
	cmd.Flags().StringVar(&textCol, "text-col", "review", "column holding the text")
	cmd.Flags().StringVar(&labelCol, "label-col", "label", "column holding the label code")
	cmd.Flags().StringVar(&labels, "labels", "binary", "label codes: binary, emotion7 or polarity3")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().StringVar(&split, "split", "heldout", "for the shared training corpora: heldout (never trained on) or all rows")
	return cmd
}

func printEval(w io.Writer, rep *sentiment.EvalReport, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if format != "text" {
		return fmt.Errorf("--format must be text or json")
	}
	fmt.Fprintf(w, "n=%d accuracy=%.4f macro-F1=%.4f (%s)\n", rep.N, rep.Accuracy, rep.MacroF1, rep.LabelSet)
	if rep.LabelSet != sentiment.Binary {
		fmt.Fprintf(w, "polarity: n=%d accuracy=%.4f macro-F1=%.4f\n", rep.PolarityN, rep.PolarityAccuracy, rep.PolarityMacroF1)
	}
	fmt.Fprintf(w, "neutral share of polar rows %.3f, accuracy of the others %.4f\n", rep.NeutralRate, rep.DecidedAccuracy)
	classes := make([]string, 0, len(rep.PerClass))
	for c := range rep.PerClass {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	fmt.Fprintf(w, "\n%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support")
	for _, c := range classes {
		m := rep.PerClass[c]
		fmt.Fprintf(w, "%-10s %9.4f %9.4f %9.4f %8d\n", c, m.Precision, m.Recall, m.F1, m.Support)
	}
	fmt.Fprintf(w, "\nconfusion (rows: true class, columns: predicted)\n%-10s", "")
	for _, c := range classes {
		fmt.Fprintf(w, " %9s", c)
	}
	fmt.Fprintln(w)
	for _, t := range classes {
		fmt.Fprintf(w, "%-10s", t)
		for _, p := range classes {
			fmt.Fprintf(w, " %9d", rep.Confusion[t][p])
		}
		fmt.Fprintln(w)
	}
	return nil
}

func evalSegmentCmd(g *cli.Globals) *cobra.Command {
	var gold, format string
	cmd := &cobra.Command{
		Use:   "segment --gold FILE",
		Short: "Precision, recall, F1 and OOV recall of the segmenter against a gold segmentation (SIGHAN format)",
		Long: `FILE holds one sentence per line, its words separated by spaces (the SIGHAN
bakeoff format). Each sentence is segmented as the enrich stage segments posts
(brand names, network vocabulary, #hashtags#, @mentions, [emoticons] and URLs as
single tokens) and compared word by word; punctuation is not scored.
analyzers/segment/testdata/weibo_gold.txt is a hand-segmented set of Weibo posts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if gold == "" {
				return fmt.Errorf("--gold is required")
			}
			f, err := os.Open(gold)
			if err != nil {
				return fmt.Errorf("opening gold segmentation: %w", err)
			}
			defer f.Close()
			sents, err := segment.ReadGold(f)
			if err != nil {
				return err
			}
			seg, err := loadSegmenter(g)
			if err != nil {
				return err
			}
			sc := seg.Evaluate(sents)
			switch format {
			case "json":
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(sc)
			case "text":
				fmt.Printf("sentences=%d gold words=%d segmented words=%d correct=%d\n", sc.Sentences, sc.GoldWords, sc.Words, sc.Correct)
				fmt.Printf("precision=%.4f recall=%.4f F1=%.4f OOV recall=%.4f (%d OOV words)\n", sc.Precision, sc.Recall, sc.F1, sc.OOVRecall, sc.OOVWords)
				return nil
			}
			return fmt.Errorf("--format must be text or json")
		},
	}
	cmd.Flags().StringVar(&gold, "gold", "", "gold segmentation file (SIGHAN format)")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

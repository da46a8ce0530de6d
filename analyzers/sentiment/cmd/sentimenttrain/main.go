// Command sentimenttrain rebuilds the sentiment model embedded in package
// analyzers/sentiment from the shared corpora and prints its held-out
// scores. From the repository root:
//
//	go run ./analyzers/sentiment/cmd/sentimenttrain \
//	    -data ../shared/data/sentiment -out analyzers/sentiment/model.bin.gz
//
// (or `go generate ./analyzers/sentiment/`). Without -out it only reports.
// The flags override DefaultTrainOptions for experiments; the embedded model
// is trained with the defaults.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"

	"github.com/iwom/iwom/analyzers/sentiment"
)

func main() {
	log.SetFlags(0)
	o := sentiment.DefaultTrainOptions()
	flag.StringVar(&o.DataDir, "data", "../shared/data/sentiment", "directory holding the shared corpora")
	out := flag.String("out", "", "model file to write (default: none, only report)")
	asJSON := flag.Bool("json", false, "print the full training report as JSON")
	flag.IntVar(&o.Bits, "bits", o.Bits, "log2 of the number of hash buckets")
	flag.IntVar(&o.Epochs, "epochs", o.Epochs, "polarity epochs")
	flag.Float64Var(&o.LearningRate, "lr", o.LearningRate, "polarity AdaGrad learning rate")
	flag.IntVar(&o.Runs, "runs", o.Runs, "polarity fits averaged")
	flag.Float64Var(&o.WeiboWeight, "weibo-weight", o.WeiboWeight, "weight of the Weibo head's logit")
	flag.Float64Var(&o.WeiboAlpha, "weibo-alpha", o.WeiboAlpha, "naive Bayes smoothing of the Weibo head's feature scales")
	flag.IntVar(&o.EmotionEpochs, "emotion-epochs", o.EmotionEpochs, "emotion epochs")
	flag.Float64Var(&o.EmotionLearningRate, "emotion-lr", o.EmotionLearningRate, "emotion AdaGrad learning rate")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "shuffling seed")
	flag.Float64Var(&o.IronyDamp, "irony", o.IronyDamp, "factor on a positive logit with an ironic marker (negative: sarcasm)")
	flag.Float64Var(&o.Threshold, "threshold", o.Threshold, "neutral band")
	verbose := flag.Bool("v", false, "log training progress")
	flag.Parse()
	if *verbose {
		o.Logf = log.Printf
	}

	m, rep, err := sentiment.Train(o)
	if err != nil {
		log.Fatal(err)
	}
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(b))
	} else {
		files := make([]string, 0, len(rep.HeldOut))
		for f := range rep.HeldOut {
			files = append(files, f)
		}
		slices.Sort(files)
		for _, f := range files {
			r := rep.HeldOut[f]
			fmt.Printf("%-28s n=%5d accuracy=%.4f macro-F1=%.4f | polarity n=%5d accuracy=%.4f macro-F1=%.4f neutral=%.3f distinct=%.4f\n",
				f, r.N, r.Accuracy, r.MacroF1, r.PolarityN, r.PolarityAccuracy, r.PolarityMacroF1, r.NeutralRate, r.DistinctPolarityAccuracy)
		}
		fmt.Printf("slope %.3f, emotion temperature %.3f, trained in %.1fs\n", rep.Slope, rep.EmotionTemp, rep.Seconds)
	}
	if *out == "" {
		return
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	n, err := m.WriteTo(f)
	if err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s (%d bytes)\n", *out, n)
}

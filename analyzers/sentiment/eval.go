package sentiment

// ClassMetrics are the scores of one class.
type ClassMetrics struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // rows whose true label is the class
}

// EvalReport scores a model on labelled rows.
//
// Accuracy, MacroF1, PerClass and Confusion are measured against the rows'
// own label set: positive/negative for Binary, the seven emotions for
// Emotion7. Binary polarity is predicted by the sign of Score (> 0
// positive), so every row gets a decision; the emotion is the most
// probable one, whatever its probability.
//
// The Polarity* fields measure the binary polarity for both label sets; for
// Emotion7 they cover the rows with a polarity (surprise excluded), for
// Binary they repeat Accuracy and MacroF1.
type EvalReport struct {
	LabelSet LabelSet `json:"label_set"`
	N        int      `json:"n"`
	Accuracy float64  `json:"accuracy"`
	MacroF1  float64  `json:"macro_f1"`
	// PerClass is keyed by class name.
	PerClass map[string]ClassMetrics `json:"per_class"`
	// Confusion counts rows by true class, then predicted class.
	Confusion map[string]map[string]int `json:"confusion"`

	PolarityN        int     `json:"polarity_n"`
	PolarityAccuracy float64 `json:"polarity_accuracy"`
	PolarityMacroF1  float64 `json:"polarity_macro_f1"`
	// NeutralRate is the share of polarity rows that Score labels neutral;
	// DecidedAccuracy the polarity accuracy over the others.
	NeutralRate     float64 `json:"neutral_rate"`
	DecidedAccuracy float64 `json:"decided_accuracy"`

	// DistinctN counts the distinct texts of the rows; DistinctAccuracy and
	// DistinctPolarityAccuracy are Accuracy and PolarityAccuracy counting
	// each distinct text once (with its first row's label). Corpora with
	// many copies of a few posts (weibo_emotion_17k: 1770 held-out rows,
	// 919 texts, one of them 37 times) are better judged by these.
	DistinctN                int     `json:"distinct_n"`
	DistinctAccuracy         float64 `json:"distinct_accuracy"`
	DistinctPolarityAccuracy float64 `json:"distinct_polarity_accuracy"`

	// Emotion7 only: the 7-way emotion scores (equal to Accuracy and
	// MacroF1 there).
	EmotionAccuracy float64 `json:"emotion_accuracy,omitempty"`
	EmotionMacroF1  float64 `json:"emotion_macro_f1,omitempty"`
}

// confusion accumulates a confusion matrix over class indices.
type confusion struct {
	names []string
	m     [][]int
}

func newConfusion(names []string) *confusion {
	c := &confusion{names: names, m: make([][]int, len(names))}
	for i := range c.m {
		c.m[i] = make([]int, len(names))
	}
	return c
}

func (c *confusion) add(truth, pred int) { c.m[truth][pred]++ }

// scores returns n, accuracy, macro-F1, per-class metrics and the matrix.
func (c *confusion) scores() (int, float64, float64, map[string]ClassMetrics, map[string]map[string]int) {
	k := len(c.names)
	n, correct := 0, 0
	predCount := make([]int, k)
	for t := range k {
		for p := range k {
			n += c.m[t][p]
			predCount[p] += c.m[t][p]
		}
		correct += c.m[t][t]
	}
	per := make(map[string]ClassMetrics, k)
	mat := make(map[string]map[string]int, k)
	var f1Sum float64
	for t := range k {
		support := 0
		row := make(map[string]int, k)
		for p := range k {
			support += c.m[t][p]
			row[c.names[p]] = c.m[t][p]
		}
		mat[c.names[t]] = row
		var cm ClassMetrics
		cm.Support = support
		if predCount[t] > 0 {
			cm.Precision = float64(c.m[t][t]) / float64(predCount[t])
		}
		if support > 0 {
			cm.Recall = float64(c.m[t][t]) / float64(support)
		}
		if cm.Precision+cm.Recall > 0 {
			cm.F1 = 2 * cm.Precision * cm.Recall / (cm.Precision + cm.Recall)
		}
		per[c.names[t]] = cm
		f1Sum += cm.F1
	}
	acc := 0.0
	if n > 0 {
		acc = float64(correct) / float64(n)
	}
	return n, acc, f1Sum / float64(k), per, mat
}

var (
	polarityNames  = []string{LabelNegative, LabelPositive}
	polarity3Names = []string{LabelNegative, LabelNeutral, LabelPositive}
)

// Evaluate scores m on rows labelled with the given label set. Rows whose
// label is not a code of the set are ignored.
func Evaluate(m *Model, rows []Example, labels LabelSet) *EvalReport {
	return EvaluateWith(m.Predict, rows, labels)
}

// EvaluateWith scores a predictor (Model.Predict, or the enrichment's
// scoring of a post's own words) on rows labelled with the given label
// set. Rows whose label is not a code of the set are ignored.
//
// Binary: polarity by the sign of Score, every row decided. Emotion7: the
// most probable emotion (surprise for a text without features), and the
// polarity by sign over the rows with one. Polarity3: the three labels
// (neutral band included), and the polarity by sign over the rows that
// have one.
func EvaluateWith(predict func(text string) Prediction, rows []Example, labels LabelSet) *EvalReport {
	rep := &EvalReport{LabelSet: labels}
	pol := newConfusion(polarityNames)
	emo := newConfusion(Emotions[:])
	three := newConfusion(polarity3Names)
	neutral, decided, decidedOK := 0, 0, 0
	seen := map[string]bool{}
	var dN, dOK, dPolN, dPolOK int
	for _, r := range rows {
		want := labels.Polarity(r.Label)
		isEmotion := labels == Emotion7 && r.Label >= 0 && r.Label < len(Emotions)
		is3 := labels == Polarity3 && r.Label >= -1 && r.Label <= 1
		if want == 0 && !isEmotion && !is3 {
			continue
		}
		rep.N++
		p := predict(r.Text)
		first := !seen[r.Text]
		seen[r.Text] = true
		if first {
			dN++
		}
		if isEmotion {
			e := emotionSurprise // no features at all: the mixed class
			if p.Features > 0 {
				e = 0
				for k := range p.EmotionProbs {
					if p.EmotionProbs[k] > p.EmotionProbs[e] {
						e = k
					}
				}
			}
			emo.add(r.Label, e)
			if first && e == r.Label {
				dOK++
			}
		}
		if is3 {
			got := 1
			switch p.Label {
			case LabelNegative:
				got = 0
			case LabelPositive:
				got = 2
			}
			three.add(r.Label+1, got)
			if first && got == r.Label+1 {
				dOK++
			}
		}
		if want == 0 {
			continue
		}
		truth, got := 0, 0
		if want > 0 {
			truth = 1
		}
		if p.Score > 0 {
			got = 1
		}
		pol.add(truth, got)
		if first {
			dPolN++
			if got == truth {
				dPolOK++
				if labels == Binary {
					dOK++
				}
			}
		}
		if p.Label == LabelNeutral {
			neutral++
		} else {
			decided++
			if got == truth {
				decidedOK++
			}
		}
	}
	var pn int
	pn, rep.PolarityAccuracy, rep.PolarityMacroF1, _, _ = pol.scores()
	rep.PolarityN = pn
	if pn > 0 {
		rep.NeutralRate = float64(neutral) / float64(pn)
	}
	if decided > 0 {
		rep.DecidedAccuracy = float64(decidedOK) / float64(decided)
	}
	rep.DistinctN = dN
	if dN > 0 {
		rep.DistinctAccuracy = float64(dOK) / float64(dN)
	}
	if dPolN > 0 {
		rep.DistinctPolarityAccuracy = float64(dPolOK) / float64(dPolN)
	}
	switch labels {
	case Emotion7:
		_, rep.Accuracy, rep.MacroF1, rep.PerClass, rep.Confusion = emo.scores()
		rep.EmotionAccuracy, rep.EmotionMacroF1 = rep.Accuracy, rep.MacroF1
	case Polarity3:
		_, rep.Accuracy, rep.MacroF1, rep.PerClass, rep.Confusion = three.scores()
	default:
		_, rep.Accuracy, rep.MacroF1, rep.PerClass, rep.Confusion = pol.scores()
	}
	return rep
}

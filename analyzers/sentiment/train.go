package sentiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/iwom/iwom/analyzers/normalize"
)

// TrainOptions are the settings of Train. Zero fields take the values of
// DefaultTrainOptions.
type TrainOptions struct {
	// DataDir holds the Corpora files.
	DataDir string `json:"-"`
	// Bits is log2 of the number of hash buckets (the model holds 9 bytes
	// per bucket).
	Bits int `json:"bits"`
	// NormPow: a feature counted c times in a text with n feature
	// occurrences has value c/n^NormPow.
	NormPow float64 `json:"norm_pow"`

	// Polarity head: logistic regression without intercept, trained by
	// AdaGrad on the training rows of all files (Weibo rows without
	// surprise); Runs fits on different shuffles are averaged.
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learning_rate"`
	L2           float64 `json:"l2"`
	Runs         int     `json:"runs"`
	// CorpusWeight scales the loss of each file's rows (file name →
	// weight, 1 if absent). The default counts Weibo rows twice: Weibo is
	// the domain the model is for.
	CorpusWeight map[string]float64 `json:"corpus_weight,omitempty"`

	// Weibo head: a second polarity head trained on the Weibo rows only,
	// as NBSVM (Wang & Manning 2012): each feature is scaled by its naive
	// Bayes log-count ratio on those rows (binarised counts, WeiboAlpha
	// added), buckets in fewer than MinSupport Weibo training texts are
	// left out, and the same logistic regression as the polarity head is
	// fitted (Epochs, LearningRate, L2, Runs). Its logit is added to the
	// polarity logit with weight WeiboWeight times the probability, by a
	// domain classifier, that the text is Weibo-like rather than a review.
	WeiboWeight float64 `json:"weibo_weight"`
	WeiboAlpha  float64 `json:"weibo_alpha"`
	// Domain classifier: logistic regression without intercept, Weibo
	// training rows against the review files' rows, the Weibo rows'
	// loss multiplied by DomainWeiboWeight (there are about five times
	// fewer of them); one fit, Epochs epochs.
	DomainWeiboWeight float64 `json:"domain_weibo_weight"`

	// Emotion head: multinomial logistic regression without intercepts,
	// trained by AdaGrad on the Weibo training rows.
	EmotionEpochs       int     `json:"emotion_epochs"`
	EmotionLearningRate float64 `json:"emotion_learning_rate"`
	EmotionL2           float64 `json:"emotion_l2"`

	// MinSupport and EmotionMinSupport zero the weights of buckets found
	// in fewer training texts (of the head's rows): such features are
	// mostly noise, and the zeros keep the model file small.
	MinSupport        int `json:"min_support"`
	EmotionMinSupport int `json:"emotion_min_support"`

	// Evidence gate (see cueWeights and Metadata.EvidenceScale): a
	// bucket's cue weight is |log ratio| − CueThreshold (at least 0),
	// with CueSmoothing added to the averaged rates.
	CueSmoothing  float64 `json:"cue_smoothing"`
	CueThreshold  float64 `json:"cue_threshold"`
	EvidenceScale float64 `json:"evidence_scale"`
	EvidenceFloor float64 `json:"evidence_floor"`

	// Threshold, IronyDamp, HeheDamp and EmotionMinProb are copied to
	// Metadata.
	Threshold      float64 `json:"threshold"`
	IronyDamp      float64 `json:"irony_damp"`
	HeheDamp       float64 `json:"hehe_damp"`
	EmotionMinProb float64 `json:"emotion_min_prob"`

	// Seed drives the shuffling of training rows.
	Seed uint64 `json:"seed"`

	// Split divides each file into training and held-out rows; empty is
	// SplitText, the split of every shipped figure. SplitRows is for
	// comparison with figures measured on a random row split.
	Split Split `json:"split,omitempty"`

	// Logf, if set, receives progress lines.
	Logf func(format string, args ...any) `json:"-"`
}

// DefaultTrainOptions are the settings the embedded model was trained with.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{
		Bits:                20,
		NormPow:             0.5,
		Epochs:              10,
		LearningRate:        0.2,
		L2:                  1e-5,
		Runs:                3,
		CorpusWeight:        map[string]float64{"weibo_emotion_17k.csv": 2},
		WeiboWeight:         0.5,
		WeiboAlpha:          1,
		DomainWeiboWeight:   4,
		EmotionEpochs:       5,
		EmotionLearningRate: 0.01,
		EmotionL2:           1e-5,
		MinSupport:          3,
		EmotionMinSupport:   3,
		CueSmoothing:        1e-3,
		CueThreshold:        0.75,
		EvidenceScale:       1,
		EvidenceFloor:       0.1,
		Threshold:           0.25,
		IronyDamp:           -0.3,
		HeheDamp:            0.05,
		EmotionMinProb:      0.25,
		Seed:                1,
	}
}

func (o *TrainOptions) fillDefaults() {
	d := DefaultTrainOptions()
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setFloat := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&o.Bits, d.Bits)
	setFloat(&o.NormPow, d.NormPow)
	setInt(&o.Epochs, d.Epochs)
	setFloat(&o.LearningRate, d.LearningRate)
	setFloat(&o.L2, d.L2)
	setInt(&o.Runs, d.Runs)
	if o.CorpusWeight == nil {
		o.CorpusWeight = d.CorpusWeight
	}
	setFloat(&o.WeiboWeight, d.WeiboWeight)
	setFloat(&o.WeiboAlpha, d.WeiboAlpha)
	setFloat(&o.DomainWeiboWeight, d.DomainWeiboWeight)
	setInt(&o.EmotionEpochs, d.EmotionEpochs)
	setFloat(&o.EmotionLearningRate, d.EmotionLearningRate)
	setFloat(&o.EmotionL2, d.EmotionL2)
	setInt(&o.MinSupport, d.MinSupport)
	setInt(&o.EmotionMinSupport, d.EmotionMinSupport)
	setFloat(&o.CueSmoothing, d.CueSmoothing)
	setFloat(&o.CueThreshold, d.CueThreshold)
	setFloat(&o.EvidenceScale, d.EvidenceScale)
	setFloat(&o.EvidenceFloor, d.EvidenceFloor)
	setFloat(&o.Threshold, d.Threshold)
	setFloat(&o.IronyDamp, d.IronyDamp)
	setFloat(&o.HeheDamp, d.HeheDamp)
	setFloat(&o.EmotionMinProb, d.EmotionMinProb)
	if o.Seed == 0 {
		o.Seed = d.Seed
	}
}

// TrainReport summarises a training run.
type TrainReport struct {
	Seconds float64 `json:"seconds"`
	// Data maps each file to its SHA-256.
	Data map[string]string `json:"data_sha256"`
	// TrainRows counts the training rows per file.
	TrainRows map[string]int `json:"train_rows"`
	// Slope and EmotionTemp are the calibrations fitted on the
	// development slice.
	Slope       float64 `json:"slope"`
	EmotionTemp float64 `json:"emotion_temp"`
	// Split is the rule that chose the held-out rows.
	Split Split `json:"split"`
	// HeldOut scores the returned model on each file's held-out split.
	HeldOut map[string]*EvalReport `json:"held_out"`
}

// Train fits a model on the training split of every file of Corpora in
// opts.DataDir and scores it on the held-out splits (see IsHeldOut), which
// it never trains on. Within the training split a development slice (see
// isDev) calibrates the score and the emotion probabilities: each head is
// fitted once without it, calibrated on it, and fitted again on all
// training rows for the returned model. Training is deterministic for
// given options on a given architecture.
func Train(opts TrainOptions) (*Model, *TrainReport, error) {
	start := time.Now()
	opts.fillDefaults()
	if opts.Bits < minBits || opts.Bits > maxBits {
		return nil, nil, fmt.Errorf("training sentiment model: bits %d outside [%d, %d]", opts.Bits, minBits, maxBits)
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bits := uint(opts.Bits)

	split, err := ParseSplit(string(opts.Split))
	if err != nil {
		return nil, nil, fmt.Errorf("training sentiment model: %w", err)
	}
	opts.Split = split
	if split == SplitText {
		opts.Split = "" // recorded in the model's metadata as before splits had names
	}
	data, err := loadCorpora(opts.DataDir, bits, opts.NormPow, split)
	if err != nil {
		return nil, nil, fmt.Errorf("training sentiment model: %w", err)
	}
	logf("read and featurised %d files in %v", len(data), time.Since(start).Round(time.Millisecond))

	// Polarity rows: every training row with a polarity. Emotion rows: the
	// Weibo training rows. The *Fit sets leave out the development slice.
	var polFit, polAll, emoFit, emoAll []ref
	for fi, d := range data {
		for ri, r := range d.train {
			dev := d.dev[ri]
			if d.c.Labels == Emotion7 && r.Label >= 0 && r.Label < len(Emotions) {
				emoAll = append(emoAll, ref{fi, ri, r.Label})
				if !dev {
					emoFit = append(emoFit, ref{fi, ri, r.Label})
				}
			}
			if p := d.c.Labels.Polarity(r.Label); p != 0 {
				y := (p + 1) / 2
				polAll = append(polAll, ref{fi, ri, y})
				if !dev {
					polFit = append(polFit, ref{fi, ri, y})
				}
			}
		}
	}

	var (
		wg          sync.WaitGroup
		pol, cue    []float64
		wb, dom     []float64
		emo         []float32
		slope, temp float64
	)
	wg.Go(func() {
		t := time.Now()
		fit := fitPolarity(data, polFit, bits, opts)
		var zs []float64
		var ys []int
		for _, r := range devRows(data, polAll) {
			zs = append(zs, fit.predict(data[r.file].train[r.row].Text).z)
			ys = append(ys, r.y)
		}
		slope = fitSlope(zs, ys)
		logf("polarity: slope %.3f fitted on %d development rows in %v", slope, len(zs), time.Since(t).Round(time.Millisecond))
	})
	wg.Go(func() {
		t := time.Now()
		all := fitPolarity(data, polAll, bits, opts)
		pol, cue, wb, dom = all.pol, all.cue, all.wb, all.dom
		logf("polarity: fitted on %d rows in %v", len(polAll), time.Since(t).Round(time.Millisecond))
	})
	wg.Go(func() {
		t := time.Now()
		fit := newModel(nil, fitEmotion(data, emoFit, bits, opts), nil, nil, nil, opts)
		var zs [][7]float64
		var ys []int
		for _, r := range devRows(data, emoAll) {
			zs = append(zs, fit.predict(data[r.file].train[r.row].Text).emo)
			ys = append(ys, r.y)
		}
		temp = fitTemperature(zs, ys)
		emo = fitEmotion(data, emoAll, bits, opts)
		logf("emotion: fitted on %d rows, temperature %.3f fitted on %d development rows, in %v",
			len(emoAll), temp, len(zs), time.Since(t).Round(time.Millisecond))
	})
	wg.Wait()

	m := newModel(pol, emo, cue, wb, dom, opts)
	m.meta.Slope = slope
	m.meta.EmotionTemp = temp
	m.setup()
	m.meta.Data = map[string]string{}
	m.meta.TrainRows = map[string]int{}
	m.meta.HeldOut = map[string]*EvalReport{}
	for _, d := range data {
		m.meta.Data[d.c.File] = d.sha
		m.meta.TrainRows[d.c.File] = len(d.train)
		m.meta.HeldOut[d.c.File] = Evaluate(m, d.heldOut, d.c.Labels)
	}
	rep := &TrainReport{
		Seconds:     time.Since(start).Seconds(),
		Data:        m.meta.Data,
		TrainRows:   m.meta.TrainRows,
		Slope:       slope,
		EmotionTemp: temp,
		Split:       split,
		HeldOut:     m.meta.HeldOut,
	}
	return m, rep, nil
}

// corpusData is one file, split, with its training rows featurised.
type corpusData struct {
	c              Corpus
	sha            string
	train, heldOut []Example
	feats          *sampleSet // features of the train rows
	dev            []bool     // train row is in the development slice
}

// loadCorpora reads and featurises all Corpora concurrently.
func loadCorpora(dir string, bits uint, normPow float64, split Split) ([]*corpusData, error) {
	data := make([]*corpusData, len(Corpora))
	errs := make([]error, len(Corpora))
	var wg sync.WaitGroup
	for i, c := range Corpora {
		wg.Go(func() {
			d := &corpusData{c: c, feats: newSampleSet()}
			d.train, d.heldOut, d.sha, errs[i] = loadSplit(dir, c.File, split)
			// Splits are decided on the text as stored; the model then
			// sees it as the enrich stage gives it: normalised (NFKC,
			// HTML, white space) and in simplified script.
			var buf []uint32
			for k, r := range d.train {
				d.dev = append(d.dev, isDev(r.Text))
				d.train[k].Text = normalize.Fold(r.Text)
				buf, _ = appendFeatures(buf[:0], d.train[k].Text, bits)
				d.feats.add(buf, normPow)
			}
			for k, r := range d.heldOut {
				d.heldOut[k].Text = normalize.Fold(r.Text)
			}
			data[i] = d
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// sampleSet stores the deduplicated features of many texts compactly.
type sampleSet struct {
	off []int
	idx []uint32
	val []float32
}

func newSampleSet() *sampleSet { return &sampleSet{off: []int{0}} }

func (s *sampleSet) row(i int) ([]uint32, []float32) {
	a, b := s.off[i], s.off[i+1]
	return s.idx[a:b], s.val[a:b]
}

// add appends a text's features (sorting feats in place) as (bucket,
// value) pairs.
func (s *sampleSet) add(feats []uint32, normPow float64) {
	if len(feats) > 0 {
		norm := math.Pow(float64(len(feats)), -normPow)
		slices.Sort(feats)
		for i := 0; i < len(feats); {
			j := i + 1
			for j < len(feats) && feats[j] == feats[i] {
				j++
			}
			s.idx = append(s.idx, feats[i])
			s.val = append(s.val, float32(float64(j-i)*norm))
			i = j
		}
	}
	s.off = append(s.off, len(s.idx))
}

// ref points at one training row and its target.
type ref struct{ file, row, y int }

// devRows returns the rows of the development slice.
func devRows(data []*corpusData, rows []ref) []ref {
	var out []ref
	for _, r := range rows {
		if data[r.file].dev[r.row] {
			out = append(out, r)
		}
	}
	return out
}

// floatPolarity is a fitted polarity head (with the Weibo head and the
// domain classifier) with its float weights and, for calibration, its
// quantised model (slope 1, no emotion).
type floatPolarity struct {
	pol, cue, wb, dom []float64
	*Model
}

// fitPolarity trains the polarity, Weibo, domain and cue weights on rows
// and prunes the weights of rarely seen buckets.
func fitPolarity(data []*corpusData, rows []ref, bits uint, o TrainOptions) floatPolarity {
	w := trainPolarity(data, rows, bits, o)
	prunePolarity(w, support(data, rows, bits), o.MinSupport)
	cue := cueWeights(data, rows, bits, o)

	var wbRows, domRows []ref
	for _, r := range rows {
		y := 0
		if data[r.file].c.Labels == Emotion7 {
			wbRows = append(wbRows, r)
			y = 1
		}
		domRows = append(domRows, ref{r.file, r.row, y})
	}
	wbSup := support(data, wbRows, bits)
	scale := nbRatio(data, wbRows, bits, o.WeiboAlpha)
	prunePolarity(scale, wbSup, o.MinSupport)
	wb := trainLR(data, wbRows, bits, o, lrSpec{
		scale: scale, runs: o.Runs, stream: 0x776230, constrain: true,
	})
	prunePolarity(wb, wbSup, o.MinSupport)

	var weibo string
	for _, d := range data {
		if d.c.Labels == Emotion7 {
			weibo = d.c.File
		}
	}
	dom := trainLR(data, domRows, bits, o, lrSpec{
		weight: map[string]float64{weibo: o.DomainWeiboWeight}, runs: 1, stream: 0x646f6d,
	})
	prunePolarity(dom, support(data, domRows, bits), o.MinSupport)
	return floatPolarity{pol: w, cue: cue, wb: wb, dom: dom, Model: newModel(w, nil, cue, wb, dom, o)}
}

// nbRatio returns, per bucket, the naive Bayes log-count ratio of the
// positive and negative rows: log((p_j+α)/‖p+α‖₁) − log((q_j+α)/‖q+α‖₁)
// with p_j, q_j the numbers of positive and negative rows holding
// bucket j. The lexicon group buckets get 1.
func nbRatio(data []*corpusData, rows []ref, bits uint, alpha float64) []float64 {
	n := 1 << bits
	cnt := make([]float64, 2*n) // [2j] negative, [2j+1] positive
	for _, r := range rows {
		idx, _ := data[r.file].feats.row(r.row)
		for _, j := range idx {
			cnt[2*int(j)+r.y]++
		}
	}
	var sq, sp float64
	for j := range n {
		sq += cnt[2*j] + alpha
		sp += cnt[2*j+1] + alpha
	}
	out := make([]float64, n)
	for j := range out {
		out[j] = math.Log((cnt[2*j+1]+alpha)/sp) - math.Log((cnt[2*j]+alpha)/sq)
	}
	for j := range numReserved {
		out[j] = 1
	}
	return out
}

// fitEmotion trains the emotion weights on rows and prunes the weights of
// rarely seen buckets.
func fitEmotion(data []*corpusData, rows []ref, bits uint, o TrainOptions) []float32 {
	w := trainEmotion(data, rows, bits, o)
	pruneEmotion(w, support(data, rows, bits), o.EmotionMinSupport)
	return w
}

func shuffled(rows []ref, rng *rand.Rand) []ref {
	out := slices.Clone(rows)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// constrainPolarity keeps the lexicon group features' weights on the side
// the lexicon says: positive emoticons ≥ 0, negative and ironic ones ≤ 0.
func constrainPolarity(w []float64) {
	w[idxEmoPositive] = math.Max(w[idxEmoPositive], 0)
	w[idxEmoNegative] = math.Min(w[idxEmoNegative], 0)
	w[idxEmoIronic] = math.Min(w[idxEmoIronic], 0)
	w[idxSlangPositive] = math.Max(w[idxSlangPositive], 0)
	w[idxSlangNegative] = math.Min(w[idxSlangNegative], 0)
}

// trainPolarity averages the weights of o.Runs fits on different
// shuffles, which steadies the result of plain SGD.
func trainPolarity(data []*corpusData, rows []ref, bits uint, o TrainOptions) []float64 {
	return trainLR(data, rows, bits, o, lrSpec{
		weight: o.CorpusWeight, runs: o.Runs, stream: 0x706f6c, constrain: true,
	})
}

// lrSpec describes one logistic regression fit by trainLR.
type lrSpec struct {
	// scale multiplies each bucket's feature values (nil: 1); the
	// returned weights have it folded in.
	scale []float64
	// weight multiplies the loss of each file's rows (1 if absent).
	weight map[string]float64
	// runs fits on different shuffles are averaged; stream tells the
	// fits of different heads apart in the random number generator.
	runs   int
	stream uint64
	// constrain keeps the lexicon group weights on their side.
	constrain bool
}

// trainLR fits logistic regression without intercept by AdaGrad (o.Epochs,
// o.LearningRate, o.L2 applied to the weights a row touches), averaging
// the weights of sp.runs fits on different shuffles.
func trainLR(data []*corpusData, rows []ref, bits uint, o TrainOptions, sp lrSpec) []float64 {
	n := 1 << bits
	runs := max(sp.runs, 1)
	sum := make([]float64, n)
	w := make([]float64, n)
	g2 := make([]float64, n)
	for run := range runs {
		clear(w)
		clear(g2)
		rng := rand.New(rand.NewPCG(o.Seed+uint64(run), sp.stream))
		for range o.Epochs {
			for _, r := range shuffled(rows, rng) {
				d := data[r.file]
				idx, val := d.feats.row(r.row)
				var z float64
				for k, j := range idx {
					v := float64(val[k])
					if sp.scale != nil {
						v *= sp.scale[j]
					}
					z += w[j] * v
				}
				g := sigmoid(z) - float64(r.y)
				if cw, ok := sp.weight[d.c.File]; ok {
					g *= cw
				}
				for k, j := range idx {
					v := float64(val[k])
					if sp.scale != nil {
						v *= sp.scale[j]
					}
					gr := g*v + o.L2*w[j]
					g2[j] += gr * gr
					w[j] -= o.LearningRate * gr / math.Sqrt(g2[j]+1e-6)
				}
				if sp.constrain {
					// The lexicon group buckets have scale 1.
					constrainPolarity(w)
				}
			}
		}
		for j := range sum {
			if sp.scale != nil {
				sum[j] += w[j] * sp.scale[j]
			} else {
				sum[j] += w[j]
			}
		}
	}
	for j := range sum {
		sum[j] /= float64(runs)
	}
	return sum
}

// trainEmotion fits multinomial logistic regression by AdaGrad; weights
// are stored bucket-major, 7 per bucket.
func trainEmotion(data []*corpusData, rows []ref, bits uint, o TrainOptions) []float32 {
	const k = 7
	n := 1 << bits
	w := make([]float32, n*k)
	g2 := make([]float32, n*k)
	rng := rand.New(rand.NewPCG(o.Seed, 0x656d6f))
	lr, l2 := float32(o.EmotionLearningRate), float32(o.EmotionL2)
	var z [k]float64
	for range o.EmotionEpochs {
		for _, r := range shuffled(rows, rng) {
			idx, val := data[r.file].feats.row(r.row)
			z = [k]float64{}
			for f, j := range idx {
				v := float64(val[f])
				for c := range k {
					z[c] += float64(w[int(j)*k+c]) * v
				}
			}
			softmax(z[:])
			z[r.y]-- // gradient of the log loss w.r.t. the logits
			for f, j := range idx {
				v := val[f]
				for c := range k {
					p := int(j)*k + c
					gr := float32(z[c])*v + l2*w[p]
					g2[p] += gr * gr
					w[p] -= lr * gr / float32(math.Sqrt(float64(g2[p])+1e-6))
				}
			}
		}
	}
	return w
}

// support counts, per bucket, the rows whose features include it.
func support(data []*corpusData, rows []ref, bits uint) []int32 {
	c := make([]int32, 1<<bits)
	for _, r := range rows {
		idx, _ := data[r.file].feats.row(r.row)
		for _, j := range idx {
			c[j]++
		}
	}
	return c
}

func prunePolarity(w []float64, sup []int32, min int) {
	for j := numReserved; j < len(w); j++ {
		if int(sup[j]) < min {
			w[j] = 0
		}
	}
}

func pruneEmotion(w []float32, sup []int32, min int) {
	for j := numReserved; j < len(sup); j++ {
		if int(sup[j]) < min {
			clear(w[j*7 : j*7+7])
		}
	}
}

// cueWeights returns, per bucket, the log ratio of the feature's rate in
// positive and in negative training texts. Rates are taken per file and
// per class and averaged over the files, so a feature frequent in one file
// only (a topic word: 冰箱, 外卖, 酒店) or tied to one file's class balance
// counts little; CueSmoothing is added to both averaged rates, so rare
// features count little too. What stays large are words that carry
// sentiment across domains (不错, 失望, 垃圾, 感谢, ...). The model uses
// them only to measure how much sentiment evidence a text has.
func cueWeights(data []*corpusData, rows []ref, bits uint, o TrainOptions) []float64 {
	n := 1 << bits
	nd := len(data)
	rate := make([]float64, 2*n) // [2j] positive, [2j+1] negative
	count := make([][2]float64, nd)
	for _, r := range rows {
		count[r.file][r.y]++
	}
	for _, r := range rows {
		idx, _ := data[r.file].feats.row(r.row)
		inc := 1 / count[r.file][r.y] / float64(nd)
		off := 1 - r.y
		for _, j := range idx {
			rate[2*int(j)+off] += inc
		}
	}
	out := make([]float64, n)
	for j := range out {
		out[j] = math.Log((rate[2*j] + o.CueSmoothing) / (rate[2*j+1] + o.CueSmoothing))
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// softmax replaces z by its softmax.
func softmax(z []float64) {
	mx := slices.Max(z)
	var s float64
	for i := range z {
		z[i] = math.Exp(z[i] - mx)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

// fitSlope finds a > 0 minimising the log loss of sigmoid(a·z) by Newton's
// method.
func fitSlope(zs []float64, ys []int) float64 {
	a := 1.0
	for range 50 {
		var g, h float64
		for i, z := range zs {
			p := sigmoid(a * z)
			g += (p - float64(ys[i])) * z
			h += p * (1 - p) * z * z
		}
		if h <= 0 {
			break
		}
		step := g / h
		a = math.Max(a-step, 1e-3)
		if math.Abs(step) < 1e-9 {
			break
		}
	}
	return a
}

// fitTemperature finds T > 0 minimising the log loss of softmax(T·z) by
// Newton's method.
func fitTemperature(zs [][7]float64, ys []int) float64 {
	t := 1.0
	var p [7]float64
	for range 50 {
		var g, h float64
		for i, z := range zs {
			for c := range 7 {
				p[c] = t * z[c]
			}
			softmax(p[:])
			var mean, sq float64
			for c := range 7 {
				mean += p[c] * z[c]
				sq += p[c] * z[c] * z[c]
			}
			g += mean - z[ys[i]]
			h += sq - mean*mean
		}
		if h <= 0 {
			break
		}
		step := g / h
		t = math.Max(t-step, 1e-3)
		if math.Abs(step) < 1e-9 {
			break
		}
	}
	return t
}

// lexiconCue is the least cue weight of the lexicon group features.
const lexiconCue = 1.5

func lexiconGroup(i int) bool {
	switch i {
	case idxEmoPositive, idxEmoNegative, idxSlangPositive, idxSlangNegative:
		return true
	}
	return false
}

// cueStep quantises cue weights: one unit of a stored byte is cueStep.
const cueStep = 0.02

// newModel quantises float weights into a model (slope and temperature 1
// until calibrated). Each head is scaled by its largest absolute weight.
// pol, emo, cue, wb and dom may be nil (all zero).
func newModel(pol []float64, emo []float32, cue, wb, dom []float64, o TrainOptions) *Model {
	n := 1 << o.Bits
	var pmax, emax, wmax, dmax float64
	for _, v := range pol {
		pmax = math.Max(pmax, math.Abs(v))
	}
	for _, v := range wb {
		wmax = math.Max(wmax, math.Abs(v))
	}
	for _, v := range dom {
		dmax = math.Max(dmax, math.Abs(v))
	}
	for _, v := range emo {
		emax = math.Max(emax, math.Abs(float64(v)))
	}
	m := &Model{w: make([][numCols]int8, n), cue: make([]uint8, n)}
	m.meta = Metadata{
		Version:        formatVersion,
		Bits:           o.Bits,
		NormPow:        o.NormPow,
		PolScale:       float32(pmax / 127),
		EmoScale:       float32(emax / 127),
		WeiboScale:     float32(wmax / 127),
		DomainScale:    float32(dmax / 127),
		WeiboWeight:    o.WeiboWeight,
		CueStep:        cueStep,
		EvidenceScale:  o.EvidenceScale,
		EvidenceFloor:  o.EvidenceFloor,
		IronyDamp:      o.IronyDamp,
		HeheDamp:       o.HeheDamp,
		Slope:          1,
		Threshold:      o.Threshold,
		EmotionTemp:    1,
		EmotionMinProb: o.EmotionMinProb,
		Train:          o,
	}
	m.setup()
	q := func(v float64, scale float32) int8 {
		if scale == 0 {
			return 0
		}
		return int8(math.Max(-127, math.Min(127, math.Round(v/float64(scale)))))
	}
	for i := range n {
		if pol != nil {
			m.w[i][colPol] = q(pol[i], m.meta.PolScale)
		}
		if emo != nil {
			for c := range 7 {
				m.w[i][colEmo+c] = q(float64(emo[i*7+c]), m.meta.EmoScale)
			}
		}
		if wb != nil {
			m.w[i][colWeibo] = q(wb[i], m.meta.WeiboScale)
		}
		if dom != nil {
			m.w[i][colDomain] = q(dom[i], m.meta.DomainScale)
		}
		if cue != nil {
			c := math.Max(0, math.Abs(cue[i])-o.CueThreshold)
			if lexiconGroup(i) {
				// The hand-written lexicons (emoticon and network
				// vocabulary groups) are sentiment words by definition.
				c = math.Max(c, lexiconCue)
			}
			m.cue[i] = uint8(math.Min(255, math.Round(c/cueStep)))
		}
	}
	return m
}

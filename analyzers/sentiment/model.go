package sentiment

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"sync"
)

// Result is the sentiment of one text.
type Result struct {
	// Score is the calibrated polarity in [-1, 1], 2·P(positive) − 1,
	// shrunk towards 0 when the text has little sentiment evidence. Texts
	// without any feature (empty, only a URL, @mention or #hashtag#)
	// score exactly 0.
	Score float64 `json:"score"`
	// Label is LabelPositive if Score ≥ Metadata.Threshold, LabelNegative
	// if Score ≤ −Metadata.Threshold, else LabelNeutral.
	Label string `json:"label"`
	// Emotion is one of Emotions, or "" for neutral texts and when no
	// emotion that agrees with the label is probable enough (see
	// Metadata.EmotionMinProb).
	Emotion string `json:"emotion,omitempty"`
}

// Labels of Result.
const (
	LabelPositive = "positive"
	LabelNeutral  = "neutral"
	LabelNegative = "negative"
)

// Model is a trained sentiment and emotion classifier. It is immutable and
// safe for concurrent use.
type Model struct {
	bits uint
	// w holds, per hash bucket, the quantised polarity weight, the seven
	// emotion weights, the Weibo polarity weight and the domain weight
	// (see the col* constants), so one feature costs one 10-byte load.
	w []([numCols]int8)
	// cue holds, per bucket, the feature's sentiment evidence in units of
	// Metadata.CueStep (see cueWeights).
	cue      []uint8
	polScale float64 // polarity weight = int8 · PolScale
	emoScale float64 // emotion logit = int8 · EmoScale · EmotionTemp
	wbScale  float64 // Weibo polarity weight = int8 · WeiboScale · WeiboWeight
	domScale float64 // domain weight = int8 · DomainScale
	meta     Metadata
}

// Columns of Model.w.
const (
	colPol    = 0 // polarity, all corpora
	colEmo    = 1 // first of the seven emotion weights
	colWeibo  = 8 // polarity, Weibo only
	colDomain = 9 // Weibo (> 0) versus review (< 0) text
	numCols   = 10
)

// Metadata describes how a model was built, how it scores and what it
// scored on the held-out splits. It is stored in the model file.
type Metadata struct {
	Version int `json:"version"`
	// Bits is log2 of the number of hash buckets.
	Bits int `json:"bits"`
	// NormPow: a feature counted c times in a text with n feature
	// occurrences has value c/n^NormPow.
	NormPow float64 `json:"norm_pow"`
	// PolScale, EmoScale and CueStep turn the stored bytes into weights.
	PolScale    float32 `json:"pol_scale"`
	EmoScale    float32 `json:"emo_scale"`
	WeiboScale  float32 `json:"weibo_scale"`
	DomainScale float32 `json:"domain_scale"`
	CueStep     float32 `json:"cue_step"`

	// WeiboWeight: the polarity logit, before the evidence gate, is
	// Σ (pol + WeiboWeight·sigmoid(d)·weibo)·value, where d = Σ
	// domain·value is the domain classifier's logit (Weibo-like text
	// > 0, review-like text < 0). The Weibo head thus speaks for
	// Weibo-style posts and keeps quiet on product reviews.
	WeiboWeight float64 `json:"weibo_weight"`

	// The polarity logit z = Σ weight·value is multiplied by the evidence
	// gate EvidenceFloor + (1−EvidenceFloor)·(1 − exp(−E/EvidenceScale)),
	// where E sums the cue weights of the text's features. A text
	// without sentiment-bearing words has E ≈ 0, so only EvidenceFloor
	// of its logit (which comes from topic words) is kept.
	EvidenceScale float64 `json:"evidence_scale"`
	EvidenceFloor float64 `json:"evidence_floor"`
	// IronyDamp multiplies a positive logit when the text carries an
	// ironic emoticon ([微笑], [呵呵], [doge], [允悲], ...). Negative: the
	// praise is read as sarcasm (呵呵，真是好服务[微笑] is negative).
	IronyDamp float64 `json:"irony_damp"`
	// HeheDamp multiplies a positive logit when the text says 呵呵 (and
	// has no ironic emoticon).
	HeheDamp float64 `json:"hehe_damp"`
	// Slope calibrates the gated logit: Score = tanh(Slope·z/2) =
	// 2·sigmoid(Slope·z) − 1. It is fitted on the development slice.
	Slope float64 `json:"slope"`
	// Threshold is the neutral band: |Score| < Threshold is neutral.
	Threshold float64 `json:"threshold"`

	// EmotionTemp scales the emotion logits before the softmax; fitted on
	// the development slice of the Weibo file.
	EmotionTemp float64 `json:"emotion_temp"`
	// EmotionMinProb is the smallest probability for which an emotion is
	// reported.
	EmotionMinProb float64 `json:"emotion_min_prob"`

	Train TrainOptions `json:"train_options"`
	// Data maps each training file to its SHA-256.
	Data map[string]string `json:"data_sha256"`
	// TrainRows counts the training rows used per file.
	TrainRows map[string]int `json:"train_rows"`
	// HeldOut scores the model on each file's held-out split.
	HeldOut map[string]*EvalReport `json:"held_out"`
}

// Metadata returns the model's metadata (training data checksums,
// hyper-parameters, held-out scores). Its maps are shared with the model
// and must not be modified.
func (m *Model) Metadata() Metadata { return m.meta }

// setup derives the scoring constants from the metadata.
func (m *Model) setup() {
	m.bits = uint(m.meta.Bits)
	m.polScale = float64(m.meta.PolScale)
	m.emoScale = float64(m.meta.EmoScale) * m.meta.EmotionTemp
	m.wbScale = float64(m.meta.WeiboScale) * m.meta.WeiboWeight
	m.domScale = float64(m.meta.DomainScale)
}

//go:embed model.bin.gz
var embeddedModel []byte

var (
	defaultOnce  sync.Once
	defaultModel *Model
	defaultErr   error
)

// Default returns the model embedded in the package, loading it on first
// use. It is shared and safe for concurrent use.
func Default() (*Model, error) {
	defaultOnce.Do(func() {
		defaultModel, defaultErr = Load(bytes.NewReader(embeddedModel))
		if defaultErr != nil {
			defaultErr = fmt.Errorf("loading embedded sentiment model: %w", defaultErr)
		}
	})
	return defaultModel, defaultErr
}

// featBufs recycles feature buffers so that Score does not allocate.
var featBufs = sync.Pool{New: func() any { b := make([]uint32, 0, 1024); return &b }}

// maxPooledFeatures bounds the buffers kept in featBufs.
const maxPooledFeatures = 1 << 16

// prediction is the full output of the model for one text.
type prediction struct {
	features int     // feature occurrences
	evidence float64 // E, the summed cue weights
	domain   float64 // domain logit: > 0 Weibo-like, < 0 review-like
	z        float64 // gated, irony-damped polarity logit, before Slope
	score    float64
	emo      [7]float64 // emotion logits (temperature applied)
}

// Score returns the sentiment of text: already normalised simplified
// Chinese, the author's own words. It does not allocate.
func (m *Model) Score(text string) Result {
	p := m.predict(text)
	r := Result{Score: p.score, Label: m.label(p.score)}
	if r.Label != LabelNeutral {
		if e, prob := p.emotion(r.Label); prob >= m.meta.EmotionMinProb {
			r.Emotion = Emotions[e]
		}
	}
	return r
}

// Prediction is the full output of the model for one text.
type Prediction struct {
	Result
	// Features counts the feature occurrences of the text: 0 for a text
	// without any (empty, or only URLs, @mentions and #hashtags#).
	Features int `json:"features"`
	// EmotionProbs are the probabilities of Emotions over all seven,
	// whatever the label (Result.Emotion is restricted to the label's
	// side and to probable ones).
	EmotionProbs [7]float64 `json:"emotion_probs"`
}

// Predict returns Score's result with the emotion probabilities. It does
// not allocate.
func (m *Model) Predict(text string) Prediction {
	p := m.predict(text)
	out := Prediction{Result: Result{Score: p.score, Label: m.label(p.score)}, Features: p.features}
	if out.Label != LabelNeutral {
		if e, prob := p.emotion(out.Label); prob >= m.meta.EmotionMinProb {
			out.Emotion = Emotions[e]
		}
	}
	if p.features > 0 {
		best, _ := p.emotion("")
		var sum float64
		for k := range p.emo {
			out.EmotionProbs[k] = math.Exp(p.emo[k] - p.emo[best])
			sum += out.EmotionProbs[k]
		}
		for k := range out.EmotionProbs {
			out.EmotionProbs[k] /= sum
		}
	}
	return out
}

// Threshold is the edge of the neutral band: |Score| below it is neutral.
func (m *Model) Threshold() float64 { return m.meta.Threshold }

func (m *Model) label(score float64) string {
	switch {
	case score >= m.meta.Threshold:
		return LabelPositive
	case score <= -m.meta.Threshold:
		return LabelNegative
	}
	return LabelNeutral
}

func (m *Model) predict(text string) prediction {
	bp := featBufs.Get().(*[]uint32)
	feats, flags := appendFeatures((*bp)[:0], text, m.bits)
	var pol, wb, dom int32
	var emo [7]int32
	var ev uint32
	w, cue := m.w, m.cue
	for _, ix := range feats {
		ev += uint32(cue[ix])
		b := &w[ix]
		pol += int32(b[colPol])
		emo[0] += int32(b[colEmo])
		emo[1] += int32(b[colEmo+1])
		emo[2] += int32(b[colEmo+2])
		emo[3] += int32(b[colEmo+3])
		emo[4] += int32(b[colEmo+4])
		emo[5] += int32(b[colEmo+5])
		emo[6] += int32(b[colEmo+6])
		wb += int32(b[colWeibo])
		dom += int32(b[colDomain])
	}
	n := len(feats)
	if cap(feats) <= maxPooledFeatures {
		*bp = feats
		featBufs.Put(bp)
	}
	p := prediction{features: n}
	if n == 0 {
		return p
	}
	norm := m.norm(n)
	p.evidence = float64(ev) * float64(m.meta.CueStep)
	f := m.meta.EvidenceFloor
	gate := f - (1-f)*math.Expm1(-p.evidence/m.meta.EvidenceScale)
	p.domain = float64(dom) * m.domScale * norm
	// Irony damps the praise of each head on its own, so that one head's
	// praise (谢谢 to the Weibo head) does not cancel the other's
	// complaint in 真是谢谢你啊，让我等了三个小时[微笑].
	zg := m.damp(float64(pol)*m.polScale, flags)
	zw := m.damp(float64(wb)*m.wbScale/(1+math.Exp(-p.domain)), flags)
	p.z = (zg + zw) * norm * gate
	p.score = math.Tanh(m.meta.Slope * p.z / 2)
	for k := range emo {
		p.emo[k] = float64(emo[k]) * m.emoScale * norm
	}
	return p
}

// damp applies IronyDamp or HeheDamp to a positive logit of a text with
// those flags.
func (m *Model) damp(z float64, flags featureFlags) float64 {
	switch {
	case z <= 0:
	case flags&flagIrony != 0:
		z *= m.meta.IronyDamp
	case flags&flagHehe != 0:
		z *= m.meta.HeheDamp
	}
	return z
}

// emotion returns the most probable emotion and its probability. With
// label LabelPositive or LabelNegative only emotions of that polarity (or
// surprise) are candidates; with any other label all are.
func (p *prediction) emotion(label string) (int, float64) {
	want := 0
	switch label {
	case LabelPositive:
		want = 1
	case LabelNegative:
		want = -1
	}
	best := -1
	for k := range p.emo {
		if pk := Emotion7.Polarity(k); want != 0 && pk != 0 && pk != want {
			continue
		}
		if best < 0 || p.emo[k] > p.emo[best] {
			best = k
		}
	}
	var sum float64
	for k := range p.emo {
		sum += math.Exp(p.emo[k] - p.emo[best])
	}
	return best, 1 / sum
}

func (m *Model) norm(n int) float64 {
	switch m.meta.NormPow {
	case 0:
		return 1
	case 0.5:
		return 1 / math.Sqrt(float64(n))
	case 1:
		return 1 / float64(n)
	}
	return math.Pow(float64(n), -m.meta.NormPow)
}

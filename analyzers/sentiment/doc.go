// Package sentiment scores the polarity and emotion of Chinese social-media
// text (Weibo/WeChat posts) with a trained, embedded model.
//
//	m, err := sentiment.Default() // loads the embedded model once
//	r := m.Score("招商银行的微信值机服务太方便了[赞]")
//	// r.Score ≈ +0.84, r.Label == "positive", r.Emotion == "optimism"
//
// Score expects normalised simplified Chinese (normalize.Fold), the
// author's own words (repost chains stripped), brand names masked; package
// enrich does all three. It costs a few microseconds for a 100-character
// post on one core, does not allocate, and is safe for concurrent use.
// Predict adds the probabilities of the seven emotions.
//
// # Features
//
// The text is scanned once, rune by rune, and every feature is hashed
// straight into one of 2^20 buckets (see features.go):
//   - character 1-, 2- and 3-grams within segments split at whitespace and
//     punctuation (! ? ~ … stay as characters, "..." reads as …; digits
//     fold to 0, Latin to lower case, full width to half width, runs
//     longer than 3 are cut);
//   - negation scope: after 不 没(有) 无 未 别 非 莫 勿 甭 the next 3
//     characters also emit negation-tagged unigrams and bigrams (不好吃 gives
//     NEG好, NEG吃, NEG好吃); words such as 不错, 不过, 非常, 特别, 无论,
//     对不起 open no scope;
//   - degree scope: after an intensifier (很 太 超 真 非常 特别 十分 …) or
//     a diminisher (有点 有些 稍 略 比较 …) the next 2 characters emit
//     degree-tagged unigrams and bigrams; 不太 is a negation, not an
//     intensifier;
//   - contrast: after 但(是) 却 可是 然而 不过, every later character also
//     emits contrast-tagged unigrams and bigrams;
//   - emoticons [name]: one feature per name plus a group feature for the
//     positive ([哈哈] [赞] [爱你] [心] [good] …) and negative ([泪] [怒]
//     [抓狂] [衰] [失望] …) lexicons, whose polarity weights are kept ≥ 0
//     resp. ≤ 0;
//   - network vocabulary (lexicon.go: yyds, 绝绝子, 永远的神, 打call, 真香 …
//     and 拉胯, 避雷, 翻车, 塌房, 智商税, 割韭菜 …): a group feature per
//     polarity on top of the words' n-grams, its weight learned from the
//     members the 2010s training data has (给力, 坑爹, 垃圾, 差评) and kept
//     on the lexicon's side; a positive word after a negator (不给力, 不靠谱)
//     counts as negative;
//   - emoji: one feature each.
//
// Irony. Ironic emoticons ([微笑] [呵呵] [doge] [允悲] [笑cry] [围观] …)
// emit only an ironic group feature (weight ≤ 0) and turn praise into its
// opposite: a positive logit is multiplied by IronyDamp (−0.3), so
// 呵呵，真是好服务[微笑] is negative. The bare word 呵呵 only damps
// praise (HeheDamp 0.05, to neutral): the 2013 Weibo data uses it kindly
// (53 of its 65 posts with 呵呵 are labelled optimism) where today's
// Weibo mostly does not.
//
// Questions. A clause (cut at ， 。 ！ ？ ； … ~ and line breaks) that asks
// for information — it holds a cue such as 请问, 有没有人, 有人用过,
// 多少钱, 在哪里买, 什么时候上市, 怎么申请 and no complaint cue such as
// 怎么还, 为什么又, 凭什么, 难道, 到底, ？？ — contributes no features: the
// review corpora are full of complaining questions, so their n-grams read
// 吗 and 有没有 as negative, and 请问英特尔的芯片在哪里可以买到？ would
// otherwise score −0.65. A bare yes/no question (好用吗？) is kept: in
// reviews it is mostly rhetorical.
//
// URLs, @mentions and #hashtags# are skipped: a topic is not the author's
// sentiment, and a text made only of them scores exactly 0.
//
// # Model and score
//
// Each bucket holds an int8 polarity weight, seven int8 emotion weights,
// an int8 Weibo polarity weight, an int8 domain weight and a uint8 cue
// weight (11 MB in memory; the gzip file is about 1.8 MB). For a text with
// n feature occurrences (values v = 1/√n per occurrence),
//
//	d = Σ dom_f / √n                                   domain logit
//	z = gate(E) · Σ (w_f + WeiboWeight·σ(d)·wb_f) / √n
//	gate(E) = 0.1 + 0.9·(1 − exp(−E)),
//
// where w is the polarity head trained on all four corpora, wb the Weibo
// head trained on the Weibo posts only, d the logit of a Weibo-vs-review
// domain classifier (σ(d) ≈ 1 for Weibo-style posts, ≈ 0 for product and
// hotel reviews) and E sums the cue weights of the features. The Weibo head
// thus speaks for the posts the model is for and stays quiet on reviews,
// whose polarity the review corpora teach better. Cue weights measure how
// consistently a feature signals polarity across the four corpora (class-
// and file-balanced log ratio, smoothed, minus 0.75; see cueWeights; the
// lexicon group features get at least 1.5): they are high for 不错, 失望,
// 垃圾, 感谢, and about 0 for topic words such as 冰箱 or 发布 that the
// regression weights pick up from skewed review categories. Text without
// sentiment words thus keeps a tenth of its logit and scores near 0
// ("西门子今天发布了新款冰箱" ≈ +0.1), while the sign, and so the held-out
// accuracy, is unchanged. Irony damping applies to the praise of each
// head separately.
//
// Score = tanh(Slope·z/2) = 2·P(positive) − 1, with Slope fitted on a
// development slice of the training data, so Score is calibrated. Label is
// positive if Score ≥ 0.25 (P(positive) ≥ 0.625), negative if Score ≤
// −0.25, else neutral: a band wide enough to hold texts whose evidence is
// weak or mixed, narrow enough that 89–93% of held-out reviews get a
// polarity.
//
// Emotion comes from a 7-way softmax over the emotion weights, its
// temperature fitted on the Weibo development slice. It is reported only
// for positive or negative texts, restricted to emotions of that polarity
// (optimism, gratitude / fear, disgust, sadness, anger; surprise goes with
// either), and only if its probability is at least 0.25; otherwise it is "".
//
// # Training
//
// Train reads the four files of Corpora from the shared data directory
// (../shared/data/sentiment): ChnSentiCorp_htl_all, waimai_10k,
// online_shopping_10_cats (binary) and weibo_emotion_17k (7 emotions;
// optimism and gratitude positive, surprise without polarity, the rest
// negative). A text is held out for testing when the first 8 bytes of its
// SHA-256 are 0 mod 10 (IsHeldOut, HeldOut, LoadSplit): about 10% per file,
// never trained on, and identical texts in or across files land on the same
// side. Of the rest, a development slice (another 10%, by bytes 8–16 of the
// hash) calibrates Slope and the emotion temperature. Texts are split as
// stored and then normalised as the enrich stage normalises posts
// (normalize.Fold: NFKC, simplified script).
//
// The polarity head is one logistic regression without intercept, trained
// by AdaGrad (10 epochs, learning rate 0.2, L2 1e-5 on touched weights) on
// the training rows of all files, Weibo rows counted twice as Weibo is the
// target domain; three fits on different shuffles are averaged. The Weibo
// head is NBSVM (Wang & Manning 2012) on the Weibo training rows: every
// feature is scaled by its naive Bayes log-count ratio on those rows
// (binarised counts, add-1 smoothing; buckets in fewer than 3 Weibo texts
// get 0) and the same logistic regression is fitted on the scaled
// features; the scale is folded into the stored weight, so scoring costs
// nothing more. WeiboWeight is 0.5. The domain classifier is a logistic
// regression without intercept, Weibo training rows (loss ×4) against the
// review rows, one fit. The emotion head is a multinomial logistic regression without intercepts on
// the Weibo rows (5 epochs, learning rate 0.01). Weights of buckets seen in
// fewer than 3 training texts are zeroed. Without intercepts, a text
// without features scores exactly 0 with no emotion. Training takes 11–20 s
// on 2 cores and is deterministic; the hyper-parameters, the SHA-256 of
// each file and the held-out scores are stored in the model file
// (Model.Metadata). To rebuild model.bin.gz:
//
//	iwomlab train sentiment --data ../shared/data/sentiment --out analyzers/sentiment/model.bin.gz
//	go generate ./analyzers/sentiment/    # the same, without the iwom binary
//
// TestEmbeddedModelReproducible retrains and checks that the result equals
// the embedded model; `iwomlab train sentiment` says so too.
//
// # Held-out scores of the embedded model
//
// Polarity is decided by the sign of Score; "neutral" is the share of
// held-out texts that Score labels neutral. `iwomlab eval sentiment` gives the
// same figures through the enrich stage's normalisation and brand masking,
// but for waimai_10k (0.9011 there: masking 可口可乐 in one review flips
// it).
//
//	file                          n     accuracy  macro-F1  neutral
//	ChnSentiCorp_htl_all          803   0.9141    0.9040    0.082
//	waimai_10k                    1223  0.9019    0.8855    0.111
//	online_shopping_10_cats       6229  0.9334    0.9334    0.067
//	weibo_emotion_17k polarity    1544  0.8944    0.8921    0.119
//	weibo_emotion_17k emotion     1770  0.6627    0.6222
//
// Emotion F1 per class: gratitude 0.90, optimism 0.71, fear 0.70, anger
// 0.59, surprise 0.52, disgust 0.48, sadness 0.46. The Weibo split holds
// 1770 rows but only 919 distinct texts (one post appears 37 times);
// counted over distinct texts, polarity accuracy is 0.893 and emotion
// accuracy 0.606.
//
// The brief's Weibo polarity target of 0.92 is not reached (0.894). Its
// reference point, "naive Bayes over character bigrams reaches about
// 0.90", holds on a random row split, where copies of a post land on both
// sides (NB: 0.922 there, and this model's recipe 0.952); on this split,
// where no held-out text was trained on, the same naive Bayes reaches
// 0.873 (NaiveBayesBaseline; `iwomlab train sentiment --baseline [--split
// rows]` and `iwomlab train sentiment --split rows`). Row accuracy here is
// dominated by a few duplicated posts: two gratitude posts mentioning 难过,
// 绝望, 牺牲 make 48 of the 1544 rows (3.1 points). This model gets both
// wrong; the only change found that fixes them (the emotion head's
// polarity added to the logit: 0.914 on rows) leaves the distinct-text
// accuracy where it was (0.877), so it is not used. See docs/QUALITY.md
// for the measurements.
package sentiment

//go:generate go run ../../cmd/iwomlab train sentiment --data ../../../shared/data/sentiment --out model.bin.gz

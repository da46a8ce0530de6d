package sentiment

// Hand-written lexicons used by the feature extractor. They add generic
// features (emoticon groups, negation and degree scopes) that let the model
// generalise beyond the n-grams seen in the training reviews.

// Emoticon groups. Weibo emoticons are written as [name] in post text.
const (
	emoNone = iota
	emoPositive
	emoNegative
	// emoIronic marks emoticons that are usually sarcastic or ambiguous on
	// Weibo. They emit no literal feature, only the ironic group feature,
	// and damp positive evidence (see Metadata.IronyDamp).
	emoIronic
)

// emoticonGroups maps the hash of a lower-cased emoticon name (see
// emoticonHash) to its group. Emoticons not listed still get their own
// learned feature; listed ones also feed a shared group feature so that
// emoticons rare in the training data are read correctly.
var emoticonGroups = map[uint64]int{}

func init() {
	add := func(g int, names ...string) {
		for _, n := range names {
			emoticonGroups[emoticonHash(n)] = g
		}
	}
	add(emoPositive,
		"哈哈", "嘻嘻", "偷笑", "爱你", "心", "鼓掌", "赞", "good", "给力", "太开心",
		"亲亲", "可爱", "笑哈哈", "开心", "耶", "威武", "花心", "酷", "好棒", "干杯",
		"玫瑰", "鲜花", "礼物", "抱抱", "握手", "加油", "星星眼", "憧憬", "ok", "好喜欢",
		"好爱哦", "赞啊", "馋嘴", "色", "羞嗒嗒", "害羞", "爱心", "作揖", "蛋糕", "太阳",
		"噢耶", "棒棒糖", "得意地笑", "心动", "抱一抱",
	)
	add(emoNegative,
		"泪", "悲伤", "伤心", "怒", "抓狂", "衰", "鄙视", "失望", "委屈", "哼",
		"生病", "可怜", "大哭", "怒骂", "吐", "晕", "泪流满面", "心碎", "蜡烛",
		"左哼哼", "右哼哼", "黑线", "弱", "闭嘴", "崩溃", "囧", "愤怒", "感冒", "惊恐",
		"汗", "不要", "打脸", "跪了", "吐血", "裂开", "哭", "悲催",
		"泪目", "苦涩", "淚",
	)
	add(emoIronic,
		"微笑", "呵呵", "允悲", "笑cry", "doge", "二哈", "围观", "吃瓜", "挖鼻", "挖鼻屎",
		"摊手", "阴险", "喵喵", "费解", "白眼", "并不简单",
	)
}

// isNegator reports whether r opens a negation scope over the following few
// characters, given the character p before it (0 at a segment start). The
// previous character rules out words in which the negator is not one
// (特别, 区别, 除非, 对不起, 差不多, ...).
func isNegator(p, r rune) bool {
	switch r {
	case '不':
		switch p {
		case '了', '对', '差', '要', '得':
			return false
		}
		return true
	case '别':
		switch p {
		case '特', '区', '分', '告', '级', '类', '个', '性', '离', '识', '辨', '差', '派', '送', '道', '鉴', '惜':
			return false
		}
		return true
	case '非':
		switch p {
		case '是', '除', '南', '莫':
			return false
		}
		return true
	case '没', '无', '未', '莫', '勿', '甭':
		return true
	}
	return false
}

// negException reports whether negator n followed by r forms a word that does
// not negate what follows (不过, 非常, 无论, 别人, 未来, ...).
func negException(n, r rune) bool {
	switch n {
	case '不':
		switch r {
		case '过', '仅', '但', '断', '久', '少', '同', '管', '然', '禁', '停', '论', '已', '光', '只', '错':
			return true
		}
	case '非':
		switch r {
		case '常', '要', '凡':
			return true
		}
	case '无':
		switch r {
		case '论', '数', '比', '限', '穷':
			return true
		}
	case '别':
		switch r {
		case '人', '的', '说', '处', '墅':
			return true
		}
	case '未':
		switch r {
		case '来', '免':
			return true
		}
	case '莫':
		switch r {
		case '名':
			return true
		}
	}
	return false
}

// Degree adverbs. Intensifiers (很, 太, 非常, ...) and diminishers (有点,
// 稍微, ...) open a short scope whose characters get extra, scope-tagged
// features so that the strength of the following word can be learned
// independently of which adverb introduced it.
const (
	degNone = iota
	degIntensifier
	degDiminisher
)

// degreeSingle classifies single-character degree adverbs.
func degreeSingle(r rune) int {
	switch r {
	case '很', '太', '超', '挺', '极', '最', '巨', '贼', '蛮', '真', '更':
		return degIntensifier
	case '稍', '略':
		return degDiminisher
	}
	return degNone
}

// degreePair classifies two-character degree adverbs ending in r.
func degreePair(p, r rune) int {
	switch p {
	case '非':
		if r == '常' {
			return degIntensifier
		}
	case '特':
		if r == '别' {
			return degIntensifier
		}
	case '十':
		if r == '分' {
			return degIntensifier
		}
	case '相':
		if r == '当' {
			return degIntensifier
		}
	case '格':
		if r == '外' {
			return degIntensifier
		}
	case '实':
		if r == '在' {
			return degIntensifier
		}
	case '有':
		if r == '点' || r == '些' {
			return degDiminisher
		}
	case '一':
		if r == '点' {
			return degDiminisher
		}
	case '比':
		if r == '较' {
			return degDiminisher
		}
	}
	return degNone
}

// isContrast reports whether r, after p, ends a contrast conjunction (但,
// 却, 可是, 然而, 不过; not 不但).
func isContrast(p, r rune) bool {
	switch r {
	case '但':
		return p != '不'
	case '却':
		return true
	case '是':
		return p == '可'
	case '而':
		return p == '然'
	case '过':
		return p == '不'
	}
	return false
}

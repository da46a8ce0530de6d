package sentiment

import (
	"sort"
	"strings"
	"unicode/utf8"
)

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

// Sentiment words: network vocabulary with a clear polarity and common
// evaluative words of product and service talk. The training reviews are
// from the 2010s and lack much of the first and some of the second, so each
// word also feeds a shared group feature per polarity (like the emoticon
// groups), whose weight is learned from the members the data does have and
// kept on the lexicon's side. A word right after a negator (不给力, 不靠谱,
// 不贵, 不失望) counts for the other side. Single characters (差, 慢, 棒)
// are left out: they are parts of too many other words.
var (
	slangPositive = []string{
		// network vocabulary
		"yyds", "绝绝子", "永远的神", "打call", "真香", "给力", "点赞", "良心", "种草", "爱了",
		"吹爆", "无敌", "牛逼", "牛批", "666", "超赞", "宝藏", "天花板", "封神", "好评",
		"圈粉", "暖心", "走心", "靠谱", "回购", "闭眼入", "奥利给", "太香了", "强推",
		// evaluative words
		"好用", "好吃", "好喝", "好看", "漂亮", "美观", "精致", "舒服", "舒适", "方便",
		"便捷", "实用", "划算", "实惠", "超值", "值得", "满意", "喜欢", "热情",
		"耐心", "专业", "及时", "迅速", "准时", "干净", "整洁", "新鲜", "正品", "稳定",
		"流畅", "清晰", "安静", "省心", "放心", "贴心", "周到", "细致", "完美", "优秀",
		"出色", "惊艳", "惊喜", "感动", "感谢", "谢谢", "开心", "高兴", "愉快", "幸福",
		"优质", "大气", "五星", "满分", "拍案叫绝", "物美价廉", "耐用", "结实", "精美", "美味",
	}
	slangNegative = []string{
		// network vocabulary
		"拉胯", "拉垮", "避雷", "踩雷", "翻车", "塌房", "坑爹", "智商税", "割韭菜", "垃圾",
		"辣鸡", "差评", "心塞", "无语", "凉凉", "恶心", "坑人", "骗子", "拉黑", "膈应",
		"糟心", "闹心", "奸商", "黑心", "无良", "霸王条款", "乱扣费", "盗刷", "劝退", "踩坑",
		"被坑", "气死", "烦死", "离谱", "闪退", "卡顿", "下头", "emo", "吐槽", "智障",
		// evaluative words
		"难用", "难吃", "难喝", "难看", "难闻", "糟糕", "失望", "后悔", "生气", "愤怒",
		"恶劣", "敷衍", "冷漠", "傲慢", "粗鲁", "延误", "晚点", "拖延", "死机", "发烫",
		"漏水", "破损", "损坏", "故障", "掉色", "褪色", "起球", "开胶", "异味", "变质",
		"过期", "假货", "山寨", "高仿", "劣质", "粗糙", "低级", "低俗", "欺骗", "欺诈",
		"骗人", "乱收费", "投诉", "推诿", "推卸", "打不通", "昂贵", "浪费", "麻烦", "噪音",
		"郁闷", "崩溃", "可恶", "差劲", "太差", "很差", "极差", "太慢", "太贵", "不值",
	}
	// slangByFirst indexes both lists by their first rune.
	slangByFirst = map[rune][]slangWord{}
	// slangFirst marks first runes below 0x10000 (a fast reject).
	slangFirst [1 << 16 / 64]uint64
)

type slangWord struct {
	w        string
	positive bool
}

func init() {
	add := func(ws []string, pos bool) {
		for _, w := range ws {
			r, _ := utf8.DecodeRuneInString(w)
			slangByFirst[r] = append(slangByFirst[r], slangWord{w, pos})
			if r < 1<<16 {
				slangFirst[r/64] |= 1 << (r % 64)
			}
		}
	}
	add(slangPositive, true)
	add(slangNegative, false)
	for _, ws := range slangByFirst {
		sort.Slice(ws, func(i, j int) bool { return len(ws[i].w) > len(ws[j].w) })
	}
}

// slangAt returns the length in bytes of the lexicon word that text[i:]
// begins with (ASCII letters in any case) and its polarity, or 0.
func slangAt(text string, i int, r rune) (int, bool) {
	if r >= 1<<16 || slangFirst[r/64]&(1<<(r%64)) == 0 {
		if !('A' <= r && r <= 'Z') {
			return 0, false
		}
		r += 'a' - 'A'
		if slangFirst[r/64]&(1<<(r%64)) == 0 {
			return 0, false
		}
	}
	for _, sw := range slangByFirst[r] {
		if len(text)-i >= len(sw.w) && strings.EqualFold(text[i:i+len(sw.w)], sw.w) {
			// A Latin word must not run on into more letters (yyds,
			// not yydsx).
			if end := i + len(sw.w); sw.w[0] < utf8.RuneSelf && end < len(text) && isASCIILetter(text[end]) {
				continue
			}
			return len(sw.w), sw.positive
		}
	}
	return 0, false
}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// Questions. A clause that asks for information (请问…, 有人用过…吗,
// 多少钱, 在哪里买, 怎么申请) states no opinion, however its words lean; a
// question that complains (怎么还没到, 为什么又坏了, 凭什么, 难道, ？？)
// does. The review corpora hold mostly the second kind, so their n-grams
// read 吗 and 有没有 as negative. The feature extractor therefore drops the
// features of information questions (see appendFeatures), and a post made
// only of them scores 0.
var (
	infoCues = []string{
		"请问", "求问", "求助", "求推荐", "有没有人", "有人知道", "谁知道", "想问", "问一下", "咨询",
		"有人用过", "有人买过", "有人喝过", "有人吃过", "有人去过", "有人试过", "有人坐过", "有谁",
		"多少钱", "几点", "几号", "什么时候开始", "什么时候上", "什么时候发", "什么时候出", "什么时候能",
		"在哪里买", "在哪买", "在哪里可以", "哪里可以", "哪里能买", "哪里买", "哪里有卖",
		"什么区别", "哪个好", "哪款", "哪家好",
		"怎么申请", "怎么注册", "怎么开通", "怎么绑定", "怎么用", "怎么办理", "怎么设置", "怎么下载", "怎么联系",
		"怎么退", "怎么查", "怎么买", "怎么选", "怎么换", "怎么取", "怎么弄",
	}
	complaintCues = []string{
		"怎么还", "怎么又", "怎么能", "怎么会", "怎么这么", "怎么那么", "为什么还", "为什么又", "为什么这么", "为啥还",
		"凭什么", "难道", "到底", "什么破", "什么垃圾", "有意思吗", "好意思", "还有没有", "能不能", "可不可以",
		"就这", "谁敢", "有病", "搞什么", "什么鬼", "？？", "??", "？！", "?!", "！？", "!?", "还让不让", "还要多久",
		"不怎么样", "管管", "哪里有什么", "什么原因", "不知道", "说什么",
	}
)

type questionCue struct {
	s         string
	complaint bool
}

var (
	// cuesByFirst indexes infoCues and complaintCues by their first rune.
	cuesByFirst = map[rune][]questionCue{}
	// cueFirst marks the first runes of the cues (all below 0x10000).
	cueFirst [1 << 16 / 64]uint64
)

func init() {
	add := func(cs []string, complaint bool) {
		for _, c := range cs {
			r, _ := utf8.DecodeRuneInString(c)
			cuesByFirst[r] = append(cuesByFirst[r], questionCue{c, complaint})
			cueFirst[r/64] |= 1 << (r % 64)
		}
	}
	add(infoCues, false)
	add(complaintCues, true)
}

// questionRune reports whether r begins a question cue (a cheap test
// before infoQuestion).
func questionRune(r rune) bool { return r < 1<<16 && cueFirst[r/64]&(1<<(r%64)) != 0 }

// infoQuestion reports whether a clause asks for information: it holds an
// information cue and no complaint cue. A bare yes/no question (好用吗？
// 这也叫服务吗？) is often rhetorical and does not count.
func infoQuestion(clause string) bool {
	info := false
	for i, r := range clause {
		if !questionRune(r) {
			continue
		}
		for _, c := range cuesByFirst[r] {
			if strings.HasPrefix(clause[i:], c.s) {
				if c.complaint {
					return false
				}
				info = true
			}
		}
	}
	return info
}

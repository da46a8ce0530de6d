package synth

// Brand vocabulary: what people talk about for each default brand.
var brandTopics = map[string][]string{
	"cocacola": {"可乐", "零度可乐", "新口味", "瓶装可乐"},
	"durex":    {"文案", "广告", "新品", "营销"},
	"cmb":      {"信用卡", "掌上生活", "网点", "手机银行"},
	"csair":    {"航班", "值机", "行李托运", "机票"},
	"siemens":  {"冰箱", "洗衣机", "洗碗机", "冰箱门"},
	"tmall":    {"旗舰店", "双十一", "物流", "超市"},
	"taobao":   {"店铺", "快递", "卖家", "直播间"},
	"alipay":   {"付款", "转账", "余额宝", "花呗"},
	"weibo":    {"热搜", "客户端", "新版本", "推荐"},
	"xerox":    {"打印机", "复印机", "墨盒", "扫描仪"},
	"intel":    {"芯片", "处理器", "显卡", "主板"},
	"nike":     {"跑鞋", "球鞋", "运动服", "新款"},
	"dell":     {"笔记本", "电脑", "显示器", "台式机"},
}

// Templates: {b} is a brand name, {t} a topic word of the brand. Each
// template's label is what the enrichment must find; a test in this
// package checks every template against the real analyzer.
var positiveTemplates = []string{
	"{b}的{t}太好用了，非常满意[赞]",
	"刚买了{b}的{t}，质量很好，推荐大家[哈哈]",
	"{b}的服务真给力，客服很耐心，点赞[鼓掌]",
	"{b}的{t}体验很棒，值得推荐[心]",
	"必须给{b}打call，{t}好评[good]",
	"{b}的{t}性价比很高，很喜欢[爱你]",
	"第一次用{b}的{t}就爱上了，太棒了[太开心]",
}

var negativeTemplates = []string{
	"{b}的{t}又坏了，太失望了[怒]",
	"{b}的售后太差了，投诉了三次都没人管[抓狂]",
	"再也不买{b}的{t}了，质量太差[衰]",
	"{b}客服态度恶劣，太坑爹了[怒]",
	"买了{b}的{t}才一个月就出问题，垃圾[鄙视]",
	"{b}的{t}体验很糟糕，后悔了[泪]",
	"对{b}太失望了，{t}问题一直不解决[失望]",
}

var neutralTemplates = []string{
	"{b}的{t}多少钱",
	"明天去{b}门店看看{t}",
	"{b}宣布{t}下个月上市",
	"{b}公布了{t}的价格",
	"{b}今年推出{t}",
	"听说{b}要出新{t}了",
	"{b}在上海开了新的{t}体验店",
	"{b}宣布调整{t}价格",
	"{b}的{t}明天开始预售",
}

// Traditional-script posts (Hong Kong / Taiwan users). {b} gets the
// brand's traditional alias when it has one.
var positiveTrad = []string{
	"{b}的{t}真的很好用，非常滿意[贊]",
	"{b}的服務很好，推薦[哈哈]",
}

var negativeTrad = []string{
	"{b}的{t}太差了，非常失望[怒]",
	"{b}的售後服務太差了，很生氣[怒]",
}

// Repost own words, with the label of the reposter's words.
var repostPositive = []string{"说得太好了[赞]", "支持，很棒[鼓掌]"}
var repostNegative = []string{"太差了[怒]", "同样遇到了，太失望了[怒]"}

// The crisis scenario: a complaint storm about one brand's product, as in
// the 西门子 冰箱门 case.
var crisisTemplates = []string{
	"#西门子冰箱门# {b}的冰箱门又关不严了，售后推来推去，太气人了[怒]",
	"#西门子冰箱门# 我家{b}冰箱也是这样，门关不上，投诉无门[抓狂]",
	"{b}冰箱门质量太差了，必须维权[怒] #西门子冰箱门#",
	"#西门子冰箱门# 刚买的{b}冰箱门就坏了，太失望了[泪]",
	"{b}对冰箱门问题的态度太恶劣了，再也不买了[鄙视] #西门子冰箱门#",
}

var nickParts1 = []string{"小", "大", "老", "阿", "爱吃", "快乐的", "北京", "上海", "广州", "深圳", "成都", "杭州"}
var nickParts2 = []string{"王", "李", "张", "刘", "陈", "猫", "鱼", "熊", "兔子", "星星", "月亮", "咖啡", "橙子", "西瓜"}
var locations = []string{"北京 朝阳区", "上海 浦东新区", "广东 广州", "广东 深圳", "浙江 杭州", "四川 成都", "湖北 武汉", "江苏 南京", "香港", "台湾 台北", "海外 美国"}
var platforms = []string{"weibo", "weibo", "weibo", "weibo", "wechat"}

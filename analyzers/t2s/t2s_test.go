package t2s

import (
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"hello, world 123", "hello, world 123"},
		{"蘋果手機很好用", "苹果手机很好用"},
		{"可口可樂", "可口可乐"},
		{"招商銀行的服務", "招商银行的服务"},
		{"西門子冰箱門", "西门子冰箱门"},
		{"頭髮乾了", "头发干了"},       // 髮 and 乾 by character
		{"乾隆皇帝", "乾隆皇帝"},       // phrase keeps 乾
		{"著名的作家", "著名的作家"},     // 著 stays 著
		{"變徵之聲", "变徵之声"},       // phrase protects 徵
		{"已经是简体字了", "已经是简体字了"}, // already simplified
		{"[哈哈]#話題#@用戶", "[哈哈]#话题#@用户"},
		{"mixed 臺灣 text", "mixed 台湾 text"},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRune(t *testing.T) {
	for in, want := range map[rune]rune{'蘋': '苹', '門': '门', '苹': '苹', 'a': 'a', '乾': '干', '𦪙': '䑽'} {
		if got := Rune(in); got != want {
			t.Errorf("Rune(%c) = %c, want %c", in, got, want)
		}
	}
}

func TestSimplifiedUnchangedNoAlloc(t *testing.T) {
	s := "招商银行的微信值机服务太方便了[赞] #西门子冰箱门# http://t.cn/abc"
	if Needs(s) {
		t.Fatalf("Needs(%q) = true", s)
	}
	if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
		t.Errorf("String of simplified text allocates %v times", n)
	}
}

// Every table entry converts to its first candidate.
func TestTables(t *testing.T) {
	n := 0
	eachLine(charsData, func(from, to string) {
		n++
		if got := String(from); got != to && !startsPhrase(first(from)) {
			t.Errorf("character %s: got %s, want %s", from, got, to)
		}
	})
	if n < 4000 {
		t.Errorf("only %d characters in the table", n)
	}
	eachLine(phrasesData, func(from, to string) {
		if got := String(from); got != to {
			t.Errorf("phrase %s: got %s, want %s", from, got, to)
		}
	})
}

func first(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

// When the opencc command is installed, the conversion agrees with it on a
// sample text.
func TestAgreesWithOpenCC(t *testing.T) {
	bin, err := exec.LookPath("opencc")
	if err != nil {
		t.Skip("opencc not installed")
	}
	text := "乾隆皇帝頭髮乾了，著名的軟體公司在臺灣。蘋果手機很好用，可口可樂比百事可樂好喝多了！" +
		"他們說這個產品質量太差，售後服務也不理人。變徵之聲，鍾愛一生。"
	cmd := exec.Command(bin, "-c", "t2s.json")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("running opencc: %v", err)
	}
	if got, want := String(text), strings.TrimRight(string(out), "\n"); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"蘋果手機", "乾隆", "abc", "\xff\xfe", "變徵"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		if !Needs(s) && out != s {
			t.Fatalf("changed %q without need", s)
		}
	})
}

func BenchmarkStringSimplified(b *testing.B) {
	s := strings.Repeat("招商银行的微信值机服务太方便了，客服很耐心[赞]", 4)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = String(s)
	}
}

func BenchmarkStringTraditional(b *testing.B) {
	s := strings.Repeat("招商銀行的微信值機服務太方便了，客服很耐心[贊]", 4)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = String(s)
	}
}

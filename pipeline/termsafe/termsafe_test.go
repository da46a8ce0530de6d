package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Issue 13: post texts printed by the CLI tables must not drive the
// terminal.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"西门子冰箱门 is fine":             "西门子冰箱门 is fine",
		"":                           "",
		"\x1b[31mred\x1b[0m":         "red",
		"\x1b[2J\x1b[Hcleared":       "cleared",
		"\x1b]0;pwned title\x07text": "text",
		"\x1b]8;;https://evil/\x1b\\click\x1b]8;;\x1b\\": "click",
		"\x1b]52;c;aGVsbG8=\x07":                         "",
		"\x1bPdevice\x1b\\ok":                            "ok",
		"\x1b(Bascii":                                    "ascii",
		"\x1bcreset":                                     "reset",
		"\x1b7saved\x1b8":                                "saved",
		"\x1b[31":                                        "",
		"\x1b[31\nx":                                     " x",
		"end\x1b":                                        "end",
		"\x1b]unterminated":                              "",
		"good\rbad":                                      "good bad",
		"a\tb\nc\r\nd":                                   "a b c  d",
		"bell\x07":                                       "bell\uFFFD",
		"back\b\b\b\bover":                               "back\uFFFD\uFFFD\uFFFD\uFFFDover",
		"nul\x00":                                        "nul\uFFFD",
		"del\x7f":                                        "del\uFFFD",
		"csi8\u009b31mred":                               "csi8\uFFFD31mred",
		"nel\u0085x":                                     "nel\uFFFDx",
		"bad utf8 \xff\xfe":                              "bad utf8 \uFFFD\uFFFD",
		"raw c1 \x9b31m":                                 "raw c1 \uFFFD31m",
		"emoji 👍🏽 and \u00a0nbsp":                        "emoji 👍🏽 and \u00a0nbsp",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("line 1\n\tline 2\x1b[1m\rx"); got != "line 1\n\tline 2 x" {
		t.Errorf("%q", got)
	}
}

func FuzzCell(f *testing.F) {
	for _, s := range []string{"\x1b[31mx", "\x1b]0;t\x07", "a\u009bb", "\xff", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{Cell(s), Text(s)} {
			if !utf8.ValidString(got) {
				t.Fatalf("%q → %q: invalid UTF-8", s, got)
			}
			if strings.ContainsFunc(got, func(r rune) bool { return control(r) && r != '\n' && r != '\t' }) {
				t.Fatalf("%q → %q: a control character is left", s, got)
			}
		}
		if strings.ContainsAny(Cell(s), "\n\t") {
			t.Fatalf("%q → %q: a cell keeps a line break", s, Cell(s))
		}
	})
}

package sentiment

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadCSV(t *testing.T) {
	p := writeFile(t, "\ufeffcat,label,review\n"+
		"书籍,1,\"\ufeff好书，\"\"推荐\"\"\"\n"+
		"书籍,0, 很差 \n"+
		"书籍,0,\n"+
		"水果,1,\"两行\n文字\"\n")
	rows, err := ReadCSV(p, "review", "label")
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{`好书，"推荐"`, 1}, {"很差", 0}, {"两行\n文字", 1}}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", rows, want)
	}
}

func TestReadCSVErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.csv")
	if _, err := ReadCSV(missing, "review", "label"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	p := writeFile(t, "label,text\n1,好\n")
	if _, err := ReadCSV(p, "review", "label"); err == nil || !strings.Contains(err.Error(), "review") {
		t.Errorf("missing column: %v", err)
	}
	p = writeFile(t, "label,review\n1,好\nx,坏\n")
	if _, err := ReadCSV(p, "review", "label"); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad label: %v", err)
	}
	if _, err := HeldOut(t.TempDir(), "other.csv"); !errors.Is(err, ErrUnknownCorpus) {
		t.Errorf("unknown corpus: %v", err)
	}
}

func TestIsHeldOut(t *testing.T) {
	n := 0
	const total = 20000
	for i := range total {
		text := fmt.Sprintf("评论%d", i)
		if IsHeldOut(text) != IsHeldOut(text) {
			t.Fatal("IsHeldOut not deterministic")
		}
		if IsHeldOut(text) {
			n++
		}
	}
	if n < total*9/100 || n > total*11/100 {
		t.Errorf("%d of %d held out, want about 10%%", n, total)
	}
}

func TestPolarity(t *testing.T) {
	for _, tc := range []struct {
		ls    LabelSet
		label int
		want  int
	}{
		{Binary, 1, 1}, {Binary, 0, -1}, {Binary, 2, 0},
		{Emotion7, 0, -1}, {Emotion7, 1, -1}, {Emotion7, 2, 1}, {Emotion7, 3, 0},
		{Emotion7, 4, 1}, {Emotion7, 5, -1}, {Emotion7, 6, -1}, {Emotion7, 7, 0},
	} {
		if got := tc.ls.Polarity(tc.label); got != tc.want {
			t.Errorf("%s.Polarity(%d) = %d, want %d", tc.ls, tc.label, got, tc.want)
		}
	}
}

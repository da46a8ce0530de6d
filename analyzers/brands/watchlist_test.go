package brands

import (
	"errors"
	"reflect"
	"testing"

	"github.com/iwom/iwom/configs"
)

func TestDefaultWatchList(t *testing.T) {
	w, err := Parse(configs.BrandsYAML)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"可口可乐", "杜蕾斯", "招商银行", "南方航空", "西门子", "天猫", "淘宝", "支付宝", "新浪微博", "施乐", "英特尔", "耐克", "戴尔"}
	if len(w.Brands) != len(want) {
		t.Fatalf("%d brands, want %d", len(w.Brands), len(want))
	}
	for i, b := range w.Brands {
		if b.Name != want[i] {
			t.Errorf("brand %d = %s, want %s", i, b.Name, want[i])
		}
	}
}

func TestMatch(t *testing.T) {
	w, err := Parse(configs.BrandsYAML)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		tokens []string
		text   string
		want   []string
	}{
		{[]string{"招商银行", "的", "服务"}, "招商银行的服务", []string{"cmb"}},
		{[]string{"可口可樂", "比", "百事"}, "可口可樂比百事", []string{"cocacola"}},
		{nil, "I love my DELL laptop and Coca-Cola", []string{"cocacola", "dell"}},
		{nil, "Dellwood and nikes are not brands", nil},
		{[]string{"招商", "银行"}, "招商 银行", nil},
	}
	for _, c := range cases {
		if got := w.Match(c.tokens, c.text); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Match(%q, %q) = %q, want %q", c.tokens, c.text, got, c.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	for _, doc := range []string{
		"brands: [{id: 'Bad Id', name: x}]",
		"brands: [{id: a, name: x}, {id: a, name: y}]",
		"brands: [{id: a}]",
		"brands: [{id: a, name: 苹果}, {id: b, name: 蘋果, aliases: [苹果]}]",
		"brands: {",
	} {
		if _, err := Parse([]byte(doc)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", doc, err)
		}
	}
}

func TestMask(t *testing.T) {
	w, err := Parse(configs.BrandsYAML)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Mask("可口可乐和富士施乐都不错"); got != " 和 都不错" {
		t.Errorf("Mask = %q", got)
	}
}

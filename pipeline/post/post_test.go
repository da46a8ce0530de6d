package post

import (
	"errors"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	ok := `{"platform":"weibo","id":"1","text":"你好","created_at":"2026-11-20T10:00:00+08:00","author":{"id":"a","followers":10}}`
	p, err := Decode([]byte(ok), Limits{MaxTextBytes: 100})
	if err != nil {
		t.Fatal(err)
	}
	if p.Key() != "weibo:1" || p.CreatedAt.UTC().Hour() != 2 {
		t.Errorf("decoded %+v", p)
	}
	bad := map[string]string{
		`{"platform":"weibo","id":"1","text":"x"`:                                                                     "malformed JSON",
		"{\"platform\":\"weibo\",\"id\":\"1\",\"text\":\"\xff\"}":                                                     "UTF-8",
		`{"id":"1","text":"x","created_at":"2026-11-20T10:00:00Z"}`:                                                   "missing platform",
		`{"platform":"weibo","text":"x","created_at":"2026-11-20T10:00:00Z"}`:                                         "missing id",
		`{"platform":"weibo","id":"1","created_at":"2026-11-20T10:00:00Z"}`:                                           "missing text",
		`{"platform":"weibo","id":"1","text":"x"}`:                                                                    "missing created_at",
		`{"platform":"weibo","id":"1","text":"` + strings.Repeat("x", 101) + `","created_at":"2026-11-20T10:00:00Z"}`: "over the limit",
		`{"platform":"weibo","id":"1","text":"x","created_at":"2026-11-20T10:00:00Z","metrics":{"likes":-1}}`:         "negative",
		`{"platform":"we ibo","id":"1","text":"x","created_at":"2026-11-20T10:00:00Z"}`:                               "subject token",
		`{"platform":"weibo","id":"1","text":"x","created_at":"2026-11-20T10:00:00Z"} {}`:                             "trailing",
	}
	for in, want := range bad {
		_, err := Decode([]byte(in), Limits{MaxTextBytes: 100})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%.60q) = %v, want ErrInvalid saying %q", in, err, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"platform":"weibo","id":"1","text":"x","created_at":"2026-11-20T10:00:00Z"}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data, Limits{MaxTextBytes: 1000})
		if err == nil && (p.Platform == "" || p.ID == "" || p.Text == "") {
			t.Errorf("accepted incomplete post %+v", p)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("error %v does not wrap ErrInvalid", err)
		}
	})
}

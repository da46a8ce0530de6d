package enrich

import (
	"context"
	"errors"
	"strings"
	"testing"

	analysis "github.com/iwom/iwom/analyzers/enrich"
	"github.com/iwom/iwom/pipeline/post"
	"github.com/iwom/iwom/pipeline/stage"
)

// The stage answers with the enriched post to publish, under the raw
// post's key; an invalid post, or one whose enriched form cannot fit its
// stream, is a permanent error; the stage publishes nothing itself.
func TestProcess(t *testing.T) {
	e, err := analysis.Default()
	if err != nil {
		t.Fatal(err)
	}
	st := &Stage{E: e, MaxBytes: 8 << 10, Workers: 2}
	good := `{"platform":"weibo","id":"1","text":"西门子冰箱门关不上","created_at":"2026-11-20T10:00:00Z","author":{"id":"a"}}`
	big := `{"platform":"weibo","id":"2","text":"` + strings.Repeat("西门子冰箱", 1000) + `","created_at":"2026-11-20T10:00:00Z","author":{"id":"a"}}`
	res := st.Process(context.Background(), []stage.Msg{{Data: []byte(good)}, {Data: []byte(`{"platform":"weibo"}`)}, {Data: []byte(big)}})
	if res[0].Err != nil || len(res[0].Outs) != 1 || res[0].Outs[0].Subject != "iwom.enriched.weibo" || res[0].Outs[0].MsgID != "weibo:1" {
		t.Fatalf("good post: %+v", res[0])
	}
	d, err := post.DecodeEnriched(res[0].Outs[0].Data)
	if err != nil || len(d.Brands) == 0 {
		t.Errorf("enriched %+v %v", d, err)
	}
	if !errors.Is(res[1].Err, post.ErrInvalid) || len(res[1].Outs) != 0 {
		t.Errorf("invalid post: %+v", res[1])
	}
	if !errors.Is(res[2].Err, post.ErrTooLarge) || len(res[2].Outs) != 0 {
		t.Errorf("too large: %+v", res[2])
	}
}

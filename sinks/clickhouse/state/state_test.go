package state

import (
	"reflect"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	r := Record{Version: 1764000000123456789, CreatedAt: 1764000000, Brands: []string{"siemens", "cmb"}, Label: "negative", Score: -0.75,
		BSBrands: []string{"siemens"}, BSScores: []float32{-0.9}, BSLabels: []string{"negative"}, AuthorID: "u1",
		Followers: 1 << 40, Reposts: 3, Comments: 0, Likes: 12, Keywords: []string{"冰箱门"}, Hashtags: []string{"西门子冰箱门", ""}}
	got, err := Decode(Encode(r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	b := Encode(r)
	for i := 0; i < len(b); i++ {
		if _, err := Decode(b[:i]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", i, len(b))
		}
	}
}

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	if err := b.Put("weibo:1", Record{Version: 7, Brands: []string{}, Keywords: []string{}, Hashtags: []string{}}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMeta(Meta{Epoch: "e", Partition: "0/1", Complete: true, Checkpoint: 42}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get([]string{"weibo:1", "weibo:2"})
	if err != nil || len(got) != 1 || got["weibo:1"].Version != 7 {
		t.Fatalf("get: %v %v", got, err)
	}
	m, err := s.Meta()
	if err != nil || m != (Meta{Epoch: "e", Partition: "0/1", Complete: true, Checkpoint: 42}) {
		t.Fatalf("meta %+v %v", m, err)
	}
	// One writer: a second open of the same directory is refused.
	if _, err := Open(dir, 0); err == nil {
		t.Error("a second store opened the same directory")
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(); err != nil || n != 0 {
		t.Errorf("%d records after reset (%v)", n, err)
	}
}

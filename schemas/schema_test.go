package schemas

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/iwom/iwom/pipeline/post"
)

// jsonFields lists the JSON names of a struct's fields, following
// embedded structs.
func jsonFields(rt reflect.Type) []string {
	var out []string
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// schemas/post.schema.json and the Go types describe the same record.
func TestPostSchemaMatchesTypes(t *testing.T) {
	var schema struct {
		Required   []string `json:"required"`
		Properties map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(PostJSONSchema, &schema); err != nil {
		t.Fatalf("post.schema.json: %v", err)
	}
	var props []string
	for k := range schema.Properties {
		props = append(props, k)
	}
	fields := jsonFields(reflect.TypeOf(post.Enriched{}))
	sort.Strings(props)
	sort.Strings(fields)
	if !reflect.DeepEqual(props, fields) {
		t.Errorf("schema properties %v\ndiffer from Go fields %v", props, fields)
	}
	nested := map[string]reflect.Type{"author": reflect.TypeOf(post.Author{}), "metrics": reflect.TypeOf(post.Metrics{}), "sentiment": reflect.TypeOf(post.Sentiment{})}
	for name, rt := range nested {
		var got []string
		for k := range schema.Properties[name].Properties {
			got = append(got, k)
		}
		want := jsonFields(rt)
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: schema %v, Go %v", name, got, want)
		}
	}
	for _, r := range []string{"platform", "id", "text", "created_at"} {
		found := false
		for _, q := range schema.Required {
			found = found || q == r
		}
		if !found {
			t.Errorf("%s not required in the schema", r)
		}
	}
}

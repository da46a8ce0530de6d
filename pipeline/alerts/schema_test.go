package alerts

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

type schemaNode struct {
	Required   []string               `json:"required"`
	Properties map[string]*schemaNode `json:"properties"`
	Items      *schemaNode            `json:"items"`
	Const      any                    `json:"const"`
}

func jsonFields(rt reflect.Type) []string {
	var out []string
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]*schemaNode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// schemas/alert.schema.json and the Alert type describe the same record,
// and a real alert has every required field.
func TestAlertSchemaMatchesTypes(t *testing.T) {
	data, err := os.ReadFile("../../schemas/alert.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schemaNode
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("alert.schema.json: %v", err)
	}
	if v, _ := s.Properties["v"].Const.(float64); int(v) != SchemaVersion {
		t.Errorf("schema version %v, Go %d", s.Properties["v"].Const, SchemaVersion)
	}
	for _, c := range []struct {
		name string
		node *schemaNode
		rt   reflect.Type
	}{
		{"alert", &s, reflect.TypeOf(Alert{})},
		{"baselines", s.Properties["baselines"], reflect.TypeOf(Baselines{})},
		{"samples", s.Properties["samples"].Items, reflect.TypeOf(Sample{})},
		{"post", s.Properties["post"], reflect.TypeOf(PostRef{})},
		{"items", s.Properties["items"].Items, reflect.TypeOf(DigestItem{})},
	} {
		if got, want := keys(c.node.Properties), jsonFields(c.rt); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: schema %v\n   Go %v", c.name, got, want)
		}
	}
	// A firing alert of the engine has every required field.
	e := mustEngine(t, mustRules(t, spikeRules))
	g := newGen(21)
	as := run(e, merge(g.stream("a", t0, t0.Add(4*time.Hour), 2, 0.2), g.burst("a", t0.Add(3*time.Hour), 5*time.Minute, 60, "negative")))
	if len(as) == 0 {
		t.Fatal("no alert")
	}
	raw, _ := json.Marshal(as[0])
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	for _, r := range s.Required {
		if _, ok := m[r]; !ok {
			t.Errorf("required %s missing from %s", r, raw)
		}
	}
}

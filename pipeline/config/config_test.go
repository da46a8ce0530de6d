package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// Every key of configs/iwom.yaml is a field of Config and every field has a
// key: the commented file and the struct agree.
func TestDefaultsMatchStruct(t *testing.T) {
	var fields []string
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
				walk(f.Type, key+".")
				continue
			}
			fields = append(fields, key)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	keys := Keys()
	sort.Strings(fields)
	sort.Strings(keys)
	if !reflect.DeepEqual(fields, keys) {
		t.Errorf("config struct fields and configs/iwom.yaml keys differ:\nfields: %v\nkeys:   %v", fields, keys)
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if c.NATS.URL != "" || c.ClickHouse.Addr != "localhost:9000" || c.ClickHouse.Database != "iwom" {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestFileAndEnvOverride(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(f, []byte("nats:\n  max_deliver: 9\nclickhouse:\n  batch_size: 77\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IWOM_CLICKHOUSE_ADDR", "ch1:9000,ch2:9000")
	t.Setenv("IWOM_NATS_ACK_WAIT", "45s")
	c, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.MaxDeliver != 9 || c.ClickHouse.BatchSize != 77 {
		t.Errorf("file values not applied: %+v", c)
	}
	if got := c.ClickHouse.Addrs(); !reflect.DeepEqual(got, []string{"ch1:9000", "ch2:9000"}) {
		t.Errorf("env override: addrs %v", got)
	}
	if c.NATS.AckWait != 45*time.Second {
		t.Errorf("env override: ack_wait %v", c.NATS.AckWait)
	}
	if c.NATS.FetchBatch != 500 {
		t.Errorf("untouched key lost its default: %d", c.NATS.FetchBatch)
	}
}

func TestValidateNamesKey(t *testing.T) {
	cases := map[string]string{
		"nats:\n  max_deliver: 0\n":                    "nats.max_deliver",
		"log:\n  level: loud\n":                        "log.level",
		"clickhouse:\n  database: 'a;b'\n":             "clickhouse.database",
		"nats:\n  storage: tape\n":                     "nats.storage",
		"alerts:\n  negative_spike:\n    ratio: 0.5\n": "alerts.negative_spike.ratio",
		"nats:\n  max_delivr: 3\n":                     `unknown key "nats.max_delivr"`,
	}
	for doc, key := range cases {
		f := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(f)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Load(%q) = %v, want an error naming %s", doc, err, key)
		}
		if err != nil && !strings.Contains(key, "unknown") && !errors.Is(err, ErrInvalid) {
			t.Errorf("Load(%q) error %v does not wrap ErrInvalid", doc, err)
		}
	}
}

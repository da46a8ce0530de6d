// Package registry builds connectors from the entries of the connectors:
// list in the configuration, one per instance, each with a kind and a
// name:
//
//	connectors:
//	  - kind: wechat-push
//	    name: mp-main
//	    listen: 127.0.0.1:8081
//	    token: ${WECHAT_TOKEN}
//
// Each kind's keys and defaults are the Config struct of its package.
// Connector packages register their kind themselves (Register, from an
// init function); pipeline/connectors/all imports every one of them, so
// that a process that builds connectors imports it once.
package registry

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/bus"
	"github.com/iwom/iwom/pipeline/config"
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/post"
)

// Entry is one item of the connectors: list as decoded from YAML: the
// configuration's own type, so config.Config.Connectors is a []Entry.
type Entry = config.ConnectorEntry

// Deps is what connectors need from the process.
type Deps struct {
	Bus      *bus.Bus              // cursors go to its KV bucket iwom_connector_state
	Reg      prometheus.Registerer // connector metrics; nil: a private registry
	Log      zerolog.Logger
	Limits   post.Limits
	Keywords []string         // watch-list search terms, for search_watchlist
	Now      func() time.Time // nil: time.Now
	// Store replaces the KV cursor store (tests); nil uses Bus.
	Store kit.Store
}

// Readier is implemented by every connector built here: nil when it is
// running and healthy, else why not.
type Readier interface{ Ready() error }

// Factory builds a connector of one kind from its entry: it decodes the
// entry's keys into the kind's Config (Decode) and builds the connector
// on env.
type Factory func(e Entry, env kit.Env, deps Deps) (connectors.Connector, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a connector kind buildable. It panics on a kind
// registered twice (a programming error, found at start).
func Register(kind string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[kind]; dup {
		panic("registry: connector kind " + kind + " registered twice")
	}
	factories[kind] = f
}

// RegisterConfig registers a kind whose entry decodes into a Config:
// defaults gives the values the entry's keys override, adjust (when not
// nil) completes the decoded Config from the process (the watch-list's
// search terms), build makes the connector.
func RegisterConfig[C any, T connectors.Connector](kind string, defaults func() C, adjust func(*C, Deps), build func(C, kit.Env) (T, error)) {
	Register(kind, func(e Entry, env kit.Env, deps Deps) (connectors.Connector, error) {
		cfg := defaults()
		if err := Decode(e, &cfg); err != nil {
			return nil, err
		}
		if adjust != nil {
			adjust(&cfg, deps)
		}
		c, err := build(cfg, env)
		if err != nil {
			return nil, err // not a nil *Connector in an interface
		}
		return c, nil
	})
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Build builds the connector of one entry. Errors name the entry and the
// key: "connector (mp-main): timestamp_window: …" (BuildAll adds the
// position).
func Build(e Entry, deps Deps) (connectors.Connector, error) {
	return build("connector", e, deps)
}

// BuildAll builds every entry, checking that names are unique. Errors
// name the entry by position: "connectors[2] (mp-main): timestamp_window: …".
func BuildAll(entries []Entry, deps Deps) ([]connectors.Connector, error) {
	names := map[string]int{}
	out := make([]connectors.Connector, 0, len(entries))
	for i, e := range entries {
		label := fmt.Sprintf("connectors[%d]", i)
		c, err := build(label, e, deps)
		if err != nil {
			return nil, err
		}
		if j, dup := names[c.Name()]; dup {
			return nil, fmt.Errorf("%s (%s): name: already used by connectors[%d]", label, c.Name(), j)
		}
		names[c.Name()] = i
		out = append(out, c)
	}
	return out, nil
}

// Entries converts the connectors: value as viper or a YAML decoder gives
// it (a list of maps) into entries.
func Entries(v any) ([]Entry, error) {
	var list []any
	switch l := v.(type) {
	case nil:
		return nil, nil
	case []any:
		list = l
	case []map[string]any:
		for _, m := range l {
			list = append(list, m)
		}
	case []Entry:
		return l, nil
	default:
		return nil, fmt.Errorf("connectors: must be a list, not %T", v)
	}
	out := make([]Entry, len(list))
	for i, it := range list {
		m, err := stringMap(it)
		if err != nil {
			return nil, fmt.Errorf("connectors[%d]: %v", i, err)
		}
		out[i] = m
	}
	return out, nil
}

func stringMap(v any) (Entry, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case Entry:
		return m, nil
	case map[any]any:
		out := Entry{}
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a map of keys, not %T", v)
}

func build(label string, e Entry, deps Deps) (connectors.Connector, error) {
	kind, name := e.Kind(), e.Name()
	if name != "" {
		label += " (" + name + ")"
	}
	fail := func(err error) error { return fmt.Errorf("%s: %w", label, err) }
	switch {
	case kind == "":
		return nil, fail(fmt.Errorf("kind: missing (one of %s)", strings.Join(Kinds(), ", ")))
	case name == "":
		return nil, fail(errors.New("name: missing"))
	case !post.ValidToken(name):
		return nil, fail(fmt.Errorf("name: %q must be lower-case letters, digits, - or _ (it names the DLQ subject iwom.dlq.<name>)", name))
	}
	env := kit.Env{Store: deps.Store, Metrics: kit.NewMetrics(deps.Reg), Log: deps.Log, Now: deps.Now, Limits: deps.Limits}
	if env.Store == nil && deps.Bus != nil {
		env.Store = kit.NewKVStore(deps.Bus.ConnectorState)
	}
	if env.Store == nil {
		return nil, fail(errors.New("no NATS bus to keep cursors in (Deps.Bus)"))
	}
	mu.RLock()
	f := factories[kind]
	mu.RUnlock()
	if f == nil {
		return nil, fail(fmt.Errorf("kind: unknown %q (one of %s)", kind, strings.Join(Kinds(), ", ")))
	}
	c, err := f(e, env, deps)
	if err != nil {
		return nil, fail(err)
	}
	return c, nil
}

// Decode fills cfg (holding its defaults) from the entry's keys other than
// kind, with the strict decoding of the configuration
// (config.DecodeStrict): durations need a unit ("5m"), except 0; integers
// must fit their field and are never truncated (1.9 is not an int). A
// whole number may fill a text key (users: [1642634100]). Unknown keys
// are errors, so that a typo is not silently ignored.
func Decode(e Entry, cfg any) error {
	in := make(map[string]any, len(e))
	for k, v := range e {
		if k != "kind" {
			in[strings.ToLower(k)] = v
		}
	}
	err := config.DecodeStrict(in, cfg, config.WholeNumbersAsText())
	var unknown *config.UnknownKeysError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("%s: unknown key (known: %s)", unknown.Keys[0], strings.Join(knownKeys(cfg), ", "))
	case err != nil:
		return keyError(err)
	}
	return nil
}

// keyError turns mapstructure's errors into "key: problem".
func keyError(err error) error {
	var parts []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var de *mapstructure.DecodeError
		if errors.As(err, &de) {
			inner := de.Unwrap()
			var nested *mapstructure.DecodeError
			if errors.As(inner, &nested) {
				walk(inner)
				return
			}
			parts = append(parts, de.Name()+": "+inner.Error())
			return
		}
		parts = append(parts, err.Error())
	}
	walk(err)
	if len(parts) == 0 {
		return err
	}
	return errors.New(strings.Join(parts, "; "))
}

func knownKeys(cfg any) []string {
	keys := append([]string{"kind"}, fieldKeys(reflect.TypeOf(cfg).Elem())...)
	sort.Strings(keys)
	return keys
}

// fieldKeys are the mapstructure keys of a struct, with those of the
// structs it embeds with ",squash".
func fieldKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch k := f.Tag.Get("mapstructure"); {
		case k == ",squash" && f.Type.Kind() == reflect.Struct:
			keys = append(keys, fieldKeys(f.Type)...)
		case k != "":
			keys = append(keys, k)
		}
	}
	return keys
}

// AppendNew appends to list the strings of more it does not hold yet
// (the watch-list's terms to a connector's searches).
func AppendNew(list, more []string) []string {
	seen := map[string]bool{}
	for _, s := range list {
		seen[s] = true
	}
	for _, s := range more {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			list = append(list, s)
		}
	}
	return list
}

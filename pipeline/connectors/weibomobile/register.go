package weibomobile

import (
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/registry"
)

// Kind names this connector in the connectors: list.
const Kind = "weibo-mobile"

func init() {
	registry.Register(Kind, func(e registry.Entry, env kit.Env, deps registry.Deps) (connectors.Connector, error) {
		cfg := DefaultConfig()
		if err := registry.Decode(e, &cfg); err != nil {
			return nil, err
		}
		if cfg.SearchWatch {
			cfg.Search = registry.AppendNew(cfg.Search, deps.Keywords)
		}
		c, err := New(cfg, env)
		if err != nil {
			return nil, err // not a nil *Connector in an interface
		}
		return c, nil
	})
}

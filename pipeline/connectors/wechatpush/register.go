package wechatpush

import (
	"github.com/iwom/iwom/pipeline/connectors"
	"github.com/iwom/iwom/pipeline/connectors/kit"
	"github.com/iwom/iwom/pipeline/connectors/registry"
)

// Kind names this connector in the connectors: list.
const Kind = "wechat-push"

func init() {
	registry.Register(Kind, func(e registry.Entry, env kit.Env, deps registry.Deps) (connectors.Connector, error) {
		cfg := DefaultConfig()
		if err := registry.Decode(e, &cfg); err != nil {
			return nil, err
		}
		c, err := New(cfg, env)
		if err != nil {
			return nil, err // not a nil *Connector in an interface
		}
		return c, nil
	})
}

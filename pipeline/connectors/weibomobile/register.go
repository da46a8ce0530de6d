package weibomobile

import "github.com/iwom/iwom/pipeline/connectors/registry"

// Kind names this connector in the connectors: list.
const Kind = "weibo-mobile"

func init() {
	registry.RegisterConfig(Kind, DefaultConfig, func(c *Config, d registry.Deps) {
		if c.SearchWatch {
			c.Search = registry.AppendNew(c.Search, d.Keywords)
		}
	}, New)
}

package httpingest

import "github.com/iwom/iwom/pipeline/connectors/registry"

// Kind names this connector in the connectors: list.
const Kind = "http"

func init() { registry.RegisterConfig(Kind, DefaultConfig, nil, New) }

package wechatmp

import "github.com/iwom/iwom/pipeline/connectors/registry"

// Kind names this connector in the connectors: list.
const Kind = "wechat-mp"

func init() { registry.RegisterConfig(Kind, DefaultConfig, nil, New) }

package wechatpush

import "github.com/iwom/iwom/pipeline/connectors/registry"

// Kind names this connector in the connectors: list.
const Kind = "wechat-push"

func init() { registry.RegisterConfig(Kind, DefaultConfig, nil, New) }

// Package all registers every platform connector kind with
// pipeline/connectors/registry: import it (for its side effect) where
// connectors are built from the configuration.
package all

import (
	_ "github.com/iwom/iwom/pipeline/connectors/httpingest"  // kind http
	_ "github.com/iwom/iwom/pipeline/connectors/wechatmp"    // kind wechat-mp
	_ "github.com/iwom/iwom/pipeline/connectors/wechatpush"  // kind wechat-push
	_ "github.com/iwom/iwom/pipeline/connectors/weibo"       // kind weibo
	_ "github.com/iwom/iwom/pipeline/connectors/weibomobile" // kind weibo-mobile
)

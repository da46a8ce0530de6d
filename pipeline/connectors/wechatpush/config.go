// Package wechatpush is the WeChat Official Account push receiver (`iwom
// connector wechat-push`): an HTTP server that answers WeChat's GET
// verification and takes its POSTed messages and events in plain,
// compatible and safe (AES) mode, checks signatures in constant time,
// refuses stale timestamps and foreign appids, drops WeChat's retries by
// MsgId, and answers "success" at once while a background loop publishes
// through a bounded buffer.
package wechatpush

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is one `kind: wechat-push` entry of connectors:.
type Config struct {
	Name            string        `mapstructure:"name"`
	Listen          string        `mapstructure:"listen"`
	Path            string        `mapstructure:"path"`             // URL path WeChat calls; "/" takes any
	Token           string        `mapstructure:"token"`            // secret
	EncodingAESKey  string        `mapstructure:"encoding_aes_key"` // secret; 43 characters; empty: plain mode only
	AppID           string        `mapstructure:"appid"`
	TimestampWindow time.Duration `mapstructure:"timestamp_window"` // 0 disables the check (replaying recorded calls)
	MaxBody         int64         `mapstructure:"max_body"`         // bytes
	Buffer          int           `mapstructure:"buffer"`           // accepted messages waiting for NATS; when full WeChat gets 503 and retries
	DedupWindow     time.Duration `mapstructure:"dedup_window"`     // how long a MsgId is remembered (WeChat retries within ~15 s)
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"` // for in-flight requests and the buffer's drain
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8081",
		Path:            "/",
		TimestampWindow: 5 * time.Minute,
		MaxBody:         64 << 10,
		Buffer:          4096,
		DedupWindow:     10 * time.Minute,
		ShutdownTimeout: 15 * time.Second,
	}
}

// Validate checks the values and names the bad key.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port: %v", c.Listen, err)
	}
	switch {
	case !strings.HasPrefix(c.Path, "/"):
		return fmt.Errorf("path: %q must start with /", c.Path)
	case c.Token == "":
		return fmt.Errorf("token: must be set (the Token of the account's server configuration)")
	case c.EncodingAESKey != "" && len(c.EncodingAESKey) != 43:
		return fmt.Errorf("encoding_aes_key: must be 43 characters, not %d", len(c.EncodingAESKey))
	case c.EncodingAESKey != "" && c.AppID == "":
		return fmt.Errorf("appid: must be set with encoding_aes_key (decrypted messages carry it)")
	case c.TimestampWindow < 0:
		return fmt.Errorf("timestamp_window: must not be negative")
	case c.MaxBody < 1024:
		return fmt.Errorf("max_body: must be at least 1024 bytes")
	case c.Buffer < 1:
		return fmt.Errorf("buffer: must be at least 1")
	case c.DedupWindow <= 0:
		return fmt.Errorf("dedup_window: must be positive")
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown_timeout: must be positive")
	}
	if c.EncodingAESKey != "" {
		if _, err := AESKey(c.EncodingAESKey); err != nil {
			return fmt.Errorf("encoding_aes_key: %v", err)
		}
	}
	return nil
}

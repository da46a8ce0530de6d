// Package wechatpush is the WeChat Official Account push receiver (`iwom
// connector wechat-push`): an HTTP server that answers WeChat's GET
// verification and takes its POSTed messages and events.
//
// A POST is checked in this order, and answered:
//
//   - 503 at once when max_in_flight requests are already running;
//   - 403 when the timestamp is outside timestamp_window or the signature
//     is wrong (compared in constant time);
//   - 413 when the body is over max_body (it is read through a limit);
//   - 403 when the mode refuses the body: in safe mode (the default with an
//     encoding_aes_key) a plaintext body, without encrypt_type=aes, is
//     refused, since its signature does not cover the body; 400 when an
//     encrypted body comes and no key is configured;
//   - 403 when msg_signature is wrong or the decrypted appid is not appid,
//     400 when the ciphertext or its padding is bad (most likely a wrong
//     key: WeChat retries and the errors show it);
//   - 403 when the (timestamp, nonce) pair was already used within the
//     timestamp window (a replayed request), 503 when the cache of pairs is
//     full (max_nonces);
//   - "success" once the message is safe: its post stored by JetStream (or
//     already stored: a duplicate), or — for a message that can never be
//     stored (not a WeChat message, CreateTime outside what a post holds,
//     a post the publisher refuses) — dead-lettered with its reason, since
//     WeChat's retries could never succeed; events and messages without
//     words are answered "success" without publishing;
//   - 503 when JetStream did not confirm within store_timeout (under
//     WeChat's 5 s), or dead-lettering failed, or the same message is being
//     handled by another request: WeChat retries (3 times).
//
// WeChat's retries of a message already answered are recognised by MsgId
// (events by sender, time and event) for dedup_window and answered
// "success" without storing again.
package wechatpush

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Modes of the account's message encryption (消息加解密方式).
const (
	// ModeSafe (安全模式): only encrypted bodies (encrypt_type=aes, a
	// valid msg_signature) are taken.
	ModeSafe = "safe"
	// ModeCompatible (兼容模式): encrypted and plaintext bodies are taken.
	// A plaintext body is covered by no signature: use it only while
	// switching an account from plain to safe mode.
	ModeCompatible = "compatible"
	// ModePlain (明文模式): plaintext only; no encoding_aes_key.
	ModePlain = "plain"
)

// wechatTimeout is how long WeChat waits for an answer before it retries.
const wechatTimeout = 5 * time.Second

// Config is one `kind: wechat-push` entry of connectors:.
type Config struct {
	Name           string `mapstructure:"name"`
	Listen         string `mapstructure:"listen"`
	Path           string `mapstructure:"path"`             // URL path WeChat calls; "/" takes any
	Token          string `mapstructure:"token"`            // secret
	EncodingAESKey string `mapstructure:"encoding_aes_key"` // secret; 43 characters; empty: plain mode only
	AppID          string `mapstructure:"appid"`
	// Mode is safe, compatible or plain; empty is safe with an
	// encoding_aes_key and plain without.
	Mode string `mapstructure:"mode"`
	// TimestampWindow: requests whose timestamp is further than this from
	// the server's clock are refused, and a (timestamp, nonce) pair is
	// taken once within it. 0 disables both checks (replaying recorded
	// calls).
	TimestampWindow time.Duration `mapstructure:"timestamp_window"`
	// MaxNonces bounds the (timestamp, nonce) pairs remembered; when it is
	// full, new messages are answered 503 (WeChat retries) until pairs
	// leave the window, rather than forgetting pairs that could be replayed.
	MaxNonces int   `mapstructure:"max_nonces"`
	MaxBody   int64 `mapstructure:"max_body"` // bytes
	// MaxInFlight bounds the requests handled at once (and so the memory
	// their bodies take); beyond it requests are answered 503 at once.
	MaxInFlight int `mapstructure:"max_in_flight"`
	// StoreTimeout bounds the wait for JetStream's acknowledgement of a
	// message (or its dead-lettering), from the end of reading its body;
	// under WeChat's 5 s so that WeChat gets the 503 and retries.
	StoreTimeout time.Duration `mapstructure:"store_timeout"`
	DedupWindow  time.Duration `mapstructure:"dedup_window"` // how long a MsgId is remembered (WeChat retries within ~15 s)
	// MaxDedupKeys bounds the MsgIds remembered; when full the oldest is
	// forgotten (a retry of it is then stored again, and JetStream's
	// duplicate window drops it).
	MaxDedupKeys    int           `mapstructure:"max_dedup_keys"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"` // for requests still running at shutdown
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8081",
		Path:            "/",
		TimestampWindow: 5 * time.Minute,
		MaxNonces:       100_000,
		MaxBody:         64 << 10,
		MaxInFlight:     64,
		StoreTimeout:    4 * time.Second,
		DedupWindow:     10 * time.Minute,
		MaxDedupKeys:    100_000,
		ShutdownTimeout: 15 * time.Second,
	}
}

// EffectiveMode is Mode, or the default for the key: safe with an
// encoding_aes_key, plain without.
func (c *Config) EffectiveMode() string {
	switch {
	case c.Mode != "":
		return c.Mode
	case c.EncodingAESKey != "":
		return ModeSafe
	default:
		return ModePlain
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
	case c.Mode != "" && c.Mode != ModeSafe && c.Mode != ModeCompatible && c.Mode != ModePlain:
		return fmt.Errorf("mode: %q is not safe, compatible or plain", c.Mode)
	case c.Mode == ModePlain && c.EncodingAESKey != "":
		return fmt.Errorf("mode: plain takes no encoding_aes_key (remove the key, or choose safe or compatible)")
	case (c.Mode == ModeSafe || c.Mode == ModeCompatible) && c.EncodingAESKey == "":
		return fmt.Errorf("mode: %s needs encoding_aes_key", c.Mode)
	case c.TimestampWindow < 0:
		return fmt.Errorf("timestamp_window: must not be negative")
	case c.MaxNonces < 1:
		return fmt.Errorf("max_nonces: must be at least 1")
	case c.MaxBody < 1024:
		return fmt.Errorf("max_body: must be at least 1024 bytes")
	case c.MaxInFlight < 1:
		return fmt.Errorf("max_in_flight: must be at least 1")
	case c.StoreTimeout <= 0 || c.StoreTimeout >= wechatTimeout:
		return fmt.Errorf("store_timeout: must be positive and under %s (WeChat stops waiting for the answer then)", wechatTimeout)
	case c.DedupWindow <= 0:
		return fmt.Errorf("dedup_window: must be positive")
	case c.MaxDedupKeys < 1:
		return fmt.Errorf("max_dedup_keys: must be at least 1")
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

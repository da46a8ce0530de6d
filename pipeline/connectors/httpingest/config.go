// Package httpingest is the generic HTTP ingest (`iwom connector http`):
// third-party crawlers POST /v1/posts with JSON (one Post or an array) or
// JSONL, authenticated by a bearer token; each line is validated on its
// own, and the answer (202 once JetStream has stored every accepted post)
// says which lines were accepted and which were rejected and why.
package httpingest

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Path is where posts are sent.
const Path = "/v1/posts"

// Config is one `kind: http` entry of connectors:.
type Config struct {
	Name   string   `mapstructure:"name"`
	Listen string   `mapstructure:"listen"`
	Tokens []string `mapstructure:"tokens"` // accepted bearer tokens; secrets
	// TokensEnv names an environment variable holding more tokens,
	// comma-separated.
	TokensEnv string `mapstructure:"tokens_env"`
	MaxBody   int64  `mapstructure:"max_body"`  // bytes per request
	MaxLines  int    `mapstructure:"max_lines"` // posts per request
	// MaxConcurrent requests are served at once; more get 503 at once.
	MaxConcurrent int `mapstructure:"max_concurrent"`
	// MaxInflight bounds the bytes of the bodies being served at once
	// (each request counts its Content-Length, or max_body when it has
	// none); a request that would pass it gets 503 at once.
	MaxInflight     int64         `mapstructure:"max_inflight"`
	AckTimeout      time.Duration `mapstructure:"ack_timeout"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
}

// DefaultConfig is a Config with every default set.
func DefaultConfig() Config {
	return Config{
		Listen:          "127.0.0.1:8082",
		MaxBody:         16 << 20,
		MaxLines:        10000,
		MaxConcurrent:   16,
		MaxInflight:     64 << 20,
		AckTimeout:      30 * time.Second,
		ShutdownTimeout: 30 * time.Second,
	}
}

// Validate checks the values and names the bad key.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port: %v", c.Listen, err)
	}
	switch {
	case len(c.tokens()) == 0:
		return fmt.Errorf("tokens, tokens_env: at least one bearer token is needed")
	case c.MaxBody < 1024:
		return fmt.Errorf("max_body: must be at least 1024 bytes")
	case c.MaxLines < 1:
		return fmt.Errorf("max_lines: must be at least 1")
	case c.MaxConcurrent < 1:
		return fmt.Errorf("max_concurrent: must be at least 1")
	case c.MaxInflight < c.MaxBody:
		return fmt.Errorf("max_inflight: must be at least max_body (%d)", c.MaxBody)
	case c.AckTimeout <= 0:
		return fmt.Errorf("ack_timeout: must be positive")
	case c.ShutdownTimeout <= 0:
		return fmt.Errorf("shutdown_timeout: must be positive")
	}
	for i, t := range c.Tokens {
		if len(strings.TrimSpace(t)) < 16 {
			return fmt.Errorf("tokens[%d]: must be at least 16 characters", i)
		}
	}
	return nil
}

// tokens is every accepted token: the configured ones and those in the
// environment variable.
func (c *Config) tokens() []string {
	var out []string
	for _, t := range c.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	if c.TokensEnv != "" {
		for _, t := range strings.Split(os.Getenv(c.TokensEnv), ",") {
			if t = strings.TrimSpace(t); t != "" {
				out = append(out, t)
			}
		}
	}
	return out
}

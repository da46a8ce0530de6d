// Package config loads iwom's configuration: the embedded defaults
// (configs/iwom.yaml), then an optional file, then IWOM_<SECTION>_<KEY>
// environment variables. A file only needs the keys it changes.
//
// Loading is strict, since a file or the environment may be wrong or
// hostile: an unknown key in the file or an IWOM_<SECTION>_ variable that
// names no key is an error; a value must be of its key's type (types.go:
// durations need a unit, integers must fit their field, numbers in text
// keys must be quoted); only ${NAME} is replaced from the environment
// (file.go); a variable set to "" sets its key to "". Every error wraps
// ErrInvalid, names the key or variable, and never repeats a value that
// could be a secret.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/iwom/iwom/configs"
)

// Config is the whole configuration. Field tags name the YAML keys.
type Config struct {
	DataDir       string        `mapstructure:"data_dir"`
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	Log           Log           `mapstructure:"log"`
	NATS          NATS          `mapstructure:"nats"`
	ClickHouse    ClickHouse    `mapstructure:"clickhouse"`
	Limits        Limits        `mapstructure:"limits"`
	Enrich        Enrich        `mapstructure:"enrich"`
	Alerts        Alerts        `mapstructure:"alerts"`
	Metrics       Metrics       `mapstructure:"metrics"`
	API           API           `mapstructure:"api"`
	// Connectors are the platform connector instances, one entry each
	// with kind and name; pipeline/connectors/registry decodes and checks
	// them (see pipeline/connectors/README.md).
	Connectors []ConnectorEntry `mapstructure:"connectors"`
}

// ConnectorEntry is one item of the connectors: list, its keys as given.
// Its keys other than kind and name depend on the kind, so it stays a map
// here; pipeline/connectors/registry (whose Entry it is) decodes it
// strictly into the kind's Config and builds the connector.
type ConnectorEntry map[string]any

// Kind is the entry's kind ("weibo", "wechat-push" …), "" when missing or
// not text.
func (e ConnectorEntry) Kind() string { s, _ := e["kind"].(string); return s }

// Name is the entry's instance name, "" when missing or not text.
func (e ConnectorEntry) Name() string { s, _ := e["name"].(string); return s }

// Log configures zerolog.
type Log struct {
	Level         string        `mapstructure:"level"`
	Format        string        `mapstructure:"format"`
	StatsInterval time.Duration `mapstructure:"stats_interval"`
}

// NATS configures the broker connection, the streams and the consumers.
type NATS struct {
	URL             string        `mapstructure:"url"`
	User            string        `mapstructure:"user"`
	Password        string        `mapstructure:"password"`
	PasswordFile    string        `mapstructure:"password_file"`
	CredsFile       string        `mapstructure:"creds_file"`
	NKeySeedFile    string        `mapstructure:"nkey_seed_file"`
	TLSCA           string        `mapstructure:"tls_ca"`
	TLSCert         string        `mapstructure:"tls_cert"`
	TLSKey          string        `mapstructure:"tls_key"`
	EmbeddedListen  string        `mapstructure:"embedded_listen"`
	Storage         string        `mapstructure:"storage"`
	Replicas        int           `mapstructure:"replicas"`
	MaxAge          time.Duration `mapstructure:"max_age"`
	MaxBytes        int64         `mapstructure:"max_bytes"`
	MaxMsgSize      int32         `mapstructure:"max_msg_size"`
	DuplicateWindow time.Duration `mapstructure:"duplicate_window"`
	MaxDeliver      int           `mapstructure:"max_deliver"`
	AckWait         time.Duration `mapstructure:"ack_wait"`
	FetchBatch      int           `mapstructure:"fetch_batch"`
	FetchWait       time.Duration `mapstructure:"fetch_wait"`
	Timeout         time.Duration `mapstructure:"timeout"`
}

// ClickHouse configures the sink and the migrations.
type ClickHouse struct {
	Addr          string        `mapstructure:"addr"`
	Database      string        `mapstructure:"database"`
	User          string        `mapstructure:"user"`
	Password      string        `mapstructure:"password"`
	PasswordFile  string        `mapstructure:"password_file"`
	TLS           bool          `mapstructure:"tls"`
	TLSCA         string        `mapstructure:"tls_ca"`
	TLSSkipVerify bool          `mapstructure:"tls_skip_verify"`
	BatchSize     int           `mapstructure:"batch_size"`
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	RetryMin      time.Duration `mapstructure:"retry_min"`
	RetryMax      time.Duration `mapstructure:"retry_max"`
	DialTimeout   time.Duration `mapstructure:"dial_timeout"`
	// Partitions and Partition: the sink stores the posts whose key hash
	// mod Partitions is Partition (one sink process per partition).
	Partitions int `mapstructure:"partitions"`
	Partition  int `mapstructure:"partition"`
	// StateDir holds the sink's state store (empty: <data_dir>/sink-state).
	StateDir string `mapstructure:"state_dir"`
}

// Addrs splits Addr on commas.
func (c ClickHouse) Addrs() []string {
	var out []string
	for _, a := range strings.Split(c.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Limits bound what a post may be.
type Limits struct {
	MaxTextBytes int `mapstructure:"max_text_bytes"`
	// MaxFutureSkew: a post whose created_at is later than the server's
	// clock plus this is invalid (0 to 24h).
	MaxFutureSkew time.Duration `mapstructure:"max_future_skew"`
}

// Enrich configures the enrich stage.
type Enrich struct {
	Workers    int    `mapstructure:"workers"`
	BrandsFile string `mapstructure:"brands_file"`
}

// Alerts configures the alert engine. The rules themselves are in a rules
// file (configs/alerts.yaml, embedded), reloaded without a restart.
type Alerts struct {
	RulesFile       string        `mapstructure:"rules_file"`
	ReloadInterval  time.Duration `mapstructure:"reload_interval"`
	Slot            time.Duration `mapstructure:"slot"`
	AllowedLateness time.Duration `mapstructure:"allowed_lateness"`
	StateBucket     string        `mapstructure:"state_bucket"`
	LeaseBucket     string        `mapstructure:"lease_bucket"`
	LeaseTTL        time.Duration `mapstructure:"lease_ttl"`
	Partitions      int           `mapstructure:"partitions"`
	ClickHouse      bool          `mapstructure:"clickhouse"`
}

// Metrics configures the HTTP endpoint for /metrics, /healthz and /readyz.
type Metrics struct {
	Listen string `mapstructure:"listen"`
}

// API configures `iwom serve`, the HTTP API for the reports.
type API struct {
	Listen string `mapstructure:"listen"`
	// Tokens are the bearer tokens accepted by /v1/, comma separated;
	// empty leaves the API open.
	Tokens                 string        `mapstructure:"tokens"`
	TokensFile             string        `mapstructure:"tokens_file"`
	ClickHouseUser         string        `mapstructure:"clickhouse_user"`
	ClickHousePassword     string        `mapstructure:"clickhouse_password"`
	ClickHousePasswordFile string        `mapstructure:"clickhouse_password_file"`
	QueryTimeout           time.Duration `mapstructure:"query_timeout"`
	MaxConcurrent          int           `mapstructure:"max_concurrent"`
	MaxStreams             int           `mapstructure:"max_streams"`
	MaxClientStreams       int           `mapstructure:"max_client_streams"`
}

// TokenList splits Tokens on commas and white space.
func (a API) TokenList() []string {
	return strings.FieldsFunc(a.Tokens, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// APIClickHouse is the ClickHouse configuration the API connects with:
// clickhouse.* with the API's (read-only) user when one is set.
func (c *Config) APIClickHouse() ClickHouse {
	ch := c.ClickHouse
	if c.API.ClickHouseUser != "" {
		ch.User, ch.Password, ch.PasswordFile = c.API.ClickHouseUser, c.API.ClickHousePassword, c.API.ClickHousePasswordFile
	}
	return ch
}

// EnvPrefix is the prefix of environment overrides.
const EnvPrefix = "IWOM"

// Load reads the defaults, then file (if not empty), then the environment.
func Load(file string) (*Config, error) {
	if err := checkEnv(os.Environ()); err != nil {
		return nil, err
	}
	v, err := newViper(file)
	if err != nil {
		return nil, err
	}
	return decode(v)
}

func newViper(file string) (*viper.Viper, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(configs.DefaultYAML)); err != nil {
		return nil, fmt.Errorf("reading embedded default config: %w", err)
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading config file: %w", err)
		}
		if data, err = prepareFile(data, file); err != nil {
			return nil, err
		}
		if err := v.MergeConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("parsing config file %s: %w", file, err)
		}
		if err := checkKnownKeys(v, file); err != nil {
			return nil, err
		}
	}
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(true) // IWOM_METRICS_LISTEN= turns the listener off
	v.AutomaticEnv()
	return v, nil
}

// checkKnownKeys rejects keys in a user file that the defaults do not have,
// so that a typo is an error and not a silently ignored setting.
func checkKnownKeys(v *viper.Viper, file string) error {
	def := viper.New()
	def.SetConfigType("yaml")
	if err := def.ReadConfig(bytes.NewReader(configs.DefaultYAML)); err != nil {
		return fmt.Errorf("reading embedded default config: %w", err)
	}
	known := map[string]bool{}
	for _, k := range def.AllKeys() {
		known[k] = true
	}
	for _, k := range v.AllKeys() {
		if !known[k] && !allowedExtra(k) {
			return fmt.Errorf("%w: config file %s: unknown key %q", ErrInvalid, file, k)
		}
	}
	return nil
}

// allowedExtra lists key prefixes that hold free-form lists or maps.
func allowedExtra(key string) bool {
	return strings.HasPrefix(key, "connectors")
}

// Keys lists every configuration key, as "section.key".
func Keys() []string {
	v, err := newViper("")
	if err != nil {
		return nil
	}
	return v.AllKeys()
}

func decode(v *viper.Viper) (*Config, error) {
	var c Config
	err := v.Unmarshal(&c, func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = false
		strict(dc)
	})
	if err != nil {
		return nil, decodeError(err)
	}
	if err := c.readSecretFiles(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// readSecretFiles loads passwords given as files.
func (c *Config) readSecretFiles() error {
	for _, f := range []struct {
		key, path string
		dst       *string
	}{
		{"nats.password_file", c.NATS.PasswordFile, &c.NATS.Password},
		{"clickhouse.password_file", c.ClickHouse.PasswordFile, &c.ClickHouse.Password},
		{"api.tokens_file", c.API.TokensFile, &c.API.Tokens},
		{"api.clickhouse_password_file", c.API.ClickHousePasswordFile, &c.API.ClickHousePassword},
	} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			return bad(f.key, "reading %s: %v", f.path, err)
		}
		*f.dst = strings.TrimRight(string(data), "\r\n")
	}
	return nil
}

// Secrets are the configured secret values, for checks that they never
// reach logs or output.
func (c *Config) Secrets() []string {
	var out []string
	for _, s := range append([]string{c.NATS.Password, c.ClickHouse.Password, c.API.ClickHousePassword}, c.API.TokenList()...) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Default is the embedded configuration.
func Default() *Config {
	c, err := Load("")
	if err != nil {
		panic(fmt.Sprintf("embedded default config is invalid: %v", err))
	}
	return c
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid config")

func bad(key, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
}

// Validate checks every value and names the first bad key.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	if c.ShutdownGrace <= 0 {
		return bad("shutdown_grace", "must be positive")
	}
	if (c.NATS.TLSCert == "") != (c.NATS.TLSKey == "") {
		return bad("nats.tls_cert", "tls_cert and tls_key go together")
	}
	if c.NATS.CredsFile != "" && c.NATS.NKeySeedFile != "" {
		return bad("nats.creds_file", "set creds_file or nkey_seed_file, not both")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console", "auto":
	default:
		return bad("log.format", "%q is not json, console or auto", c.Log.Format)
	}
	if c.Log.StatsInterval <= 0 {
		return bad("log.stats_interval", "must be positive")
	}
	n := c.NATS
	switch n.Storage {
	case "file", "memory":
	default:
		return bad("nats.storage", "%q is not file or memory", n.Storage)
	}
	checks := []struct {
		ok  bool
		key string
		msg string
	}{
		{n.Replicas >= 1 && n.Replicas <= 5, "nats.replicas", "must be 1 to 5"},
		{n.MaxAge >= 0, "nats.max_age", "must not be negative"},
		{n.MaxBytes == -1 || n.MaxBytes > 0, "nats.max_bytes", "must be -1 or positive"},
		{n.MaxMsgSize > 0, "nats.max_msg_size", "must be positive"},
		{n.DuplicateWindow > 0, "nats.duplicate_window", "must be positive"},
		{n.MaxDeliver >= 1, "nats.max_deliver", "must be at least 1"},
		{n.AckWait >= time.Second, "nats.ack_wait", "must be at least 1s"},
		{n.FetchBatch >= 1 && n.FetchBatch <= 10000, "nats.fetch_batch", "must be 1 to 10000"},
		{n.FetchWait > 0, "nats.fetch_wait", "must be positive"},
		{n.Timeout > 0, "nats.timeout", "must be positive"},
		{len(c.ClickHouse.Addrs()) > 0, "clickhouse.addr", "must name at least one host:port"},
		{validIdent(c.ClickHouse.Database), "clickhouse.database", "must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)"},
		{c.ClickHouse.BatchSize >= 1, "clickhouse.batch_size", "must be at least 1"},
		{c.ClickHouse.FlushInterval > 0, "clickhouse.flush_interval", "must be positive"},
		{c.ClickHouse.RetryMin > 0, "clickhouse.retry_min", "must be positive"},
		{c.ClickHouse.RetryMax >= c.ClickHouse.RetryMin, "clickhouse.retry_max", "must be at least retry_min"},
		{c.ClickHouse.DialTimeout > 0, "clickhouse.dial_timeout", "must be positive"},
		{c.ClickHouse.Partitions >= 1 && c.ClickHouse.Partitions <= 1024, "clickhouse.partitions", "must be 1 to 1024"},
		{c.ClickHouse.Partition >= 0 && c.ClickHouse.Partition < max(c.ClickHouse.Partitions, 1), "clickhouse.partition", "must be 0 to partitions-1"},
		{c.Limits.MaxTextBytes >= 0, "limits.max_text_bytes", "must not be negative"},
		{c.Limits.MaxFutureSkew >= 0 && c.Limits.MaxFutureSkew <= 24*time.Hour, "limits.max_future_skew", "must be 0 to 24h"},
		{c.Enrich.Workers >= 0, "enrich.workers", "must not be negative"},
	}
	for _, ck := range checks {
		if !ck.ok {
			return bad(ck.key, "%s", ck.msg)
		}
	}
	if int64(c.Limits.MaxTextBytes) > int64(n.MaxMsgSize) {
		return bad("limits.max_text_bytes", "must not exceed nats.max_msg_size (%d)", n.MaxMsgSize)
	}
	if c.NATS.FetchWait >= c.NATS.AckWait {
		return bad("nats.fetch_wait", "must be shorter than nats.ack_wait")
	}
	if err := c.API.validate(); err != nil {
		return err
	}
	al := c.Alerts
	alertChecks := []struct {
		ok  bool
		key string
		msg string
	}{
		{al.ReloadInterval >= 0, "alerts.reload_interval", "must not be negative (0 disables reloading)"},
		{al.Slot >= time.Second && al.Slot <= time.Hour && al.Slot%time.Second == 0, "alerts.slot", "must be whole seconds from 1s to 1h"},
		{al.AllowedLateness >= 0 && al.AllowedLateness <= 24*time.Hour, "alerts.allowed_lateness", "must be 0 to 24h"},
		{validKVName(al.StateBucket), "alerts.state_bucket", "must be a KV bucket name ([A-Za-z0-9_-]+)"},
		{validKVName(al.LeaseBucket) && al.LeaseBucket != al.StateBucket, "alerts.lease_bucket", "must be a KV bucket name ([A-Za-z0-9_-]+) other than alerts.state_bucket"},
		{al.LeaseTTL >= 3*time.Second, "alerts.lease_ttl", "must be at least 3s"},
		{al.Partitions >= 0 && al.Partitions <= 256, "alerts.partitions", "must be 0 to 256"},
	}
	for _, ck := range alertChecks {
		if !ck.ok {
			return bad(ck.key, "%s", ck.msg)
		}
	}
	return nil
}

// validKVName reports whether s can name a JetStream KV bucket.
func validKVName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validate checks the api section.
func (a API) validate() error {
	switch {
	case a.Listen == "":
		return bad("api.listen", "must not be empty (host:port)")
	case a.QueryTimeout < 100*time.Millisecond:
		return bad("api.query_timeout", "must be at least 100ms")
	case a.MaxStreams < 1:
		return bad("api.max_streams", "must be at least 1")
	case a.MaxClientStreams < 1 || a.MaxClientStreams > a.MaxStreams:
		return bad("api.max_client_streams", "must be 1 to api.max_streams")
	case a.MaxConcurrent < 1:
		return bad("api.max_concurrent", "must be at least 1")
	case a.ClickHouseUser == "" && (a.ClickHousePassword != "" || a.ClickHousePasswordFile != ""):
		return bad("api.clickhouse_user", "must be set when api.clickhouse_password or api.clickhouse_password_file is")
	}
	for _, t := range a.TokenList() {
		if len(t) < 16 {
			return bad("api.tokens", "every token must be at least 16 characters")
		}
	}
	return nil
}

// Package clickhouse is iwom's ClickHouse sink: versioned migrations, and a
// batching writer of enriched posts that retries while ClickHouse is
// unreachable and dead-letters rows ClickHouse rejects.
package clickhouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/iwom/iwom/pipeline/config"
)

// Open connects to ClickHouse (lazily: the first query dials).
func Open(cfg config.ClickHouse) (driver.Conn, error) { return open(cfg, "default") }

// OpenReader connects with clickhouse.database as the session's database,
// as a user restricted to that database (allow_databases) must.
func OpenReader(cfg config.ClickHouse) (driver.Conn, error) { return open(cfg, cfg.Database) }

func open(cfg config.ClickHouse, db string) (driver.Conn, error) {
	tlsCfg, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	conn, err := ch.Open(&ch.Options{
		TLS:  tlsCfg,
		Addr: cfg.Addrs(),
		Auth: ch.Auth{Database: db, Username: cfg.User, Password: cfg.Password},
		// Several replicas: try them in order.
		ConnOpenStrategy: ch.ConnOpenInOrder,
		DialTimeout:      cfg.DialTimeout,
		MaxOpenConns:     8,
		MaxIdleConns:     4,
		Compression:      &ch.Compression{Method: ch.CompressionLZ4},
	})
	if err != nil {
		return nil, fmt.Errorf("opening ClickHouse %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// tlsConfig is nil unless clickhouse.tls is on.
func tlsConfig(cfg config.ClickHouse) (*tls.Config, error) {
	if !cfg.TLS {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSSkipVerify} //nolint:gosec // opt-in, for testing
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("reading clickhouse.tls_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("clickhouse.tls_ca %s holds no PEM certificate", cfg.TLSCA)
		}
		t.RootCAs = pool
	}
	return t, nil
}

// ServerVersion returns the server's "major.minor" version numbers.
func ServerVersion(ctx context.Context, conn driver.Conn) (major, minor int, err error) {
	v, err := conn.ServerVersion()
	if err != nil {
		return 0, 0, fmt.Errorf("reading ClickHouse server version: %w", err)
	}
	return int(v.Version.Major), int(v.Version.Minor), nil
}

// dataErrorCodes are ClickHouse exception codes that mean the data itself
// is bad: retrying the same rows can never succeed.
var dataErrorCodes = map[int32]bool{
	6:   true, // CANNOT_PARSE_TEXT
	26:  true, // CANNOT_PARSE_QUOTED_STRING
	27:  true, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
	32:  true, // ATTEMPT_TO_READ_AFTER_EOF
	33:  true, // CANNOT_READ_ALL_DATA
	38:  true, // CANNOT_PARSE_DATE
	41:  true, // CANNOT_PARSE_DATETIME
	53:  true, // TYPE_MISMATCH
	69:  true, // ARGUMENT_OUT_OF_BOUND
	70:  true, // CANNOT_CONVERT_TYPE
	72:  true, // CANNOT_PARSE_NUMBER
	117: true, // INCORRECT_DATA
	131: true, // TOO_LARGE_STRING_SIZE
	190: true, // SIZES_OF_ARRAYS_DOESNT_MATCH
	252: false,
	321: true, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
}

// IsDataError reports whether err says the inserted data is invalid.
func IsDataError(err error) bool {
	var ex *ch.Exception
	if errors.As(err, &ex) {
		return dataErrorCodes[ex.Code]
	}
	return false
}

// IsUnavailable reports whether err means ClickHouse could not be reached.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &oe), errors.As(err, &ne):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "broken pipe") || strings.Contains(s, "i/o timeout") || strings.Contains(s, "acquire conn timeout")
}

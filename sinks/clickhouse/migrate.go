package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"

	"github.com/iwom/iwom/schemas"
)

// Migration is one versioned DDL file.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
	Checksum   string
}

// Migrations reads the embedded DDL files for database db, in order.
func Migrations(db string) ([]Migration, error) {
	entries, err := fs.Glob(schemas.ClickHouse, "clickhouse/*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(entries)
	var out []Migration
	seen := map[uint32]string{}
	for _, path := range entries {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "clickhouse/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", path)
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("migration %s: version %d already used by %s", path, v, prev)
		}
		seen[uint32(v)] = path
		data, err := schemas.ClickHouse.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", path, err)
		}
		sum := sha256.Sum256(data)
		out = append(out, Migration{
			Version:    uint32(v),
			Name:       name,
			Statements: SplitStatements(strings.ReplaceAll(string(data), "{db}", db)),
			Checksum:   hex.EncodeToString(sum[:8]),
		})
	}
	return out, nil
}

// SplitStatements splits a SQL file on semicolons that end a line, dropping
// "--" comment lines and empty statements. (ClickHouse takes one statement
// per query.)
func SplitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for _, line := range strings.Split(sql, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") {
			continue
		}
		if strings.HasSuffix(t, ";") {
			cur.WriteString(strings.TrimSuffix(t, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// Migrate creates database db and applies every migration not yet recorded
// in db.schema_migrations. Every statement is idempotent (IF NOT EXISTS), so
// several replicas migrating at once is safe: at worst a version is
// recorded twice, which reads as once.
func Migrate(ctx context.Context, conn driver.Conn, db string, log zerolog.Logger) (applied []Migration, err error) {
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return nil, fmt.Errorf("creating database %s: %w", db, err)
	}
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+db+`.schema_migrations (
		version UInt32, name String, checksum String, applied_at DateTime DEFAULT now()
	) ENGINE = MergeTree() ORDER BY version`); err != nil {
		return nil, fmt.Errorf("creating %s.schema_migrations: %w", db, err)
	}
	done, err := AppliedVersions(ctx, conn, db)
	if err != nil {
		return nil, err
	}
	migs, err := Migrations(db)
	if err != nil {
		return nil, err
	}
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := conn.Exec(ctx, stmt); err != nil && !alreadyAdded(stmt, err) && !alreadyRenamed(stmt, err) {
				return applied, fmt.Errorf("applying migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := record(ctx, conn, db, m); err != nil {
			return applied, fmt.Errorf("recording migration %04d_%s: %w", m.Version, m.Name, err)
		}
		log.Info().Uint32("version", m.Version).Str("name", m.Name).Msg("applied migration")
		applied = append(applied, m)
	}
	return applied, nil
}

// addColumn matches an ALTER TABLE … ADD COLUMN statement.
var addColumn = regexp.MustCompile(`(?is)^\s*ALTER\s+TABLE\s+\S+\s+ADD\s+COLUMN\s`)

// alreadyAdded reports whether err says that the column an ALTER TABLE …
// ADD COLUMN statement adds exists already. ClickHouse 18.16 has no ADD
// COLUMN IF NOT EXISTS, so this keeps such migrations idempotent when
// several processes migrate at once.
func alreadyAdded(stmt string, err error) bool {
	if !addColumn.MatchString(stmt) {
		return false
	}
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return false
	}
	// 44 ILLEGAL_COLUMN (18.16), 15 DUPLICATE_COLUMN (current releases).
	return (ex.Code == 44 || ex.Code == 15) && strings.Contains(ex.Message, "already exists")
}

// renameTable matches a RENAME TABLE statement.
var renameTable = regexp.MustCompile(`(?is)^\s*RENAME\s+TABLE\s`)

// alreadyRenamed reports whether err says that a RENAME TABLE statement
// was done before: its source is gone or its target exists (a migration
// run again after it stopped half-way, or by a second process).
func alreadyRenamed(stmt string, err error) bool {
	if !renameTable.MatchString(stmt) {
		return false
	}
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return false
	}
	// 57 TABLE_ALREADY_EXISTS, 60 UNKNOWN_TABLE.
	return ex.Code == 57 || ex.Code == 60
}

// AppliedVersions reads the recorded migration versions.
func AppliedVersions(ctx context.Context, conn driver.Conn, db string) (map[uint32]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+db+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading %s.schema_migrations: %w", db, err)
	}
	defer rows.Close()
	done := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading %s.schema_migrations: %w", db, err)
		}
		done[v] = true
	}
	return done, rows.Err()
}

// record inserts the migration's row as a native batch (explicit column
// list, which ClickHouse 18.16 needs).
func record(ctx context.Context, conn driver.Conn, db string, m Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, name, checksum)")
	if err != nil {
		return err
	}
	if err := b.Append(m.Version, m.Name, m.Checksum); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

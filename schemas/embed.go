// Package schemas embeds iwom's record schemas and the versioned ClickHouse
// DDL applied by `iwom migrate`.
package schemas

import (
	"embed"
	_ "embed"
)

// ClickHouse holds clickhouse/NNNN_name.sql, applied in file-name order.
// "{db}" in a file stands for the configured database.
//
//go:embed clickhouse/*.sql
var ClickHouse embed.FS

// PostJSONSchema is schemas/post.schema.json.
//
//go:embed post.schema.json
var PostJSONSchema []byte

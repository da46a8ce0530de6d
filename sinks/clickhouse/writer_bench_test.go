package clickhouse

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/iwom/iwom/pipeline/post"
)

func benchRows(n int) []*post.Enriched {
	rows := make([]*post.Enriched, n)
	t := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for i := range rows {
		rows[i] = enriched(strconv.Itoa(i), t)
	}
	return rows
}

// BenchmarkBatchAppend is the client-side cost of appending one row to a
// native batch (encoding into column buffers), per row.
func BenchmarkBatchAppend(b *testing.B) {
	ctx := context.Background()
	conn := connect(b, "bench_append")
	if _, err := Migrate(ctx, conn, "bench_append", zerolog.Nop()); err != nil {
		b.Fatal(err)
	}
	w := NewWriter(conn, "bench_append")
	rows := benchRows(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		batch, err := conn.PrepareBatch(ctx, w.insert)
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < len(rows) && i < b.N; j, i = j+1, i+1 {
			if err := batch.Append(values(rows[j])...); err != nil {
				b.Fatal(err)
			}
		}
		_ = batch.Abort()
	}
}

// BenchmarkInsert5000 inserts batches of 5,000 enriched rows; ns/op is per
// batch.
func BenchmarkInsert5000(b *testing.B) {
	ctx := context.Background()
	conn := connect(b, "bench_insert")
	if _, err := Migrate(ctx, conn, "bench_insert", zerolog.Nop()); err != nil {
		b.Fatal(err)
	}
	w := NewWriter(conn, "bench_insert")
	rows := benchRows(5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.Insert(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(5000*b.N)/b.Elapsed().Seconds(), "rows/s")
}

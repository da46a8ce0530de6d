package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/iwom/iwom/pipeline/termsafe"
)

// Result is a report's output: the JSON form is one object
// {"report", "params", "columns", "rows": [{column: value}]}, with the
// columns of each row in order.
type Result struct {
	Report  string
	Params  Fields
	Columns []string
	Rows    [][]any
}

// Field is one named value; Fields keep their order in JSON.
type Field struct {
	Name  string
	Value any
}

// Fields is an ordered JSON object.
type Fields []Field

// MarshalJSON writes the fields as an object, in order.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(x.Name)
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(x.Value)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", x.Name, err)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		v = nil
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Time is a time printed in the report's zone.
type Time struct {
	time.Time
}

// MarshalJSON writes RFC 3339 with the zone's offset.
func (t Time) MarshalJSON() ([]byte, error) { return json.Marshal(t.Format(time.RFC3339)) }

// MarshalJSON writes {"report", "params", "columns", "rows"}.
func (r *Result) MarshalJSON() ([]byte, error) {
	rows := make([]Fields, len(r.Rows))
	for i, row := range r.Rows {
		f := make(Fields, len(r.Columns))
		for j, c := range r.Columns {
			f[j] = Field{c, row[j]}
		}
		rows[i] = f
	}
	cols := r.Columns
	if cols == nil {
		cols = []string{}
	}
	return Fields{{"report", r.Report}, {"params", r.Params}, {"columns", cols}, {"rows", rows}}.MarshalJSON()
}

// Write writes the result in format: json, csv or table.
func (r *Result) Write(w io.Writer, format string) error {
	switch format {
	case "json":
		b, err := r.MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding report: %w", err)
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(r.Columns); err != nil {
			return err
		}
		for _, row := range r.Rows {
			rec := make([]string, len(row))
			for i, v := range row {
				rec[i] = csvCell(v)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	case "table":
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, strings.ToUpper(strings.Join(r.Columns, "\t"))+"\t")
		for _, row := range r.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = termsafe.Cell(text(v, true))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		if len(r.Rows) == 0 {
			fmt.Fprintln(tw, "(no rows)")
		}
		return tw.Flush()
	}
	return fmt.Errorf("%w format: %q", ErrBadParam, format)
}

// csvCell formats a CSV cell. A text cell (post text, author name,
// keyword, URL: anything a post's author chose) that a spreadsheet would
// read as a formula, or whose first character it would eat, gets a
// leading ' (OWASP, CSV injection): = + - @ tab CR LF. Numbers are never
// changed, so a negative change or net stays a number.
func csvCell(v any) string {
	s := text(v, false)
	switch v.(type) {
	case string, []string, []PostRef:
		if s != "" && strings.ContainsRune("=+-@\t\r\n", rune(s[0])) {
			return "'" + s
		}
	}
	return s
}

// text formats a cell; short for the table (times to the minute, long
// texts cut, lists joined).
func text(v any, short bool) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if short {
			x = strings.Join(strings.Fields(x), " ")
			if utf8.RuneCountInString(x) > 40 {
				r := []rune(x)
				x = string(r[:39]) + "…"
			}
		}
		return x
	case Time:
		if short {
			return x.Format("2006-01-02 15:04")
		}
		return x.Format(time.RFC3339)
	case float64:
		if short {
			return strconv.FormatFloat(x, 'f', 3, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		if short {
			return text(strings.Join(x, " "), true)
		}
		return strings.Join(x, " | ")
	case []PostRef:
		s := make([]string, len(x))
		for i, p := range x {
			s[i] = p.URL
			if s[i] == "" {
				s[i] = p.Platform + ":" + p.ID
			}
		}
		if short {
			return strings.Join(s, " ")
		}
		return strings.Join(s, " | ")
	}
	return fmt.Sprint(v)
}

// paramsOut is the effective parameters of a run, as echoed in the JSON.
func (s *Spec) paramsOut(p Params) Fields {
	nn := func(x []string) []string {
		if x == nil {
			return []string{}
		}
		return x
	}
	f := Fields{{"brand", nn(p.Brands)}, {"platform", nn(p.Platforms)},
		{"from", Time{p.From.In(p.Loc)}}, {"to", Time{p.To.In(p.Loc)}}, {"tz", p.TZ}}
	if s.Series {
		f = append(f, Field{"interval", p.Interval})
	}
	for _, k := range s.Extra {
		switch k {
		case "limit":
			f = append(f, Field{"limit", p.Limit})
		case "sort":
			f = append(f, Field{"sort", p.Sort})
		case "label":
			f = append(f, Field{"label", p.Label})
		case "baseline":
			f = append(f, Field{"baseline", p.Baseline})
		case "ratio":
			f = append(f, Field{"ratio", p.Ratio})
		case "min":
			f = append(f, Field{"min", p.Min})
		case "interval":
			f = append(f, Field{"interval", p.Interval})
		}
	}
	return f
}

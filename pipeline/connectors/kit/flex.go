package kit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Int decodes what platforms send for a number: a JSON number, a string
// holding one ("21332"), or null (0). Fractions are truncated.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = Int(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 9.2e18 || f < -9.2e18 {
		return fmt.Errorf("not a number: %.40q", s)
	}
	*n = Int(int64(f))
	return nil
}

// ID decodes an identifier sent as a JSON string or number, keeping a
// number's digits exactly (no float rounding); null is "".
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(strings.TrimSpace(s))
		return nil
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return fmt.Errorf("id is neither a string nor a number: %.40s", b)
	}
	s := num.String()
	if strings.ContainsAny(s, ".eE") {
		// 4.9e15 as a float: convert back to digits when it is integral.
		f, err := num.Float64()
		if err != nil || f != float64(int64(f)) {
			return fmt.Errorf("id %s is not an integer", s)
		}
		s = strconv.FormatInt(int64(f), 10)
	}
	*id = ID(s)
	return nil
}

// Bool decodes true/false, 0/1 and "0"/"1"/"true"/"false"; null is false.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	switch s {
	case "true", "1":
		*v = true
	case "false", "0", "", "null":
		*v = false
	default:
		return fmt.Errorf("not a boolean: %.40q", s)
	}
	return nil
}

package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// The decoder is strict: a value must already be of its field's type, or be
// text that spells one (environment variables are always text). What
// mapstructure's weakly typed input did instead, and why it is refused:
//
//   - a bare number for a duration was nanoseconds (shutdown_grace: 30 was
//     30ns): it needs a unit now; 0 alone needs none;
//   - an integer too large for its field wrapped (max_msg_size: 4294967297
//     was 1), a fraction was truncated (max_concurrent: 1.9 was 1);
//   - a YAML number or boolean in a text field became text, after YAML had
//     read it as a number (password: 0123 is octal: it was "83"): quote it;
//   - 0 and 1 were booleans, and "" (an empty environment variable) was 0
//     or false: a boolean is true or false, and "" is an error for both.
//
// Error messages repeat a value only when it is a number, so that a secret
// given to the wrong key is not printed.

var durationType = reflect.TypeOf(time.Duration(0))

// strict makes a mapstructure decoder strict: no weakly typed input, and
// strictHook for every value. Load and DecodeStrict both use it.
func strict(dc *mapstructure.DecoderConfig) {
	dc.WeaklyTypedInput = false
	dc.DecodeHook = strictHook
}

// DecodeOption changes how DecodeStrict decodes.
type DecodeOption func(*mapstructure.DecoderConfig)

// WholeNumbersAsText lets a whole number (a YAML integer) fill a text
// field, as its decimal digits: the connector entries' ids (users:
// [1642634100]). Everything else stays strict.
func WholeNumbersAsText() DecodeOption {
	return func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = func(from, to reflect.Value) (any, error) {
			if to.Kind() == reflect.String {
				switch k := from.Kind(); {
				case isInt(k):
					return strconv.FormatInt(from.Int(), 10), nil
				case isUint(k):
					return strconv.FormatUint(from.Uint(), 10), nil
				}
			}
			return strictHook(from, to)
		}
	}
}

// UnknownKeysError lists the keys of a DecodeStrict input that no field
// of its output holds, sorted.
type UnknownKeysError struct{ Keys []string }

func (e *UnknownKeysError) Error() string {
	return "unknown keys: " + strings.Join(e.Keys, ", ")
}

// DecodeStrict fills out (a pointer to a struct holding its defaults) from
// in with the decoding Load uses (see above): durations need a unit,
// integers must fit their field, no fraction is truncated, text must be
// text. The errors are mapstructure's, each naming its key; keys of in
// that no field holds are reported, after the rest decoded, as an
// *UnknownKeysError.
func DecodeStrict(in map[string]any, out any, opts ...DecodeOption) error {
	var md mapstructure.Metadata
	dc := &mapstructure.DecoderConfig{Result: out, Metadata: &md, TagName: "mapstructure"}
	strict(dc)
	for _, o := range opts {
		o(dc)
	}
	dec, err := mapstructure.NewDecoder(dc)
	if err != nil {
		return fmt.Errorf("building config decoder: %w", err)
	}
	if err := dec.Decode(in); err != nil {
		return err
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return &UnknownKeysError{Keys: md.Unused}
	}
	return nil
}

// strictHook converts a decoded YAML or environment value to the type of
// the field it is decoded into, or says why it cannot.
func strictHook(from, to reflect.Value) (any, error) {
	t := to.Type()
	if t == durationType {
		return toDuration(from)
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return toInt(from, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return toUint(from, t.Bits())
	case reflect.Float32, reflect.Float64:
		return toFloat(from, t.Bits())
	case reflect.Bool:
		return toBool(from)
	case reflect.String:
		if from.Kind() != reflect.String {
			return nil, fmt.Errorf("must be text, not %s: quote the value in YAML", kindName(from))
		}
		return from.String(), nil
	}
	return from.Interface(), nil
}

func isInt(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

func isFloat(k reflect.Kind) bool {
	return k == reflect.Float32 || k == reflect.Float64
}

// kindName says what a value is, without saying what it holds.
func kindName(v reflect.Value) string {
	switch k := v.Kind(); {
	case v.Type() == reflect.TypeOf(time.Time{}):
		return "a timestamp"
	case isInt(k) || isUint(k):
		return "a whole number"
	case isFloat(k):
		return "a number"
	case k == reflect.Bool:
		return "true or false"
	case k == reflect.String:
		return "text"
	case k == reflect.Map || k == reflect.Struct:
		return "a mapping"
	case k == reflect.Slice || k == reflect.Array:
		return "a list"
	}
	return "a " + v.Kind().String()
}

func fmtFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func toDuration(from reflect.Value) (any, error) {
	const example = "such as 500ms, 30s, 5m or 1h30m"
	k := from.Kind()
	switch {
	case from.Type() == durationType:
		return from.Interface(), nil
	case isInt(k) || isUint(k) || isFloat(k):
		var f float64
		var s string
		switch {
		case isInt(k):
			f, s = float64(from.Int()), strconv.FormatInt(from.Int(), 10)
		case isUint(k):
			f, s = float64(from.Uint()), strconv.FormatUint(from.Uint(), 10)
		default:
			f = from.Float()
			s = fmtFloat(f)
		}
		return bareNumber(f, s)
	case k == reflect.String:
		s := strings.TrimSpace(from.String())
		if s == "" {
			return nil, fmt.Errorf("is empty: give a duration %s", example)
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return bareNumber(f, s)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("is not a duration %s", example)
		}
		return d, nil
	}
	return nil, fmt.Errorf("must be a duration %s, not %s", example, kindName(from))
}

// bareNumber accepts a duration written without a unit only when it is 0.
func bareNumber(f float64, s string) (any, error) {
	if f == 0 {
		return time.Duration(0), nil
	}
	return nil, fmt.Errorf("%s has no unit (a bare number): durations need a unit, e.g. %ss (only 0 may go without)", s, s)
}

func toInt(from reflect.Value, bits int) (any, error) {
	lo, hi := int64(math.MinInt64)>>(64-bits), int64(math.MaxInt64)>>(64-bits)
	rangeErr := func(s string) error {
		return fmt.Errorf("%s is out of range: must be %d to %d", s, lo, hi)
	}
	switch k := from.Kind(); {
	case isInt(k):
		if i := from.Int(); i < lo || i > hi {
			return nil, rangeErr(strconv.FormatInt(i, 10))
		}
		return from.Int(), nil
	case isUint(k):
		if u := from.Uint(); u > uint64(hi) {
			return nil, rangeErr(strconv.FormatUint(u, 10))
		}
		return int64(from.Uint()), nil
	case isFloat(k):
		f := from.Float()
		if math.IsNaN(f) || f != math.Trunc(f) {
			return nil, fmt.Errorf("must be a whole number, not %s", fmtFloat(f))
		}
		// -2^(bits-1) and 2^(bits-1) are exact in a float64.
		if f < -math.Ldexp(1, bits-1) || f >= math.Ldexp(1, bits-1) {
			return nil, rangeErr(fmtFloat(f))
		}
		return int64(f), nil
	case k == reflect.String:
		s := strings.TrimSpace(from.String())
		if s == "" {
			return nil, errors.New("is empty: give a whole number")
		}
		i, err := strconv.ParseInt(s, 10, bits)
		if errors.Is(err, strconv.ErrRange) {
			return nil, rangeErr(s)
		}
		if err != nil {
			return nil, notWhole(s)
		}
		return i, nil
	}
	return nil, fmt.Errorf("must be a whole number, not %s", kindName(from))
}

// notWhole says that s is not a decimal integer, repeating s only if it
// is a number.
func notWhole(s string) error {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return fmt.Errorf("%s is not a whole number (decimal digits)", s)
	}
	return errors.New("is not a whole number (decimal digits)")
}

func toUint(from reflect.Value, bits int) (any, error) {
	hi := uint64(math.MaxUint64) >> (64 - bits)
	rangeErr := func(s string) error {
		return fmt.Errorf("%s is out of range: must be 0 to %d", s, hi)
	}
	switch k := from.Kind(); {
	case isInt(k):
		if i := from.Int(); i < 0 || uint64(i) > hi {
			return nil, rangeErr(strconv.FormatInt(i, 10))
		}
		return uint64(from.Int()), nil
	case isUint(k):
		if u := from.Uint(); u > hi {
			return nil, rangeErr(strconv.FormatUint(u, 10))
		}
		return from.Uint(), nil
	case isFloat(k):
		f := from.Float()
		if math.IsNaN(f) || f != math.Trunc(f) {
			return nil, fmt.Errorf("must be a whole number, not %s", fmtFloat(f))
		}
		if f < 0 || f >= math.Ldexp(1, bits) {
			return nil, rangeErr(fmtFloat(f))
		}
		return uint64(f), nil
	case k == reflect.String:
		s := strings.TrimSpace(from.String())
		if s == "" {
			return nil, errors.New("is empty: give a whole number")
		}
		u, err := strconv.ParseUint(s, 10, bits)
		if errors.Is(err, strconv.ErrRange) {
			return nil, rangeErr(s)
		}
		if err != nil {
			return nil, notWhole(s)
		}
		return u, nil
	}
	return nil, fmt.Errorf("must be a whole number, not %s", kindName(from))
}

func toFloat(from reflect.Value, bits int) (any, error) {
	switch k := from.Kind(); {
	case isInt(k):
		return float64(from.Int()), nil
	case isUint(k):
		return float64(from.Uint()), nil
	case isFloat(k):
		return from.Float(), nil
	case k == reflect.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(from.String()), bits)
		if err != nil {
			return nil, errors.New("is not a number")
		}
		return f, nil
	}
	return nil, fmt.Errorf("must be a number, not %s", kindName(from))
}

func toBool(from reflect.Value) (any, error) {
	switch from.Kind() {
	case reflect.Bool:
		return from.Bool(), nil
	case reflect.String:
		s := strings.TrimSpace(from.String())
		if s == "" {
			return nil, errors.New("is empty: give true or false")
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errors.New("must be true or false")
		}
		return b, nil
	}
	return nil, fmt.Errorf("must be true or false, not %s", kindName(from))
}

// decodeError turns the errors of the decoder into ErrInvalid errors that
// name each bad key (and the environment variable that set it, if one did).
func decodeError(err error) error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if de, ok := e.(*mapstructure.DecodeError); ok {
			key, msg := de.Name(), de.Unwrap().Error()
			if env := envName(key); envSet(env) {
				msg += " (set by " + env + ")"
			}
			out = append(out, bad(key, "%s", msg))
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			out = append(out, fmt.Errorf("%w: decoding config: %v", ErrInvalid, e))
		}
	}
	walk(err)
	sort.Slice(out, func(i, j int) bool { return out[i].Error() < out[j].Error() })
	return errors.Join(out...)
}

func envSet(name string) bool {
	_, ok := os.LookupEnv(name)
	return ok
}

// envName is the environment variable of key.
func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// keyTypes maps every key of Config to the Go type of its field: the leaf
// keys ("nats.url") and the sections ("nats").
var keyTypes = sync.OnceValue(func() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			key := prefix + f.Tag.Get("mapstructure")
			out[key] = f.Type
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
})

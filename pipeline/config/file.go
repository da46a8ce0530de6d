package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// prepareFile reads a config file as YAML and returns it with
//
//   - ${NAME} replaced by the environment variable NAME in every value
//     (NAME is [A-Za-z_][A-Za-z0-9_]*; an unset variable is an error; any
//     other "$" is literal, and keys and comments are left alone). A
//     replaced value stays one text value whatever it holds, so a variable
//     cannot add keys or change the YAML around it;
//   - an integer key's number kept as the text it is written as (decimal
//     digits), so that it is checked exactly (types.go);
//   - a key left without a value ("ack_wait:" or "ack_wait: ~") handled by
//     its type: a section or list keeps its default (so a section whose
//     keys are all commented out is harmless), a text key becomes "", and a
//     number, duration or boolean is an error (YAML null would otherwise
//     clear it to 0 or false: alerts.clickhouse: ~ was false).
func prepareFile(data []byte, file string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing config file %s: %w", file, err)
	}
	if doc.Kind == 0 { // empty, or comments only
		return data, nil
	}
	if err := prepareNode(&doc, "", file); err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, fmt.Errorf("re-encoding config file %s: %w", file, err)
	}
	return out, nil
}

func badIn(file, key, format string, args ...any) error {
	return fmt.Errorf("%w: config file %s: %s: %s", ErrInvalid, file, key, fmt.Sprintf(format, args...))
}

func prepareNode(n *yaml.Node, path, file string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := prepareNode(c, path, file); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := prepareNode(c, path+"["+strconv.Itoa(i)+"]", file); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); {
			k, v := n.Content[i], n.Content[i+1]
			p := path
			if k.ShortTag() != "!!merge" {
				p = strings.ToLower(k.Value)
				if path != "" {
					p = path + "." + p
				}
			}
			if t, known := keyTypes()[p]; known {
				drop, err := shapeValue(v, t)
				if err != nil {
					return badIn(file, p, "%v", err)
				}
				if drop {
					n.Content = append(n.Content[:i], n.Content[i+2:]...)
					continue
				}
			}
			if err := prepareNode(v, p, file); err != nil {
				return err
			}
			i += 2
		}
	case yaml.ScalarNode:
		s, err := expandVars(n.Value)
		if err != nil {
			return badIn(file, path, "%v", err)
		}
		if s != n.Value {
			n.Tag, n.Value, n.Style = "!!str", s, 0
		}
	}
	// An alias node is expanded where its anchor is defined.
	return nil
}

// shapeValue checks that v has the shape of a field of type t (a section
// is a mapping, connectors a list, any other key a single value), and
// prepares it: drop reports that v is null for a section or list, which
// then keeps its default.
func shapeValue(v *yaml.Node, t reflect.Type) (drop bool, err error) {
	want, what := yaml.ScalarNode, "a single value"
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		want, what = yaml.MappingNode, "a mapping of keys"
	case reflect.Slice:
		want, what = yaml.SequenceNode, "a list"
	}
	null := v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null"
	switch {
	case null && want != yaml.ScalarNode:
		return true, nil
	case null && t.Kind() == reflect.String:
		v.Tag, v.Value, v.Style = "!!str", "", 0
	case null:
		return false, errors.New("has no value: give one, or remove the key to keep the default")
	case v.Kind == yaml.AliasNode:
	case v.Kind != want:
		got := map[yaml.Kind]string{yaml.ScalarNode: "a single value", yaml.MappingNode: "a mapping", yaml.SequenceNode: "a list"}[v.Kind]
		return false, fmt.Errorf("must be %s, not %s", what, got)
	case isInt(t.Kind()) || isUint(t.Kind()):
		// Read the digits as written, not as YAML's number: to YAML,
		// 99999999999999999999 is a float64, 0123 is octal 83 and 1e3 is
		// a float. Integers are decimal (types.go).
		if tag := v.ShortTag(); tag == "!!int" || tag == "!!float" {
			v.Tag = "!!str"
		}
	}
	return false, nil
}

// expandVars replaces ${NAME} in s by the environment variable NAME.
func expandVars(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "${") {
			if n := varNameLen(s[i+2:]); n > 0 && strings.HasPrefix(s[i+2+n:], "}") {
				name := s[i+2 : i+2+n]
				val, ok := os.LookupEnv(name)
				if !ok {
					return "", fmt.Errorf("environment variable %s is not set (${%s})", name, name)
				}
				b.WriteString(val)
				i += n + 3
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), nil
}

// varNameLen is the length of the [A-Za-z_][A-Za-z0-9_]* prefix of s.
func varNameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return i
		}
	}
	return len(s)
}

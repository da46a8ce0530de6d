package alerts

import (
	"errors"
	"fmt"

	"github.com/iwom/iwom/analyzers/query"
)

// Matcher matches the tokens of a post: a keyword rule's query.
type Matcher interface {
	Match(tokens []string) bool
}

// compileQuery parses a keyword rule's query with analyzers/query (AND, OR,
// NOT, parentheses, "phrases", NEAR/n on segmented tokens).
func compileQuery(s string) (Matcher, error) {
	q, err := query.Parse(s)
	if err != nil {
		var pe *query.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("column %d: %s", pe.Col, pe.Msg)
		}
		return nil, err
	}
	return q, nil
}

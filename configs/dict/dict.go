// Package dict embeds iwom's user dictionaries for the text analyzers:
// network vocabulary for the segmenter (slang.txt), stop words for
// keywords (stopwords.txt) and the keyword IDF table built from the shared
// corpora (idf.txt, see analyzers/keywords).
package dict

import (
	_ "embed"
	"strings"
)

// Slang is slang.txt: a gse user dictionary ("word freq pos" lines).
//
//go:embed slang.txt
var Slang string

// StopWordsText is stopwords.txt.
//
//go:embed stopwords.txt
var StopWordsText string

// IDF is idf.txt: "word idf" lines, built by `iwomlab train keywords`.
//
//go:embed idf.txt
var IDF string

// StopWords returns the words of stopwords.txt (lines starting with #
// are comments; words are separated by white space).
func StopWords() []string {
	var out []string
	for line := range strings.Lines(StopWordsText) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, strings.Fields(line)...)
	}
	return out
}

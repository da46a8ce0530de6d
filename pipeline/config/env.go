package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// checkEnv refuses the environment variables that look like config
// overrides but name no key, which would otherwise be ignored without a
// word (IWOM_NATS_ULR for IWOM_NATS_URL). A variable is checked when its
// name, upper-cased, starts with IWOM_<section>_ for a config section, or
// with the first word of a top-level key (IWOM_DATA_, IWOM_SHUTDOWN_); the
// free-form connectors (IWOM_CONNECTORS_…) and the variables of tools and
// tests (IWOM_BENCH_POSTS, IWOM_SHARED_DATA, IWOM_CH_PORT …) are not. A
// variable of a key written other than in upper case is refused too: it is
// not read. Errors name the variable, never its value.
func checkEnv(environ []string) error {
	known := map[string]bool{}        // IWOM_NATS_URL
	prefixes := map[string][]string{} // IWOM_NATS_ → nats.url, nats.user, …
	for key, t := range keyTypes() {
		if t.Kind() == reflect.Struct || allowedExtra(key) {
			continue
		}
		known[envName(key)] = true
		section, _, nested := strings.Cut(key, ".")
		if !nested {
			section, _, _ = strings.Cut(key, "_")
		}
		p := EnvPrefix + "_" + strings.ToUpper(section) + "_"
		prefixes[p] = append(prefixes[p], key)
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if name == upper && known[name] {
			continue
		}
		var keys []string
		for p, ks := range prefixes {
			if strings.HasPrefix(upper, p) {
				keys = ks
				break
			}
		}
		if keys == nil {
			continue
		}
		switch guess := closestEnv(upper, known); {
		case known[upper]:
			errs = append(errs, fmt.Errorf("%w: environment variable %s is not read: names are upper case (%s)", ErrInvalid, name, upper))
		case guess != "":
			errs = append(errs, fmt.Errorf("%w: environment variable %s names no config key: did you mean %s?", ErrInvalid, name, guess))
		default:
			sort.Strings(keys)
			errs = append(errs, fmt.Errorf("%w: environment variable %s names no config key (the keys it could be for: %s)", ErrInvalid, name, strings.Join(keys, ", ")))
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// closestEnv is the known name that name is probably a typo of: the
// nearest by edit distance if near enough (one edit for a short name, up
// to three for a long one), else the longest known name that name extends by a word
// (IWOM_SHUTDOWN_GRACE_PERIOD), else the one known name that extends name
// (IWOM_NATS_MAX_MSG for IWOM_NATS_MAX_MSG_SIZE).
func closestEnv(name string, known map[string]bool) string {
	best, bestD := "", 0
	limit := min(3, 1+(len(name)-len(EnvPrefix)-1)/8)
	for k := range known {
		d := editDistance(name, k)
		if d <= limit && (best == "" || d < bestD || d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best != "" {
		return best
	}
	var longer []string
	for k := range known {
		switch {
		case strings.HasPrefix(name, k+"_") && len(k) > len(best):
			best = k
		case strings.HasPrefix(k, name):
			longer = append(longer, k)
		}
	}
	if best == "" && len(longer) == 1 {
		best = longer[0]
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and swaps of neighbours count one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

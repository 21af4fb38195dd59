package explain

import (
	"fmt"
	"strconv"
	"strings"
)

// Selection is which samples of a split to explain (the --samples flag).
type Selection struct {
	// Kind is "misclassified" (the samples the model gets wrong), "all", "per-class"
	// (the first samples of every class) or "indices".
	Kind    string
	Indices []int // dataset indices, in the order given (Kind "indices")
}

// The selection kinds besides an index list.
const (
	SelectMisclassified = "misclassified"
	SelectAll           = "all"
	SelectPerClass      = "per-class"
	SelectIndices       = "indices"
)

// ParseSelection reads "misclassified", "all", "per-class" or a comma-separated list of
// dataset indices and inclusive ranges such as "3,17,200-210". Repeated indices are
// kept once, at their first place.
func ParseSelection(s string) (Selection, error) {
	s = strings.TrimSpace(s)
	switch s {
	case SelectMisclassified, SelectAll, SelectPerClass:
		return Selection{Kind: s}, nil
	case "":
		return Selection{}, fmt.Errorf("--samples is empty: want misclassified, all, per-class or indices like 3,17,200-210")
	}
	sel := Selection{Kind: SelectIndices}
	seen := map[int]bool{}
	add := func(i int) {
		if !seen[i] {
			seen[i] = true
			sel.Indices = append(sel.Indices, i)
		}
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return Selection{}, fmt.Errorf("--samples %q: %q is not a dataset index (want misclassified, all, per-class or indices like 3,17,200-210)", s, part)
		}
		if !isRange {
			add(a)
			continue
		}
		b, err := strconv.Atoi(strings.TrimSpace(hi))
		if err != nil || b < a {
			return Selection{}, fmt.Errorf("--samples %q: %q is not a range first-last with first ≤ last", s, part)
		}
		if b-a >= 10_000_000 {
			return Selection{}, fmt.Errorf("--samples %q: range %q is longer than any dataset", s, part)
		}
		for i := a; i <= b; i++ {
			add(i)
		}
	}
	return sel, nil
}

// String is the flag value that parses to sel.
func (sel Selection) String() string {
	if sel.Kind != SelectIndices {
		return sel.Kind
	}
	parts := make([]string, len(sel.Indices))
	for i, v := range sel.Indices {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

// Package flagcheck checks option values before any work starts: numbers that must be
// finite and in a range, names from a known set, lists without repeats. Each function
// returns nil or one error naming the flag, the value given and what is allowed, such
// as `--lr NaN: want a finite number > 0` or `--conv-method "bogus": want one of
// fft_pad, fft_oldbound, cg, exact_matrix`.
//
// It holds no knowledge of frpt's options: the Validate method of each configuration
// (pipeline.TrainConfig, pipeline.ReconstructConfig, report.GridOptions, …) lists its
// checks with these functions, so that a command refuses bad options in one place,
// before it creates a folder or writes a file.
package flagcheck

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// First returns the first non-nil error of errs (the checks in the order the options
// are documented), or nil.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// num formats a float as the user would type it (NaN, +Inf, 0.001).
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Above requires a finite v > lo.
func Above(flag string, v, lo float64) error {
	if !finite(v) || v <= lo {
		return fmt.Errorf("%s %s: want a finite number > %s", flag, num(v), num(lo))
	}
	return nil
}

// AtLeast requires a finite v ≥ lo.
func AtLeast(flag string, v, lo float64) error {
	if !finite(v) || v < lo {
		return fmt.Errorf("%s %s: want a finite number ≥ %s", flag, num(v), num(lo))
	}
	return nil
}

// Between requires a finite v in [lo, hi], or [lo, hi) when hiOpen.
func Between(flag string, v, lo, hi float64, hiOpen bool) error {
	bad := !finite(v) || v < lo || v > hi || (hiOpen && v == hi)
	if !bad {
		return nil
	}
	closing := "]"
	if hiOpen {
		closing = ")"
	}
	return fmt.Errorf("%s %s: want a number in [%s, %s%s", flag, num(v), num(lo), num(hi), closing)
}

// Open requires a finite v in the open interval (lo, hi).
func Open(flag string, v, lo, hi float64) error {
	if !finite(v) || v <= lo || v >= hi {
		return fmt.Errorf("%s %s: want a number in (%s, %s)", flag, num(v), num(lo), num(hi))
	}
	return nil
}

// IntAtLeast requires an integer v ≥ lo.
func IntAtLeast(flag string, v, lo int) error {
	if v < lo {
		return fmt.Errorf("%s %d: want an integer ≥ %d", flag, v, lo)
	}
	return nil
}

// IntBelow requires an integer v in [lo, hi).
func IntBelow(flag string, v, lo, hi int) error {
	if v < lo || v >= hi {
		return fmt.Errorf("%s %d: want an integer in [%d, %d)", flag, v, lo, hi)
	}
	return nil
}

// OneOf requires v to be one of allowed.
func OneOf[S ~string](flag string, v S, allowed ...S) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Errorf("%s %q: want one of %s", flag, string(v), strings.Join(names, ", "))
}

// Required requires a non-empty v; what says what the flag names (e.g. "a checkpoint
// from frpt train").
func Required(flag, v, what string) error {
	if v == "" {
		return fmt.Errorf("%s is required (%s)", flag, what)
	}
	return nil
}

// List requires a list of at least one value with no value given twice (a repeated tap,
// c_rec or seed would run the same job twice).
func List[T comparable](flag string, vs []T) error {
	if len(vs) == 0 {
		return fmt.Errorf("%s: no value given", flag)
	}
	seen := make(map[T]bool, len(vs))
	for _, v := range vs {
		if seen[v] {
			return fmt.Errorf("%s: %v is given twice", flag, v)
		}
		seen[v] = true
	}
	return nil
}

// Each applies check to every value of a list and returns the first error.
func Each[T any](vs []T, check func(T) error) error {
	for _, v := range vs {
		if err := check(v); err != nil {
			return err
		}
	}
	return nil
}

package report

import (
	fc "github.com/frpt/frpt/flagcheck"
)

// MaxResamples bounds GridOptions.Resamples (a bootstrap of more draws would run for
// hours without changing the interval's printed digits).
const MaxResamples = 10_000_000

// Validate checks the options of a grid report (the flags of frpt report) before
// anything is read or written. Zero Resamples, Level and Alpha mean their defaults; Unit
// "" and "auto" detect the unit.
func (o GridOptions) Validate() error {
	var errs []error
	if o.Unit != "" {
		errs = append(errs, fc.OneOf("--unit", o.Unit, "auto", "fraction", "percent"))
	}
	if o.Resamples != 0 {
		errs = append(errs, fc.IntBelow("--resamples", o.Resamples, 1, MaxResamples+1))
	}
	if o.Level != 0 {
		errs = append(errs, fc.Open("--level", o.Level, 0, 1))
	}
	if o.Alpha != 0 {
		errs = append(errs, fc.Open("--alpha", o.Alpha, 0, 1))
	}
	return fc.First(errs...)
}

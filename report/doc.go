// Package report turns run results into files a person opens: PNG plots (through
// gonum.org/v1/plot) and Markdown tables. It knows nothing about training; callers pass
// it numbers.
package report

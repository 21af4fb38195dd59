package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frpt/frpt/report"
)

// checkRecordedWeights checks that every run of a results file records the weights
// relative to the file (no absolute path), resolving to the weights file, with its hash.
func checkRecordedWeights(t *testing.T, results string, weights string) {
	t.Helper()
	runs, err := ReadResults(results)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := FileSHA256(weights)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if abs, _ := filepath.Abs(weights); strings.Contains(string(b), abs) {
		t.Errorf("%s records the absolute path %s", results, abs)
	}
	for _, r := range runs {
		if filepath.IsAbs(r.Weights) || r.WeightsSHA256 != sha {
			t.Errorf("%s: weights %q sha %q, want a relative path and %s", r.Key(), r.Weights, r.WeightsSHA256, sha)
		}
		if got, err := FileSHA256(report.Resolve(results, r.Weights)); err != nil || got != sha {
			t.Errorf("%s: recorded weights %q do not resolve to the weights (%v)", r.Key(), r.Weights, err)
		}
	}
}

// The committed results files of earlier grids record the weights' absolute path and no
// hash: both readers accept them, and the report shows the path relative to the file.
func TestOldResultsFilesAreRead(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "results", "*", "grid-results.jsonl"))
	if len(files) == 0 {
		t.Fatal("no results/*/grid-results.jsonl in the repository")
	}
	for _, f := range files {
		runs, err := ReadResults(f)
		if err != nil || len(runs) == 0 {
			t.Fatalf("%s: %d runs, %v", f, len(runs), err)
		}
		rr, err := report.ReadRunsJSONL(f, nil)
		if err != nil || len(rr) != len(runs) {
			t.Fatalf("report reader: %s: %d runs, %v", f, len(rr), err)
		}
		for i, r := range rr {
			if filepath.IsAbs(r.Weights) || r.Best != runs[i].Best {
				t.Fatalf("%s line %d: weights %q best %g (reader gives %g)", f, i+1, r.Weights, r.Best, runs[i].Best)
			}
			if abs, _ := filepath.Abs(report.Resolve(f, r.Weights)); abs != filepath.Clean(runs[i].Weights) {
				t.Fatalf("%s line %d: %q resolves to %q, the file recorded %q", f, i+1, r.Weights, abs, runs[i].Weights)
			}
		}
	}
}

package report

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRecordedPathRoundTrip(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "grid", "results.jsonl")
	weights := filepath.Join(dir, "runs", "mnist", "best.safetensors")
	rec := RecordedPath(results, weights)
	if rec != "../runs/mnist/best.safetensors" {
		t.Fatalf("recorded %q", rec)
	}
	if got := Resolve(results, rec); got != weights {
		t.Fatalf("resolved %q, want %q", got, weights)
	}
	if got := Resolve(results, "/abs/w.safetensors"); got != "/abs/w.safetensors" {
		t.Fatalf("an absolute (old) path resolved to %q", got)
	}
	// An old results file with an absolute path reads as the relative form.
	if err := os.MkdirAll(filepath.Dir(results), 0o755); err != nil {
		t.Fatal(err)
	}
	line := `{"model":"m","dataset":"d","weights":"` + weights + `","tap":"out","c_rec":0,"seed":0,"test_acc":[0.5],"best":0.5,"mean":0.5}` + "\n"
	if err := os.WriteFile(results, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := ReadRunsJSONL(results, nil)
	if err != nil || len(runs) != 1 || runs[0].Weights != rec {
		t.Fatalf("runs %+v, %v; want weights %q", runs, err, rec)
	}
}

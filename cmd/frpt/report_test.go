package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportWithCache: frpt report --cache on a committed grid writes report.html and
// report.md with the cache's per-tap gaps, and a --cache that is not a reconstruction
// summary is refused naming the file, before anything is written.
func TestReportWithCache(t *testing.T) {
	src := filepath.Join("..", "..", "results", "mnist-simplecnn-v2")
	out := filepath.Join(t.TempDir(), "report")
	if _, err := run(t, "report", "--results", filepath.Join(src, "grid-results.jsonl"), "--cache", src, "--out", out, "--resamples", "500"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"report.html", "report.md"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		// z1's mean gap and Tikhonov fallbacks in results/mnist-simplecnn-v2/reconstruct.json.
		for _, want := range []string{"Reconstruction gaps per tap", "conv-fft-square+maxpool+act", "0.6447", "472", "reconstruct.json"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
	bad := filepath.Join(t.TempDir(), "not-a-cache.json")
	if err := os.WriteFile(bad, []byte(`{"model":"simplecnn-v2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "report2")
	_, err := run(t, "report", "--results", filepath.Join(src, "grid-results.jsonl"), "--cache", bad, "--out", out2)
	if err == nil || !strings.Contains(err.Error(), "not-a-cache.json") || !strings.Contains(err.Error(), "taps") {
		t.Fatalf("want an error naming the file and its empty taps, got %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a refused --cache left %s behind", out2)
	}
}

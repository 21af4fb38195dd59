package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Fuzz targets of the two files frpt report reads: the JSON-lines results of a grid and
// the reference CSV. Whatever is read must go through the analysis and the text, CSV,
// JSON and Markdown output without a panic (the PNG plots are left out: too slow per
// input).

// realResults returns a few lines of each committed results/*/grid-results.jsonl: for
// every file the runs of the first tap at seeds 0–2 (all c_rec), so that the analysis
// has comparisons to make.
func realResults(tb testing.TB) [][]byte {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "results", "*", "grid-results.jsonl"))
	if len(files) == 0 {
		tb.Fatal("no results/*/grid-results.jsonl to seed the corpus")
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var keep bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r Run
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Tap == "out" && r.Seed < 3 {
				keep.Write(sc.Bytes())
				keep.WriteByte('\n')
			}
		}
		out = append(out, keep.Bytes())
	}
	return out
}

// analyse runs the report's analysis and its non-image outputs.
func analyse(t *testing.T, runs []Run, refs []Reference) {
	s, err := AnalyzeGrid(runs, GridOptions{Resamples: 64, References: refs})
	if err != nil {
		return
	}
	_ = s.Text()
	d := s.Doc(nil)
	_ = d.Markdown()
	if _, err := d.HTML(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.summaryCSV(); err != nil {
		t.Fatalf("summary.csv: %v", err)
	}
	if _, err := s.pairedCSV(); err != nil {
		t.Fatalf("paired.csv: %v", err)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
}

func FuzzReadRunsJSONL(f *testing.F) {
	for _, b := range realResults(f) {
		f.Add(b)
		f.Add(b[:len(b)/3])
	}
	f.Add([]byte(`{"model":"m","tap":"out","c_rec":0,"seed":0,"test_acc":[0.9],"best":0.9,"mean":0.9}` + "\n\n" + `{"model":"m","tap":"out","c_rec":0.1,"seed":0,"test_acc":[97],"best":97,"mean":97}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		runs, err := readRuns("results.jsonl", bytes.NewReader(b), nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "results.jsonl") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, r := range runs {
			if r.Model == "" || r.Tap == "" {
				t.Fatalf("accepted a run without model or tap: %+v", r)
			}
		}
		analyse(t, runs, nil)
	})
}

func FuzzReferenceCSV(f *testing.F) {
	ref, err := os.ReadFile(filepath.Join("..", "results", "reference", "mnist-simplecnn-v2.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ref)
	f.Add(ref[:len(ref)/2])
	f.Add([]byte("model,tap,metric,value\nsimplecnn-v2,out,best,\"+0.1\nx\"\n"))
	f.Add([]byte("simplecnn-v2/mnist/coupled,z2,e5,0.3,paper,extra\n"))
	var runs []Run
	for _, b := range realResults(f) {
		rs, err := readRuns("results.jsonl", bytes.NewReader(b), nil)
		if err != nil {
			f.Fatal(err)
		}
		runs = append(runs, rs...)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		refs, err := parseReferenceCSV("ref.csv", bytes.NewReader(b))
		if err != nil {
			if !strings.Contains(err.Error(), "ref.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		analyse(t, runs, refs)
	})
}

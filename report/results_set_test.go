package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files of a grid's results are found from the folder or the base name; a folder
// with two grids' files, or with none, is refused naming what it holds.
func TestResultFiles(t *testing.T) {
	dir := t.TempDir()
	line := `{"model":"m","dataset":"d","tap":"out","c_rec":0,"seed":%s,"epochs":1,"batch":8,"lr":0.001,"weight_decay":0,"mode":"coupled","test_acc":[0.5],"best":0.5,"mean":0.5}` + "\n"
	write := func(name, seed string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Replace(line, "%s", seed, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := ResultFiles(dir); err == nil || !strings.Contains(err.Error(), "no .jsonl") {
		t.Fatalf("empty folder: want a refusal, got %v", err)
	}
	a := write("results.task-0000-of-0002.jsonl", "0")
	b := write("results.task-0001-of-0002.jsonl", "1")
	base := filepath.Join(dir, "results.jsonl")
	for _, p := range []string{dir, base} {
		files, err := ResultFiles(p)
		if err != nil || len(files) != 2 || files[0] != a || files[1] != b {
			t.Fatalf("ResultFiles(%s) = %v, %v; want the two task files", p, files, err)
		}
		runs, _, err := ReadResultSet(p, nil)
		if err != nil || len(runs) != 2 || runs[0].Seed != 0 || runs[1].Seed != 1 {
			t.Fatalf("ReadResultSet(%s) = %+v, %v", p, runs, err)
		}
	}
	write("other.jsonl", "2")
	if _, err := ResultFiles(dir); err == nil || !strings.Contains(err.Error(), "2 grids") || !strings.Contains(err.Error(), "other.jsonl") {
		t.Fatalf("folder of two grids: want a refusal naming them, got %v", err)
	}
	if _, err := ResultFiles(filepath.Join(dir, "none.jsonl")); err == nil || !strings.Contains(err.Error(), "none.task-0000-of-0002.jsonl") {
		t.Fatalf("missing base: want a refusal naming the task file name, got %v", err)
	}
}

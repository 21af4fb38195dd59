package report

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/frpt/frpt/task"
)

// ResultFiles lists the files of a grid's results: path is either a results file's base
// name (dir/results.jsonl, which need not exist itself when the grid ran as tasks) or the
// folder holding them. The answer is the base file, when it exists, then every task file
// beside it (dir/results.task-IIII-of-NNNN.jsonl, every task count), sorted by name. A
// folder must hold the files of one base name only.
func ResultFiles(path string) ([]string, error) {
	base := path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		var err error
		if base, err = folderBase(path); err != nil {
			return nil, err
		}
	}
	var out []string
	if fi, err := os.Stat(base); err == nil && !fi.IsDir() {
		out = append(out, base)
	}
	files, err := task.Files(base)
	if err != nil {
		return nil, err
	}
	out = append(out, files...)
	if len(out) == 0 {
		return nil, fmt.Errorf("read results: %s: no results file and no task file (%s)", path, task.Task{Index: 0, Count: 2}.File(base))
	}
	return out, nil
}

// folderBase is the one base name of the .jsonl results files in dir.
func folderBase(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return "", fmt.Errorf("read results: %s: %w", dir, err)
	}
	var bases []string
	for _, n := range names {
		b := n
		if tb, _, ok := task.FromFile(n); ok {
			b = tb
		}
		if !slices.Contains(bases, b) {
			bases = append(bases, b)
		}
	}
	switch len(bases) {
	case 0:
		return "", fmt.Errorf("read results: folder %s holds no .jsonl results file", dir)
	case 1:
		return bases[0], nil
	}
	slices.Sort(bases)
	return "", fmt.Errorf("read results: folder %s holds the results of %d grids (%s); name one with --results <file>", dir, len(bases), strings.Join(bases, ", "))
}

// ErrDuplicateRun is returned (wrapped) by ReadResultSet when two files hold the same run.
var ErrDuplicateRun = errors.New("duplicate run")

// ErrMixedSettings is returned (wrapped) by ReadResultSet when the files' runs of one
// model and mode were made with different settings.
var ErrMixedSettings = errors.New("mismatched settings")

// ReadResultSet reads every file of ResultFiles(path) with ReadRunsJSONL and merges them
// in file order. It refuses a run (model, dataset, mode, tap, c_rec, seed) found in two
// files (ErrDuplicateRun, naming both) and runs of one model and mode whose dataset,
// epochs, batch, learning rate, weight decay or weights differ between files
// (ErrMixedSettings, naming the field and both files). Duplicates inside one file are
// left to GridReport, which lists them. Weights paths stay relative to the files, which
// share one folder.
func ReadResultSet(path string, decode func(line []byte) (Run, error)) ([]Run, []string, error) {
	files, err := ResultFiles(path)
	if err != nil {
		return nil, nil, err
	}
	type key struct {
		model, dataset, mode, tap string
		crec                      float64
		seed                      uint64
	}
	type origin struct {
		run  Run
		file string
	}
	seen := map[key]string{}
	first := map[[2]string]origin{} // per model and mode: the first run read
	var all []Run
	for _, f := range files {
		runs, err := ReadRunsJSONL(f, decode)
		if err != nil {
			return nil, nil, err
		}
		inFile := map[key]bool{}
		for _, r := range runs {
			k := key{r.Model, r.Dataset, r.Mode, r.Tap, r.CRec, r.Seed}
			if g, ok := seen[k]; ok && !inFile[k] {
				return nil, nil, fmt.Errorf("read results %s: %w: %s %s tap %s c_rec %g seed %d is in both %s and %s",
					path, ErrDuplicateRun, r.Model, r.Mode, r.Tap, r.CRec, r.Seed, g, f)
			}
			seen[k], inFile[k] = f, true
			mk := [2]string{r.Model, r.Mode}
			o, ok := first[mk]
			if !ok {
				first[mk] = origin{r, f}
			} else if d := settingDiffs(o.run, r); d != "" {
				return nil, nil, fmt.Errorf("read results %s: %w: %s %s: %s has %s, %s (run tap %s c_rec %g seed %d) has %s",
					path, ErrMixedSettings, r.Model, r.Mode, o.file, d, f, r.Tap, r.CRec, r.Seed, settingOf(r, d))
			}
			all = append(all, r)
		}
	}
	return all, files, nil
}

// settingDiffs names the first setting in which b differs from a, as "field value" of a
// ("" when they agree). A run without a weights hash agrees with any.
func settingDiffs(a, b Run) string {
	switch {
	case a.Dataset != b.Dataset:
		return "dataset " + settingOf(a, "dataset")
	case a.Epochs != b.Epochs:
		return "epochs " + settingOf(a, "epochs")
	case a.Batch != b.Batch:
		return "batch " + settingOf(a, "batch")
	case a.LR != b.LR:
		return "lr " + settingOf(a, "lr")
	case a.WD != b.WD:
		return "weight_decay " + settingOf(a, "weight_decay")
	case a.WeightsSHA256 != "" && b.WeightsSHA256 != "" && a.WeightsSHA256 != b.WeightsSHA256:
		return "weights_sha256 " + settingOf(a, "weights_sha256")
	}
	return ""
}

// settingOf is the value of the setting named first in field ("epochs …" or "epochs").
func settingOf(r Run, field string) string {
	name, _, _ := strings.Cut(field, " ")
	switch name {
	case "dataset":
		return r.Dataset
	case "epochs":
		return fmt.Sprint(r.Epochs)
	case "batch":
		return fmt.Sprint(r.Batch)
	case "lr":
		return fmt.Sprint(r.LR)
	case "weight_decay":
		return fmt.Sprint(r.WD)
	}
	return fmt.Sprintf("%.12s…", r.WeightsSHA256)
}

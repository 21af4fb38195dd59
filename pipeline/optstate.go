package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/nn"
)

// saveOptimizer writes the optimiser's state (moments, steps) after epoch.
func saveOptimizer(path string, opt nn.Optimizer, epoch int) error {
	st, ok := opt.(nn.Stateful[float32])
	if !ok {
		return fmt.Errorf("save %s: optimizer %T cannot save its state", path, opt)
	}
	ts, _ := st.State()
	return checkpoint.Save(path, ts, map[string]string{"format": "frpt/v1", "kind": "optimizer", "epoch": strconv.Itoa(epoch), "lr": strconv.FormatFloat(opt.LR(), 'g', -1, 64)})
}

// loadOptimizer restores the state saved by saveOptimizer and returns its epoch.
func loadOptimizer(path string, opt nn.Optimizer) (int, error) {
	st, ok := opt.(nn.Stateful[float32])
	if !ok {
		return 0, fmt.Errorf("load %s: optimizer %T cannot load state", path, opt)
	}
	ts, commit := st.State()
	meta, err := checkpoint.LoadInto(path, ts)
	if err != nil {
		return 0, err
	}
	commit()
	epoch, err := strconv.Atoi(meta["epoch"])
	if err != nil {
		return 0, fmt.Errorf("load %s: bad epoch %q in metadata", path, meta["epoch"])
	}
	if lr, err := strconv.ParseFloat(meta["lr"], 64); err == nil {
		opt.SetLR(lr)
	}
	return epoch, nil
}

// rotateOptimizer saves the optimiser's state after epoch in dir, keeping the state it
// replaces as optimizerPrev. The model's last checkpoint is written after it, so a kill in
// between leaves the optimiser one epoch ahead of the model; resumeOptimizer then takes
// the kept state, which matches the model.
func rotateOptimizer(dir string, opt nn.Optimizer, epoch int) error {
	cur, prev := filepath.Join(dir, optimizerFile), filepath.Join(dir, optimizerPrev)
	if err := os.Rename(cur, prev); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("keep the previous optimizer state: %w", err)
	}
	return saveOptimizer(cur, opt, epoch)
}

// resumeOptimizer loads the optimiser state of the model's epoch from dir: the newest
// state, or the kept one when a kill fell between the optimiser's write and the model's
// (then the newer one is removed, so the redone epoch leaves the files of a run never
// killed).
func resumeOptimizer(dir string, opt nn.Optimizer, epoch int) error {
	var found []string
	for _, name := range []string{optimizerFile, optimizerPrev} {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue
		}
		e, err := loadOptimizer(path, opt)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		if e == epoch {
			if name == optimizerPrev { // the newer state is of an epoch the model lost: the redo writes it again
				if err := os.Remove(filepath.Join(dir, optimizerFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("resume: %w", err)
				}
			}
			return nil
		}
		found = append(found, fmt.Sprintf("%s is from epoch %d", name, e))
	}
	if len(found) == 0 {
		return fmt.Errorf("resume %s: no optimizer state for the model of epoch %d; use --fresh", dir, epoch)
	}
	return fmt.Errorf("resume %s: the model is from epoch %d but %s; use --fresh", dir, epoch, strings.Join(found, ", "))
}

package pipeline

import (
	"fmt"
	"strconv"

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

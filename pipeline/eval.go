package pipeline

import (
	"context"
	"fmt"
	"io"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/tensor"
)

// EvalConfig names a checkpoint and the test split to score it on.
type EvalConfig struct {
	Model, Dataset, DataDir, Weights string
	BatchSize                        int
}

// EvalResult is a model's score on a test split.
type EvalResult struct {
	Model      string   `json:"model"`
	Dataset    string   `json:"dataset"`
	Weights    string   `json:"weights,omitempty"`
	Accuracy   float64  `json:"accuracy"`
	Loss       float64  `json:"loss"`
	Correct    int      `json:"correct"`
	Total      int      `json:"total"`
	Confusion  [][]int  `json:"confusion"` // [true][predicted]
	ClassNames []string `json:"class_names,omitempty"`
}

// Evaluate loads cfg.Weights into cfg.Model and scores it on the test split.
func Evaluate(ctx context.Context, cfg EvalConfig, w io.Writer) (*EvalResult, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 500
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights)
	if err != nil {
		return nil, err
	}
	test, err := openSplit(cfg.Dataset, "test", cfg.DataDir, 0)
	if err != nil {
		return nil, err
	}
	bs := cfg.BatchSize
	bar := progress.New(w, int64(test.Len()), "eval")
	res, err := evaluate(ctx, m, test, data.TestTransform(cfg.Dataset), bs, bar)
	if err != nil {
		return nil, err
	}
	bar.Close() // the caller prints the accuracy
	res.Model, res.Dataset, res.Weights = cfg.Model, cfg.Dataset, cfg.Weights
	return res, nil
}

// evaluate runs m in eval mode over ds and returns accuracy, mean cross-entropy and the
// confusion matrix.
func evaluate(ctx context.Context, m models.Model[float32], ds data.Dataset, tf data.Transform, batch int, bar *progress.Bar) (*EvalResult, error) {
	nn.SetTraining[float32](m, false)
	k := ds.Classes()
	res := &EvalResult{Confusion: make([][]int, k), ClassNames: ds.ClassNames()}
	for i := range res.Confusion {
		res.Confusion[i] = make([]int, k)
	}
	loader := data.NewLoader(ds, tf, batch, false, 0, false)
	defer loader.Close()
	c, h, wd := ds.Shape()
	var lossSum float64
	for b := range loader.Epoch(0) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("evaluation interrupted: %w", err)
		}
		n := len(b.Labels)
		logits := m.Forward(tensor.FromData(b.X, n, c, h, wd))
		loss, _ := nn.CrossEntropy(logits, b.Labels, 0)
		lossSum += loss * float64(n)
		for i, y := range b.Labels {
			row := logits.Data[i*k : (i+1)*k]
			p := 0
			for j, v := range row {
				if v > row[p] {
					p = j
				}
			}
			res.Confusion[y][p]++
			if p == y {
				res.Correct++
			}
			res.Total++
		}
		loader.Release(b)
		if bar != nil {
			bar.Add(int64(n), "")
		}
	}
	if res.Total == 0 {
		return nil, fmt.Errorf("evaluation: the test split is empty")
	}
	res.Accuracy = float64(res.Correct) / float64(res.Total)
	res.Loss = lossSum / float64(res.Total)
	return res, nil
}

// openSplit opens a dataset split, optionally truncated to its first limit samples, and
// checks that its images have the size the dataset's models take.
func openSplit(name, split, dir string, limit int) (data.Dataset, error) {
	ds, err := data.Open(name, split, dir)
	if err != nil {
		return nil, err
	}
	c, h, w := ds.Shape()
	if want, err := data.InputShape(name); err == nil && (c != want[0] || h != want[1] || w != want[2]) {
		return nil, fmt.Errorf("dataset %s (%s split): images are %d×%d×%d, the models of %s take %d×%d×%d", name, split, c, h, w, name, want[0], want[1], want[2])
	}
	if limit > 0 && limit < ds.Len() {
		ds = data.Subset(ds, limit)
	}
	return ds, nil
}

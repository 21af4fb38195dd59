package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/frpt/frpt/report"
)

// DemoConfig is the README's main job: real MNIST, the paper's SimpleCNN v2.
type DemoConfig struct {
	OutDir  string
	Epochs  int
	Seed    uint64
	DataDir string
}

// Demo pretrains SimpleCNN v2 on MNIST with the paper's recipe (resuming a previous
// demo in OutDir), then writes report.md with the per-epoch accuracy table and a PNG
// plot of the training curve.
func Demo(ctx context.Context, cfg DemoConfig, w io.Writer) (string, error) {
	t0 := time.Now()
	tc, err := DefaultRecipe("simplecnn-v2", "mnist")
	if err != nil {
		return "", err
	}
	if cfg.Epochs > 0 {
		tc.Epochs = cfg.Epochs
	}
	tc.Seed, tc.DataDir = cfg.Seed, cfg.DataDir
	tc.OutDir = filepath.Join(cfg.OutDir, "pretrain")
	sum, err := Pretrain(ctx, tc, w)
	if err != nil {
		return "", err
	}
	plotPath := filepath.Join(cfg.OutDir, "pretrain_accuracy.png")
	var ep, tr, te []float64
	for _, e := range sum.Epochs {
		ep = append(ep, float64(e.Epoch))
		tr = append(tr, 100*e.TrainAcc)
		te = append(te, 100*e.TestAcc)
	}
	if err := report.LinePlot(plotPath, "SimpleCNN v2 on MNIST", "epoch", "accuracy (%)",
		[]report.Series{{Name: "train", X: ep, Y: tr}, {Name: "test", X: ep, Y: te}}); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# frpt demo: SimpleCNN v2 on MNIST\n\n")
	fmt.Fprintf(&b, "Recipe: %s lr %g, weight decay %g, batch %d, %d epochs, seed %d (the paper's MNIST recipe).\n\n",
		tc.Optimizer, tc.LR, tc.WeightDecay, tc.BatchSize, tc.Epochs, tc.Seed)
	fmt.Fprintf(&b, "- best test accuracy: **%s** at epoch %d (the paper's checkpoint: 97.71 %%)\n", report.Pct(sum.BestAcc), sum.BestEpoch)
	fmt.Fprintf(&b, "- last test accuracy: %s\n", report.Pct(sum.LastAcc))
	if e, ok := sum.FirstEpochAt["97.5"]; ok {
		fmt.Fprintf(&b, "- first epoch at ≥ 97.5 %%: %d\n", e)
	}
	fmt.Fprintf(&b, "- training time: %.1f s (%.0f images/s on average)\n\n", sum.TrainSeconds, imagesPerSec(sum))
	fmt.Fprintf(&b, "![accuracy per epoch](pretrain_accuracy.png)\n\n")
	rows := [][]string{}
	for _, e := range sum.Epochs {
		rows = append(rows, []string{fmt.Sprint(e.Epoch), fmt.Sprintf("%.4f", e.TrainLoss), report.Pct(e.TrainAcc), report.Pct(e.TestAcc), fmt.Sprintf("%.0f", e.ImagesPerSec)})
	}
	b.WriteString(report.Table([]string{"epoch", "train loss", "train acc", "test acc", "images/s"}, rows))
	fmt.Fprintf(&b, "\nFiles: `pretrain/best.safetensors`, `pretrain/last.safetensors` (PyTorch state_dict names), `pretrain/log.jsonl`, `pretrain/summary.json`.\n")
	path := filepath.Join(cfg.OutDir, "report.md")
	if err := WriteFileAtomic(path, []byte(b.String())); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "demo finished in %s: best test accuracy %.2f%%, report %s\n", time.Since(t0).Round(time.Second), 100*sum.BestAcc, path)
	return path, nil
}

func imagesPerSec(s *TrainSummary) float64 {
	var n, t float64
	for _, e := range s.Epochs {
		n += e.ImagesPerSec * e.TrainSeconds
		t += e.TrainSeconds
	}
	if t == 0 {
		return 0
	}
	return n / t
}

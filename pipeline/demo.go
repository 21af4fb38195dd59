package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/frpt/frpt/report"
)

// DemoConfig is the README's main job: real MNIST, the paper's SimpleCNN v2.
type DemoConfig struct {
	OutDir  string
	Epochs  int // pretraining epochs (paper: 100)
	Seed    uint64
	DataDir string
	// The post-training grid: taps × c_rec × seeds 0…Seeds−1, PostEpochs epochs each.
	Taps       []string
	CRecs      []float64
	Seeds      int
	PostEpochs int
	Workers    int
}

// DefaultDemo is the README's main job: 100 pretraining epochs, then taps out/z2/z1 ×
// c_rec 0/0.1/0.3 × 3 seeds, 3 post-training epochs each.
func DefaultDemo() DemoConfig {
	return DemoConfig{OutDir: "runs/demo", Epochs: 100, Taps: []string{"out", "z2", "z1"}, CRecs: []float64{0, 0.1, 0.3}, Seeds: 3, PostEpochs: 3, Workers: 2}
}

// paperGaps are the mean relative gaps of the authors' code on a 97.9 % MNIST checkpoint.
var paperGaps = map[string]string{"out": "0.001", "z2": "0.006", "z1": "0.76"}

// Demo pretrains SimpleCNN v2 on MNIST with the paper's recipe (resuming a previous
// demo in OutDir), reconstructs every tap over the training set into a feature cache,
// runs a small post-training grid and writes report.md (training curve, reconstruction
// gaps, the grid's statistics in grid/report.md). Every stage resumes.
func Demo(ctx context.Context, cfg DemoConfig, w io.Writer) (string, error) {
	t0 := time.Now()
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	tc, err := DefaultRecipe(demoModel, demoDataset)
	if err != nil {
		return "", err
	}
	tc.Epochs = cfg.Epochs
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
	weights := filepath.Join(tc.OutDir, "best.safetensors")
	fmt.Fprintf(w, "demo: reconstructing every tap over the training set\n")
	rec, err := Reconstruct(ctx, ReconstructConfig{Model: tc.Model, Dataset: tc.Dataset, DataDir: cfg.DataDir, Weights: weights,
		OutDir: filepath.Join(cfg.OutDir, "cache"), Seed: cfg.Seed, Augment: true}, w)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\n## Reconstruction (spec §1.2)\n\n%d training images through the reverse chain (nearest embedding, fft_pad convolutions) in %.1f s: %.0f images/s including writing the %.0f MiB feature cache, %.0f images/s compute only.\n\n",
		rec.Samples, rec.Seconds, rec.ImagesPerSec, float64(rec.CacheBytes)/(1<<20), rec.ComputePerS)
	rows = rows[:0]
	for _, t := range rec.Taps {
		rows = append(rows, []string{t.Tap, t.Method, fmt.Sprintf("%.4f", t.Mean), fmt.Sprintf("%.4f", t.Median), fmt.Sprintf("%.4f", t.P90), fmt.Sprint(t.Fallbacks), paperGaps[t.Tap]})
	}
	b.WriteString(report.Table([]string{"tap", "method", "mean gap ‖f−r‖/‖f‖", "median", "p90", "Tikhonov fallbacks", "authors' code (97.9 % ckpt)"}, rows))
	seeds := make([]uint64, cfg.Seeds)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	base := DefaultPostTrain()
	base.Model, base.Dataset, base.DataDir, base.Weights = tc.Model, tc.Dataset, cfg.DataDir, weights
	base.Epochs = cfg.PostEpochs
	gridDir := filepath.Join(cfg.OutDir, "grid")
	g := GridConfig{Base: base, Cache: filepath.Join(cfg.OutDir, "cache"), Taps: cfg.Taps, CRecs: cfg.CRecs, Seeds: seeds,
		Workers: cfg.Workers, Results: filepath.Join(gridDir, "results.jsonl")}
	if err := os.MkdirAll(gridDir, 0o755); err != nil {
		return "", err
	}
	runs, err := RunGrid(ctx, g, w)
	if err != nil {
		return "", err
	}
	rr := make([]report.Run, len(runs))
	for i, r := range runs {
		rr[i] = ReportRun(r)
	}
	gs, _, err := report.GridReport(filepath.Join(gridDir, "report"), rr, report.GridOptions{Source: "grid/results.jsonl", Seed: cfg.Seed})
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\n## Post-training grid (spec §1.3, §6)\n\nTaps %v × c_rec %v × seeds 0–%d, %d epochs each (AdamW lr %g, weight decay %g, batch %d); c_rec = 0 is the matched baseline. Full statistics: [grid/report/report.md](grid/report/report.md).\n\n```\n%s```\n",
		cfg.Taps, cfg.CRecs, len(seeds)-1, base.Epochs, base.LR, base.WD, base.Batch, gs.Text())
	path := filepath.Join(cfg.OutDir, "report.md")
	if err := WriteFileAtomic(path, []byte(b.String())); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "demo finished in %s: pretrained to %.2f%%, reconstruction %.0f images/s, %d post-training runs; report %s\n",
		time.Since(t0).Round(time.Second), 100*sum.BestAcc, rec.ImagesPerSec, len(runs), path)
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

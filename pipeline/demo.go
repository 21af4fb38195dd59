package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/frpt/frpt/explain"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/report/page"
)

// DemoConfig is the README's main job: real MNIST, the paper's SimpleCNN v2.
type DemoConfig struct {
	OutDir  string
	Epochs  int // pretraining epochs (paper: 100)
	Seed    uint64
	DataDir string
	// Limit reconstructs (and post-trains on) the first Limit training images only
	// (0: all 60,000); for a quick look at the pages.
	Limit int
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

// demoExplainTap and demoExplainSamples are the demo's look at interpretability: the
// first misclassified test samples at the convolutional tap.
const demoExplainTap, demoExplainSamples = "z1", 8

// demoRun is what the demo's stages produced, for its report.
type demoRun struct {
	cfg      DemoConfig
	train    TrainConfig
	pretrain *TrainSummary
	rec      *ReconstructSummary
	grid     GridConfig
	runs     []RunResult
	gridDoc  *page.Doc
	explain  *ExplainSummary
}

// Demo pretrains SimpleCNN v2 on MNIST with the paper's recipe (resuming a previous
// demo in OutDir), reconstructs every tap over the training set into a feature cache,
// runs a small post-training grid, explains the first misclassified test samples and
// writes report.html and report.md (training curve, reconstruction gaps, what the label
// wants at a tap, the grid's statistics; the grid's own pages in grid/report/, the
// explain pages in explain/). Every stage resumes.
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
	d := demoRun{cfg: cfg, train: tc}
	if d.pretrain, err = Pretrain(ctx, tc, w); err != nil {
		return "", err
	}
	if err := demoCurve(filepath.Join(cfg.OutDir, "pretrain_accuracy.png"), d.pretrain); err != nil {
		return "", err
	}
	weights := filepath.Join(tc.OutDir, "best.safetensors")
	fmt.Fprintf(w, "demo: reconstructing every tap over the training set\n")
	d.rec, err = Reconstruct(ctx, ReconstructConfig{Model: tc.Model, Dataset: tc.Dataset, DataDir: cfg.DataDir, Weights: weights,
		OutDir: filepath.Join(cfg.OutDir, "cache"), Seed: cfg.Seed, Augment: true, Limit: cfg.Limit}, w)
	if err != nil {
		return "", err
	}
	if err := d.runGrid(ctx, weights, w); err != nil {
		return "", err
	}
	ex := DefaultExplain()
	ex.Model, ex.Dataset, ex.DataDir, ex.Weights, ex.Tap = tc.Model, tc.Dataset, cfg.DataDir, weights, demoExplainTap
	ex.Samples, ex.Limit, ex.OutDir = explain.Selection{Kind: explain.SelectMisclassified}, demoExplainSamples, filepath.Join(cfg.OutDir, "explain")
	if d.explain, err = Explain(ctx, ex, w); err != nil {
		return "", err
	}
	doc := d.doc()
	path := filepath.Join(cfg.OutDir, "report.html")
	html, err := doc.HTML()
	if err != nil {
		return "", fmt.Errorf("demo report: %w", err)
	}
	if err := WriteFileAtomic(path, html); err != nil {
		return "", err
	}
	if err := WriteFileAtomic(filepath.Join(cfg.OutDir, "report.md"), []byte(doc.Markdown())); err != nil {
		return "", err
	}
	fmt.Fprintf(w, "demo finished in %s: pretrained to %.2f%%, reconstruction %.0f images/s, %d post-training runs, %d samples explained; report %s (and report.md)\n",
		time.Since(t0).Round(time.Second), 100*d.pretrain.BestAcc, d.rec.ImagesPerSec, len(d.runs), d.explain.N, path)
	return path, nil
}

// runGrid runs the demo's post-training grid from the cache and writes its report
// (grid/report/), keeping the report's Doc for the demo page.
func (d *demoRun) runGrid(ctx context.Context, weights string, w io.Writer) error {
	seeds := make([]uint64, d.cfg.Seeds)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	base := DefaultPostTrain()
	base.Model, base.Dataset, base.DataDir, base.Weights = d.train.Model, d.train.Dataset, d.cfg.DataDir, weights
	base.Epochs = d.cfg.PostEpochs
	gridDir := filepath.Join(d.cfg.OutDir, "grid")
	d.grid = GridConfig{Base: base, Cache: filepath.Join(d.cfg.OutDir, "cache"), Taps: d.cfg.Taps, CRecs: d.cfg.CRecs, Seeds: seeds,
		Workers: d.cfg.Workers, Results: filepath.Join(gridDir, "results.jsonl")}
	if err := os.MkdirAll(gridDir, 0o755); err != nil {
		return err
	}
	var err error
	if d.runs, err = RunGrid(ctx, d.grid, w); err != nil {
		return err
	}
	rr := make([]report.Run, len(d.runs))
	for i, r := range d.runs {
		rr[i] = ReportRun(r)
	}
	gs, err := report.AnalyzeGrid(rr, report.GridOptions{Source: "grid/results.jsonl", Seed: d.cfg.Seed})
	if err != nil {
		return err
	}
	d.gridDoc, _, err = report.WriteGridDoc(filepath.Join(gridDir, "report"), gs)
	return err
}

// demoCurve plots the pretraining's train and test accuracy per epoch.
func demoCurve(path string, sum *TrainSummary) error {
	var ep, tr, te []float64
	for _, e := range sum.Epochs {
		ep = append(ep, float64(e.Epoch))
		tr = append(tr, 100*e.TrainAcc)
		te = append(te, 100*e.TestAcc)
	}
	return report.LinePlot(path, "SimpleCNN v2 on MNIST", "epoch", "accuracy (%)",
		[]report.Series{{Name: "train", X: ep, Y: tr}, {Name: "test", X: ep, Y: te}})
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

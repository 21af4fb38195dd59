package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/task"
	"github.com/frpt/frpt/tensor"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// The output-embedding ablation (spec §3.4, results §7, the original's ablation_all):
// starting from the pretrained weights, the whole network is trained for a few epochs
// with CE + α·MSE(logits, ô), α fixed (no EMA weighting), AdamW lr 1e-3 and PyTorch's
// default weight decay 0.01 on every parameter, for ô ∈ {one-hot, max-assign, nearest}:
//
//	one-hot     e_y, static;
//	max-assign  the live model's detached logits of the batch with o_y ← max_j o_j,
//	            every entry clamped to [−10, 10], recomputed at every step;
//	nearest     the nearest embedding of the pretrained model's logits, computed once over
//	            the frozen training pass (or read from a feature cache's recons_out).
//
// Every run sees the same frozen pass over the training set (one augmented copy of each
// image, as the cache of the paper), shuffled by its seed. α = 0 (CE only) is the same
// for every target and runs once per seed, as embedding "none".

// AblationNone is the embedding name of the α = 0 (CE only) runs.
const AblationNone = "none"

// AblationConfig is an output-embedding ablation grid: embeddings × α × seeds.
type AblationConfig struct {
	Model, Dataset, DataDir, Weights string
	// Cache optionally takes the training pass (inputs, labels, nearest targets) from a
	// feature cache made from Weights with the nearest embedding; otherwise the pass is
	// computed in memory (first Limit training images, augmented with AugmentSeed unless
	// NoAugment).
	Cache       string
	Limit       int
	NoAugment   bool
	AugmentSeed uint64
	Embeddings  []reverse.Embedding
	Alphas      []float64
	Seeds       []uint64
	Epochs      int
	Batch       int
	LR, WD      float64
	Workers     int    // concurrent runs (each single-threaded)
	Results     string // JSON-lines file the finished runs are appended to
	OutDir      string // summary folder (default: the results file's folder)
	// Task is this process's share of a grid split over several: run i of the grid (in
	// the order of ablationRuns) is task i mod N's, appended to the task's own file
	// beside Results (task.File). Every call reads the runs of all task files; the call
	// that finds the grid complete writes the summary.
	Task task.Task
}

// DefaultAblation returns the ablation's settings: the three targets, α ∈ {0.1, 0.3, 0.9},
// seeds 0–9, 10 epochs, batch 256, AdamW lr 1e-3, weight decay 0.01, 2 workers.
func DefaultAblation() AblationConfig {
	return AblationConfig{
		Embeddings: []reverse.Embedding{reverse.OneHot, reverse.MaxAssign, reverse.Nearest},
		Alphas:     []float64{0.1, 0.3, 0.9},
		Seeds:      []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		Epochs:     10, Batch: 256, LR: 1e-3, WD: 0.01, Workers: 2,
	}
}

// AblationRun is the configuration of one ablation run.
type AblationRun struct {
	Model         string  `json:"model"`
	Dataset       string  `json:"dataset"`
	Weights       string  `json:"weights"` // recorded relative to the results file (report.RecordedPath)
	WeightsSHA256 string  `json:"weights_sha256"`
	Embedding     string  `json:"embedding"` // one-hot, max-assign, nearest or none (α = 0)
	Alpha         float64 `json:"alpha"`
	Seed          uint64  `json:"seed"`
	Epochs        int     `json:"epochs"`
	Batch         int     `json:"batch"`
	LR            float64 `json:"lr"`
	WD            float64 `json:"weight_decay"`
	Samples       int     `json:"samples"` // size of the training pass
	Augment       bool    `json:"augment"`
	AugmentSeed   uint64  `json:"augment_seed"`
}

// Key identifies a run in a results file: two runs with the same key give the same result.
func (r AblationRun) Key() string {
	sha := r.WeightsSHA256
	if len(sha) > 16 {
		sha = sha[:16]
	}
	return fmt.Sprintf("%s/%s/%s/%s/a%g/s%d/e%d/b%d/lr%g/wd%g/n%d/aug%v.%d", r.Model, r.Dataset, sha, r.Embedding, r.Alpha, r.Seed,
		r.Epochs, r.Batch, r.LR, r.WD, r.Samples, r.Augment, r.AugmentSeed)
}

// AblationResult is one finished run (one line of the results file).
type AblationResult struct {
	AblationRun
	TestAcc   []float64 `json:"test_acc"` // after each epoch
	Best      float64   `json:"best"`
	Mean      float64   `json:"mean"`
	MeanCE    float64   `json:"mean_ce"`  // training CE over all steps
	MeanMSE   float64   `json:"mean_mse"` // training MSE to the target over all steps
	EpochSecs []float64 `json:"epoch_seconds"`
}

// Metric returns a summary metric of the run: epoch5, epoch10 (test accuracy after that
// epoch; NaN when the run is shorter), mean or best.
func (r AblationResult) Metric(name string) float64 {
	switch name {
	case "mean":
		return r.Mean
	case "best":
		return r.Best
	}
	if k, ok := strings.CutPrefix(name, "epoch"); ok {
		if e, err := strconv.Atoi(k); err == nil && e >= 1 && e <= len(r.TestAcc) {
			return r.TestAcc[e-1]
		}
	}
	return math.NaN()
}

// AblationMetrics are the summary metrics of the paper's ablation figures.
var AblationMetrics = []string{"epoch5", "epoch10", "mean", "best"}

// AblationCell is the mean ± 95 % t-interval over seeds of one metric of one
// (embedding, α).
type AblationCell struct {
	Embedding string  `json:"embedding"`
	Alpha     float64 `json:"alpha"`
	Metric    string  `json:"metric"`
	N         int     `json:"n"`
	Mean      Num     `json:"mean"`
	SD        Num     `json:"sd"`
	CILow     Num     `json:"ci95_low"`
	CIHigh    Num     `json:"ci95_high"`
}

// AblationSummary is the outcome of RunAblation.
type AblationSummary struct {
	Model      string           `json:"model"`
	Dataset    string           `json:"dataset"`
	Weights    string           `json:"weights"`
	Pretrained Num              `json:"pretrained_test_acc"`
	Runs       []AblationResult `json:"-"`
	Cells      []AblationCell   `json:"cells"`
	New        int              `json:"-"` // runs done by this call
	Missing    int              `json:"-"` // runs of other tasks not finished yet (no summary written)
	Files      []string         `json:"-"`
}

// ablationRuns lists the grid's runs (α = 0 once per seed, as embedding "none").
func ablationRuns(cfg AblationConfig, base AblationRun) []AblationRun {
	var out []AblationRun
	for _, a := range cfg.Alphas {
		embs := make([]string, 0, len(cfg.Embeddings))
		if a == 0 {
			embs = append(embs, AblationNone)
		} else {
			for _, e := range cfg.Embeddings {
				embs = append(embs, string(e))
			}
		}
		for _, e := range embs {
			for _, s := range cfg.Seeds {
				r := base
				r.Embedding, r.Alpha, r.Seed = e, a, s
				out = append(out, r)
			}
		}
	}
	return out
}

// RunAblation runs every missing run of the grid (finished runs in cfg.Results are
// skipped), then writes the summary (CSV, JSON, Markdown, PNG) to cfg.OutDir.
func RunAblation(ctx context.Context, cfg AblationConfig, w io.Writer) (*AblationSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Dir(cfg.Results)
	}
	sha, err := FileSHA256(cfg.Weights)
	if err != nil {
		return nil, fmt.Errorf("ablation: %w", err)
	}
	base := AblationRun{Model: cfg.Model, Dataset: cfg.Dataset, Weights: cfg.Weights, WeightsSHA256: sha,
		Epochs: cfg.Epochs, Batch: cfg.Batch, LR: cfg.LR, WD: cfg.WD, Augment: !cfg.NoAugment, AugmentSeed: cfg.AugmentSeed}
	var cache *Cache
	if cfg.Cache != "" {
		if cache, err = OpenCache(cfg.Cache); err != nil {
			return nil, err
		}
		mf := cache.Manifest
		switch {
		case mf.Model != cfg.Model || mf.Dataset != cfg.Dataset:
			return nil, fmt.Errorf("ablation: cache %s was made for %s on %s, not %s on %s", cfg.Cache, mf.Model, mf.Dataset, cfg.Model, cfg.Dataset)
		case mf.WeightsSHA256 != sha:
			return nil, fmt.Errorf("ablation: cache %s was reconstructed from other weights (%s) than %s", cfg.Cache, mf.Weights, cfg.Weights)
		case mf.Embedding != string(reverse.Nearest):
			return nil, fmt.Errorf("ablation: cache %s holds %q output targets; the ablation's nearest target needs a cache made with --embedding nearest", cfg.Cache, mf.Embedding)
		}
		base.Samples, base.Augment, base.AugmentSeed = mf.Total, mf.Augment, mf.Seed
	} else {
		train, err := openSplit(cfg.Dataset, "train", cfg.DataDir, cfg.Limit)
		if err != nil {
			return nil, err
		}
		base.Samples = train.Len()
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Results), 0o755); err != nil {
		return nil, fmt.Errorf("ablation: %w", err)
	}
	removeStale(filepath.Dir(cfg.Results), cfg.OutDir)
	own := cfg.Task.File(cfg.Results)
	done, err := readJSONLines[AblationResult](own)
	if err != nil {
		return nil, fmt.Errorf("ablation: %w", err)
	}
	all, err := readAblationTasks(cfg.Results)
	if err != nil {
		return nil, err
	}
	grid := ablationRuns(cfg, base)
	var todo []AblationRun
	for i, r := range grid {
		if _, ok := all[r.Key()]; !ok && cfg.Task.Owns(i) {
			todo = append(todo, r)
		}
	}
	if cfg.Task.Split() {
		fmt.Fprintf(w, "embedding ablation: %s: runs i ≡ %d mod %d of the %d-run grid into %s\n", cfg.Task.Describe(), cfg.Task.Index, cfg.Task.Count, len(grid), own)
	}
	test, err := openSplit(cfg.Dataset, "test", cfg.DataDir, 0)
	if err != nil {
		return nil, err
	}
	sum := &AblationSummary{Model: cfg.Model, Dataset: cfg.Dataset, Weights: report.RecordedPath(filepath.Join(cfg.OutDir, "ablation-summary.json"), cfg.Weights)}
	if len(todo) > 0 {
		var set *CachedSet
		if cache != nil {
			if set, err = cache.Load("out"); err != nil {
				return nil, err
			}
		} else if set, err = ablationPass(ctx, cfg, w); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "embedding ablation: %d runs to do (%d of %d already done), %d workers\n", len(todo), len(all), len(grid), max(cfg.Workers, 1))
		if _, err = runAblationJobs(ctx, cfg, own, todo, set, test, done, w); err != nil {
			return nil, err
		}
		sum.New = len(todo)
		if all, err = readAblationTasks(cfg.Results); err != nil { // other tasks may have finished meanwhile
			return nil, err
		}
	}
	for _, r := range grid {
		if res, ok := all[r.Key()]; ok {
			sum.Runs = append(sum.Runs, res)
		} else {
			sum.Missing++
		}
	}
	if sum.Missing > 0 {
		if !cfg.Task.Split() {
			return nil, fmt.Errorf("ablation: %d runs missing from %s after the grid finished", sum.Missing, cfg.Results)
		}
		fmt.Fprintf(w, "embedding ablation: %s done; %d runs of other tasks not finished yet: the last task to finish (or a rerun of any task) writes the summary\n", cfg.Task, sum.Missing)
		return sum, nil
	}
	if sum.Pretrained, err = pretrainedAccuracy(ctx, cfg, sha, test); err != nil {
		return nil, err
	}
	sum.Cells = SummarizeAblation(sum.Runs)
	if err := writeAblationFiles(cfg, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// runAblationJobs runs todo with cfg.Workers concurrent runs, appending each finished run
// to the results file (rewritten atomically with every finished run so far).
func runAblationJobs(ctx context.Context, cfg AblationConfig, results string, todo []AblationRun, set *CachedSet, test data.Dataset, done []AblationResult, w io.Writer) ([]AblationResult, error) {
	done, err := runPool(ctx, cfg.Workers, results, todo, done,
		func(run AblationRun) (*AblationResult, error) {
			r, err := AblationTrain(ctx, run, set, test)
			if err == nil { // the record names the weights relative to the results file (their hash is in the key)
				r.Weights = report.RecordedPath(cfg.Results, run.Weights)
			}
			return r, err
		},
		func(run AblationRun, r *AblationResult) string {
			return fmt.Sprintf("%s α %g seed %d: best %.2f%% mean %.2f%% last %.2f%%", run.Embedding, run.Alpha, run.Seed,
				100*r.Best, 100*r.Mean, 100*r.TestAcc[len(r.TestAcc)-1])
		}, w)
	if err != nil && ctx.Err() == nil {
		return done, err
	}
	if err := ctx.Err(); err != nil {
		return done, fmt.Errorf("embedding ablation interrupted (finished runs are in %s; rerun to resume): %w", results, err)
	}
	return done, nil
}

// ablationPass is the frozen training pass of the ablation: the first cfg.Limit training
// images through the training augmentation (seeded, epoch 0, as frpt reconstruct does)
// and the nearest embedding of the pretrained model's eval-mode logits.
func ablationPass(ctx context.Context, cfg AblationConfig, w io.Writer) (*CachedSet, error) {
	m, err := loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights)
	if err != nil {
		return nil, fmt.Errorf("ablation: %w", err)
	}
	ds, err := openSplit(cfg.Dataset, "train", cfg.DataDir, cfg.Limit)
	if err != nil {
		return nil, err
	}
	tf := data.TrainTransform(cfg.Dataset)
	if cfg.NoAugment {
		tf = data.TestTransform(cfg.Dataset)
	}
	c, h, wd := ds.Shape()
	k := ds.Classes()
	set := &CachedSet{Input: []int{c, h, wd}, N: ds.Len(), Targets: map[string][]float32{"out": make([]float32, 0, ds.Len()*k)},
		Shapes: map[string][]int{"out": {k}}, Inputs: make([]float32, 0, ds.Len()*c*h*wd), Labels: make([]int, 0, ds.Len())}
	nn.SetTraining[float32](m, false)
	loader := data.NewLoader(ds, tf, 256, false, cfg.AugmentSeed, false)
	defer loader.Close()
	bar := progress.New(w, int64(ds.Len()), "nearest targets")
	for b := range loader.Epoch(0) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ablation: training pass interrupted: %w", err)
		}
		n := len(b.Labels)
		logits := m.Forward(tensor.FromData(b.X, n, c, h, wd))
		t, err := NearestTargets(logits.Data, k, b.Labels)
		if err != nil {
			return nil, fmt.Errorf("ablation: samples %d…: %w", b.Index[0], err)
		}
		set.Inputs = append(set.Inputs, b.X...)
		set.Labels = append(set.Labels, b.Labels...)
		set.Targets["out"] = append(set.Targets["out"], t...)
		bar.Add(int64(n), "")
		loader.Release(b)
	}
	bar.Finish(fmt.Sprintf("%d samples", len(set.Labels)))
	return set, nil
}

// NearestTargets is the static nearest-embedding target of a batch of pretrained logits
// (rows of k), as frpt reconstruct stores it in recons_out.
func NearestTargets(logits []float32, k int, labels []int) ([]float32, error) {
	t, err := reverse.Targets(reverse.Nearest, tensor.ConvertSlice[float64](logits), k, labels)
	if err != nil {
		return nil, err
	}
	return tensor.ConvertSlice[float32](t), nil
}

// OnlineTargets is the per-step target of the one-hot and max-assign embeddings from the
// live model's logits of the batch (rows of k; max-assign uses scale 1 and clamps to
// ±10, spec §3.2).
func OnlineTargets(e reverse.Embedding, logits []float32, k int, labels []int) ([]float32, error) {
	if e != reverse.OneHot && e != reverse.MaxAssign {
		return nil, fmt.Errorf("ablation: %q is not an online target (want one-hot or max-assign)", e)
	}
	t, err := reverse.Targets(e, tensor.ConvertSlice[float64](logits), k, labels)
	if err != nil {
		return nil, err
	}
	return tensor.ConvertSlice[float32](t), nil
}

// AblationTrain runs one ablation run on the frozen training pass set (whose "out"
// targets are the static nearest targets) and scores it on test after every epoch.
func AblationTrain(ctx context.Context, run AblationRun, set *CachedSet, test data.Dataset) (*AblationResult, error) {
	m, err := loadModel(run.Model, run.Dataset, run.Seed, run.Weights)
	if err != nil {
		return nil, fmt.Errorf("ablation: %w", err)
	}
	models.FreezeFrom(m, len(m.Children())) // everything trainable
	opt := nn.NewAdamW(nn.Group[float32]{Params: m.Params(), LR: run.LR, WeightDecay: run.WD})
	emb := reverse.Embedding(run.Embedding)
	nearest := set.Targets["out"]
	if run.Alpha > 0 && emb == reverse.Nearest && nearest == nil {
		return nil, fmt.Errorf("ablation %s: the training pass has no nearest targets", run.Key())
	}
	k := test.Classes()
	rng := rand.New(rand.NewPCG(run.Seed, 0xab1a7e))

	order := make([]int, set.N)
	for i := range order {
		order[i] = i
	}
	x := tensor.New[float32](append([]int{run.Batch}, set.Input...)...)
	tgt := make([]float32, run.Batch*k)
	labels := make([]int, run.Batch)
	var dlogits, dmse *tensor.T[float32]
	res := &AblationResult{AblationRun: run}
	var ceSum, mseSum float64
	steps := 0
	for epoch := 1; epoch <= run.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		nn.SetTraining[float32](m, true)
		for b := 0; b < set.N; b += run.Batch {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("ablation run %s interrupted: %w", run.Key(), err)
			}
			n := min(run.Batch, set.N-b)
			idx := order[b : b+n]
			xb := set.batch(idx, x.Data, labels)
			logits := m.Forward(xb)
			var ce float64
			ce, dlogits = nn.CrossEntropyInto(dlogits, logits, labels[:n], 0)
			if run.Alpha > 0 {
				tb := &tensor.T[float32]{Shape: logits.Shape, Data: tgt[:n*k]}
				if emb == reverse.Nearest {
					gatherRows(tb.Data, nearest, k, idx)
				} else {
					t, err := OnlineTargets(emb, logits.Data, k, labels[:n]) // detached: a constant of the step
					if err != nil {
						return nil, err
					}
					copy(tb.Data, t)
				}
				var mse float64
				mse, dmse = nn.MSEInto(dmse, logits, tb)
				for i := range dlogits.Data {
					dlogits.Data[i] += float32(run.Alpha) * dmse.Data[i]
				}
				mseSum += mse
			}
			if math.IsNaN(ce) || math.IsInf(ce, 0) {
				return nil, fmt.Errorf("ablation run %s epoch %d: the loss became %v", run.Key(), epoch, ce)
			}
			ceSum += ce
			opt.ZeroGrad()
			m.Backward(dlogits)
			opt.Step()
			steps++
		}
		secs := time.Since(start).Seconds()
		ev, err := evaluate(ctx, m, test, data.TestTransform(run.Dataset), 1000, nil)
		if err != nil {
			return nil, err
		}
		res.TestAcc = append(res.TestAcc, ev.Accuracy)
		res.EpochSecs = append(res.EpochSecs, secs)
	}
	res.Best = slices.Max(res.TestAcc)
	res.Mean = stat.Mean(res.TestAcc, nil)
	if steps > 0 {
		res.MeanCE, res.MeanMSE = ceSum/float64(steps), mseSum/float64(steps)
	}
	return res, nil
}

// pretrainedAccuracy is the pretrained checkpoint's test accuracy, remembered in
// <out>/pretrained.json by the checkpoint's hash.
func pretrainedAccuracy(ctx context.Context, cfg AblationConfig, sha string, test data.Dataset) (Num, error) {
	type rec struct {
		Weights string  `json:"weights"`
		SHA256  string  `json:"weights_sha256"`
		TestAcc float64 `json:"test_acc"`
	}
	path := filepath.Join(cfg.OutDir, "pretrained.json")
	var r rec
	if err := readJSON(path, &r); err == nil && r.SHA256 == sha {
		return Num(r.TestAcc), nil
	}
	m, err := loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights)
	if err != nil {
		return 0, fmt.Errorf("ablation: %w", err)
	}
	ev, err := evaluate(ctx, m, test, data.TestTransform(cfg.Dataset), 1000, nil)
	if err != nil {
		return 0, err
	}
	if err := WriteJSON(path, rec{Weights: report.RecordedPath(path, cfg.Weights), SHA256: sha, TestAcc: ev.Accuracy}); err != nil {
		return 0, err
	}
	return Num(ev.Accuracy), nil
}

// SummarizeAblation returns mean, SD and the 95 % t-interval over seeds of every metric
// of every (embedding, α), in the order the runs first appear; metrics a run does not
// reach (epoch10 of a 5-epoch run) are left out.
func SummarizeAblation(runs []AblationResult) []AblationCell {
	type key struct {
		emb   string
		alpha float64
	}
	var keys []key
	vals := map[key]map[string][]float64{}
	for _, r := range runs {
		kk := key{r.Embedding, r.Alpha}
		if vals[kk] == nil {
			vals[kk] = map[string][]float64{}
			keys = append(keys, kk)
		}
		for _, m := range AblationMetrics {
			if v := r.Metric(m); !math.IsNaN(v) {
				vals[kk][m] = append(vals[kk][m], v)
			}
		}
	}
	var out []AblationCell
	for _, kk := range keys {
		for _, m := range AblationMetrics {
			v := vals[kk][m]
			if len(v) == 0 {
				continue
			}
			c := AblationCell{Embedding: kk.emb, Alpha: kk.alpha, Metric: m, N: len(v)}
			mean, sd := stat.Mean(v, nil), math.NaN()
			lo, hi := math.NaN(), math.NaN()
			if len(v) > 1 {
				sd = stat.StdDev(v, nil)
				hw := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(v) - 1)}.Quantile(0.975) * sd / math.Sqrt(float64(len(v)))
				lo, hi = mean-hw, mean+hw
			}
			c.Mean, c.SD, c.CILow, c.CIHigh = Num(mean), Num(sd), Num(lo), Num(hi)
			out = append(out, c)
		}
	}
	return out
}

// writeAblationFiles writes ablation-summary.{csv,json}, ablation.md and ablation.png.
func writeAblationFiles(cfg AblationConfig, s *AblationSummary) error {
	dir := cfg.OutDir
	g := func(f Num) string { return strconv.FormatFloat(float64(f), 'g', 8, 64) }
	rows := [][]string{{"embedding", "alpha", "metric", "n", "mean", "sd", "ci95_low", "ci95_high"}}
	for _, c := range s.Cells {
		rows = append(rows, []string{c.Embedding, strconv.FormatFloat(c.Alpha, 'g', -1, 64), c.Metric, strconv.Itoa(c.N), g(c.Mean), g(c.SD), g(c.CILow), g(c.CIHigh)})
	}
	if err := report.WriteCSV(filepath.Join(dir, "ablation-summary.csv"), rows); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(dir, "ablation-summary.json"), s); err != nil {
		return err
	}
	rs := ablationReport(cfg, s)
	if err := WriteFileAtomic(filepath.Join(dir, "ablation.md"), []byte(report.AblationMarkdown(rs))); err != nil {
		return err
	}
	if err := report.AblationPlot(filepath.Join(dir, "ablation.png"), rs); err != nil {
		return err
	}
	for _, f := range []string{"ablation-summary.csv", "ablation-summary.json", "ablation.md", "ablation.png"} {
		s.Files = append(s.Files, filepath.Join(dir, f))
	}
	return nil
}

// ablationReport converts a summary for package report.
func ablationReport(cfg AblationConfig, s *AblationSummary) report.Ablation {
	var r0 AblationRun
	if len(s.Runs) > 0 {
		r0 = s.Runs[0].AblationRun
	}
	r := report.Ablation{Model: s.Model, Dataset: s.Dataset, Weights: s.Weights, Pretrained: float64(s.Pretrained),
		Epochs: r0.Epochs, Batch: r0.Batch, Samples: r0.Samples, LR: r0.LR, WD: r0.WD, Augment: r0.Augment,
		Baseline: AblationNone, Metrics: AblationMetrics, Results: cfg.Results, Runs: len(s.Runs)}
	for _, c := range s.Cells {
		r.Cells = append(r.Cells, report.AblationCell{Embedding: c.Embedding, Alpha: c.Alpha, Metric: c.Metric, N: c.N,
			Mean: float64(c.Mean), CIHigh: float64(c.CIHigh)})
	}
	return r
}

// readAblationTasks reads the finished runs of the results file and of every task file
// beside it, by run key. A run found in two files must have the same test accuracies in
// both (runs are deterministic); otherwise both files are named.
func readAblationTasks(results string) (map[string]AblationResult, error) {
	return readTaskRecords(results, "ablation", AblationResult.Key,
		func(a, b AblationResult) bool { return !slices.Equal(a.TestAcc, b.TestAcc) })
}

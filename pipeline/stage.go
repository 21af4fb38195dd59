package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/stats"
	"github.com/frpt/frpt/task"
	"github.com/frpt/frpt/tensor"
)

// The training-stage study (spec §8, results §6): every epoch-NNN.safetensors snapshot of
// a training run (frpt train --save-every) goes through the reverse chain on the same
// probe images, and the per-tap gap between forward and label-reconstructed features is
// correlated with the stage's test accuracy over the stages.
//
// Files in StageConfig.OutDir:
//
//	stages.jsonl        one StageResult per line; the resume state (finished stages are
//	                    never recomputed while checkpoint, probe set and chain are the same)
//	stages.csv          one row per stage × tap
//	correlations.csv    Pearson r and Spearman ρ (two-sided p-values) of each accuracy
//	correlations.json   with each gap metric, per tap, over the stages after the dropped ones
//	stage-study.png     relative gap per tap and accuracy against the epoch
//	report.md           the tables and the plot

// StageConfig is a training-stage study of one training run.
type StageConfig struct {
	RunDir string // a frpt train folder with epoch-NNN.safetensors and log.jsonl
	// Model, Dataset and DataDir default to the run's config.json.
	Model, Dataset, DataDir string
	OutDir                  string // default <RunDir>/stage-study
	// Limit probes the first Limit training images (un-augmented, the test transform).
	Limit int
	Batch int // samples per chain call (default 256)
	// DropFirst stages are left out of the correlations (the paper drops the first).
	DropFirst int
	Chain     reverse.ChainOptions
	// Task is this process's share of a study split over several: checkpoint i (in epoch
	// order) is task i mod N's, its stage appended to the task's own state file beside
	// stages.jsonl (task.File). The call that finds every stage done writes the merged
	// stages.jsonl and the summary files.
	Task task.Task
}

// DefaultStageConfig returns the study's defaults: 5000 probe images, batch 256, the first
// stage dropped from the correlations, the original code's chain settings.
func DefaultStageConfig() StageConfig {
	return StageConfig{Limit: 5000, Batch: 256, DropFirst: 1, Chain: reverse.DefaultChainOptions()}
}

// Num is stats.Num: NaN and ±Inf as JSON null, for values that may be undefined.
type Num = stats.Num

// StageTap is the gap statistics of one tap at one stage, averaged over the probe images.
type StageTap struct {
	Tap          string  `json:"tap"`
	RelativeDiff float64 `json:"relative_diff"` // mean ‖f − r‖/‖f‖
	AbsoluteDiff float64 `json:"absolute_diff"` // mean ‖f − r‖
	ForwardNorm  float64 `json:"forward_norm"`  // mean ‖f‖
	Method       string  `json:"method"`        // reverse operator that produced the tap
	Fallbacks    int     `json:"fallbacks"`     // Tikhonov fallbacks over the probe set
}

// StageResult is one probed checkpoint (one line of stages.jsonl).
type StageResult struct {
	Epoch         int        `json:"epoch"`
	Checkpoint    string     `json:"checkpoint"`
	WeightsSHA256 string     `json:"weights_sha256"`
	Model         string     `json:"model"`
	Dataset       string     `json:"dataset"`
	Samples       int        `json:"samples"` // probe images
	Embedding     string     `json:"embedding"`
	ConvMethod    string     `json:"conv_method"`
	PoolProject   bool       `json:"pool_projection,omitempty"`
	TestAcc       Num        `json:"test_acc"`  // from log.jsonl (or the checkpoint's metadata)
	TrainAcc      Num        `json:"train_acc"` // training accuracy of the epoch (log.jsonl)
	ProbeAcc      float64    `json:"probe_acc"` // eval-mode accuracy on the probe images
	Taps          []StageTap `json:"taps"`      // input side first
	Seconds       float64    `json:"seconds"`
}

// key identifies what a stage result was computed from.
func (r StageResult) key() string {
	return fmt.Sprintf("%s/%s/e%d/%s/n%d/%s/%s/pool%v", r.Model, r.Dataset, r.Epoch, r.WeightsSHA256, r.Samples, r.Embedding, r.ConvMethod, r.PoolProject)
}

// tap returns the statistics of a tap (nil when absent).
func (r *StageResult) tap(name string) *StageTap {
	for i := range r.Taps {
		if r.Taps[i].Tap == name {
			return &r.Taps[i]
		}
	}
	return nil
}

// StageCorrelation is the correlation, over the stages, of an accuracy with a gap metric
// of one tap. P-values are two-sided (t distribution with n − 2 degrees of freedom, as
// scipy's pearsonr and spearmanr).
type StageCorrelation struct {
	Tap         string `json:"tap"`
	Metric      string `json:"metric"`   // relative_diff, absolute_diff or forward_norm
	Accuracy    string `json:"accuracy"` // test_acc or probe_acc
	N           int    `json:"n"`
	FirstEpoch  int    `json:"first_epoch"`
	PearsonR    Num    `json:"pearson_r"`
	PearsonP    Num    `json:"pearson_p"`
	SpearmanRho Num    `json:"spearman_rho"`
	SpearmanP   Num    `json:"spearman_p"`
}

// StageSummary is the outcome of StageStudy.
type StageSummary struct {
	Run          string             `json:"run"` // relative to OutDir (report.RecordedPath)
	Model        string             `json:"model"`
	Dataset      string             `json:"dataset"`
	Samples      int                `json:"samples"`
	DropFirst    int                `json:"drop_first"`
	Taps         []string           `json:"taps"` // output side first
	Stages       []StageResult      `json:"stages"`
	Correlations []StageCorrelation `json:"correlations"`
	New          int                `json:"-"` // stages computed by this call
	Missing      int                `json:"-"` // stages of other tasks not finished yet (no summary written)
	Files        []string           `json:"-"`
}

// StageCheckpoint is one epoch snapshot of a training run.
type StageCheckpoint struct {
	Epoch int
	Path  string
}

var epochFileRE = regexp.MustCompile(`^epoch-(\d+)\.safetensors$`)

// StageCheckpoints lists the epoch-NNN.safetensors files of a training run by epoch.
func StageCheckpoints(dir string) ([]StageCheckpoint, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("stage study: %w", err)
	}
	var out []StageCheckpoint
	for _, e := range entries {
		m := epochFileRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		ep, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("stage study: %s: %w", filepath.Join(dir, e.Name()), err)
		}
		out = append(out, StageCheckpoint{Epoch: ep, Path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Epoch < out[j].Epoch })
	return out, nil
}

// StageStudy runs (or resumes) the training-stage study of cfg.RunDir and writes its
// files to cfg.OutDir.
func StageStudy(ctx context.Context, cfg StageConfig, w io.Writer) (*StageSummary, error) {
	if cfg.Batch == 0 {
		cfg.Batch = 256
	}
	cfg.Chain = chainDefaults(cfg.Chain)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.OutDir == "" {
		cfg.OutDir = filepath.Join(cfg.RunDir, "stage-study")
	}
	if fi, err := os.Stat(cfg.RunDir); err != nil {
		return nil, fmt.Errorf("stage study: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("stage study: %s is a file, not a training run folder", cfg.RunDir)
	}
	var run TrainConfig
	switch err := readJSON(filepath.Join(cfg.RunDir, configFile), &run); {
	case err == nil:
		if cfg.Model == "" {
			cfg.Model = run.Model
		}
		if cfg.Dataset == "" {
			cfg.Dataset = run.Dataset
		}
		if cfg.DataDir == "" {
			cfg.DataDir = run.DataDir
		}
		if cfg.Model != run.Model || cfg.Dataset != run.Dataset {
			return nil, fmt.Errorf("stage study: %s was trained as %s on %s, not %s on %s", cfg.RunDir, run.Model, run.Dataset, cfg.Model, cfg.Dataset)
		}
	case errors.Is(err, os.ErrNotExist):
		if cfg.Model == "" || cfg.Dataset == "" {
			return nil, fmt.Errorf("stage study: %s has no %s; give the model and the dataset", cfg.RunDir, configFile)
		}
	default:
		return nil, fmt.Errorf("stage study: %w", err)
	}
	cks, err := StageCheckpoints(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	if len(cks) == 0 {
		return nil, fmt.Errorf("stage study: no epoch-*.safetensors in %s (train with frpt train --save-every N)", cfg.RunDir)
	}
	logs := map[int]EpochLog{}
	switch ls, err := readLog(filepath.Join(cfg.RunDir, logFile)); {
	case err == nil:
		for _, el := range ls {
			logs[el.Epoch] = el
		}
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(w, "stage study: %s has no %s; test accuracies come from the checkpoints' metadata\n", cfg.RunDir, logFile)
	default:
		return nil, fmt.Errorf("stage study: %w", err)
	}
	ds, err := openSplit(cfg.Dataset, "train", cfg.DataDir, cfg.Limit)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("stage study: %w", err)
	}
	removeStale(cfg.OutDir)
	statePath := filepath.Join(cfg.OutDir, "stages.jsonl")
	own := cfg.Task.File(statePath)
	mine, err := readJSONLines[StageResult](own)
	if err != nil {
		return nil, fmt.Errorf("stage study: %w", err)
	}
	have, err := readStageTasks(statePath)
	if err != nil {
		return nil, err
	}
	sum := &StageSummary{Run: report.RecordedPath(filepath.Join(cfg.OutDir, "correlations.json"), cfg.RunDir), Model: cfg.Model, Dataset: cfg.Dataset, Samples: ds.Len(), DropFirst: cfg.DropFirst}
	wants := make([]StageResult, len(cks))
	for i, ck := range cks {
		sha, err := FileSHA256(ck.Path)
		if err != nil {
			return nil, fmt.Errorf("stage study: %w", err)
		}
		wants[i] = StageResult{Epoch: ck.Epoch, WeightsSHA256: sha, Model: cfg.Model, Dataset: cfg.Dataset, Samples: ds.Len(),
			Embedding: string(cfg.Chain.Embedding), ConvMethod: string(cfg.Chain.ConvMethod), PoolProject: cfg.Chain.GlobalPoolProjection}
	}
	if cfg.Task.Split() {
		fmt.Fprintf(w, "stage study: %s: checkpoints i ≡ %d mod %d of %d into %s\n", cfg.Task.Describe(), cfg.Task.Index, cfg.Task.Count, len(cks), own)
	}
	for i, ck := range cks {
		if _, ok := have[wants[i].key()]; ok || !cfg.Task.Owns(i) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stage study interrupted before epoch %d (finished stages are kept; rerun to resume): %w", ck.Epoch, err)
		}
		want := wants[i]
		want.Checkpoint = filepath.Base(ck.Path)
		res, err := probeStage(ctx, cfg, ck, ds, want, logs, fmt.Sprintf("stage %d/%d (epoch %d)", i+1, len(cks), ck.Epoch), w)
		if err != nil {
			return nil, err
		}
		mine = append(mine, *res)
		have[res.key()] = *res
		if err := writeJSONLines(own, mine); err != nil {
			return nil, err
		}
		sum.New++
	}
	if sum.New > 0 && cfg.Task.Split() { // other tasks may have finished meanwhile
		if have, err = readStageTasks(statePath); err != nil {
			return nil, err
		}
	}
	for _, want := range wants {
		st, ok := have[want.key()]
		if !ok {
			sum.Missing++
			continue
		}
		if el, ok := logs[st.Epoch]; ok { // the log may have appeared since
			st.TestAcc, st.TrainAcc = Num(el.TestAcc), Num(el.TrainAcc)
		}
		sum.Stages = append(sum.Stages, st)
	}
	if sum.Missing > 0 {
		if !cfg.Task.Split() {
			return nil, fmt.Errorf("stage study: %d stages missing from %s after the study finished", sum.Missing, statePath)
		}
		fmt.Fprintf(w, "stage study: %s done; %d stages of other tasks not finished yet: the last task to finish (or a rerun) writes the summary\n", cfg.Task, sum.Missing)
		return sum, nil
	}
	if cfg.Task.Split() || len(have) > len(mine) { // merge the task files into the state file
		if err := writeJSONLines(statePath, sum.Stages); err != nil {
			return nil, err
		}
	}
	for _, t := range sum.Stages[0].Taps {
		sum.Taps = append([]string{t.Tap}, sum.Taps...)
	}
	sum.Correlations = stageCorrelations(sum.Stages, sum.Taps, cfg.DropFirst)
	if err := writeStageFiles(cfg.OutDir, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// readStageTasks reads the finished stages of the state file and of every task file beside
// it, by key; the first file (the state file, then the task files in name order) wins for
// a stage found in several (stages are deterministic up to their timing).
func readStageTasks(statePath string) (map[string]StageResult, error) {
	return readTaskRecords(statePath, "stage study", StageResult.key, nil)
}

// probeStage runs the reverse chain of one checkpoint over the probe images.
func probeStage(ctx context.Context, cfg StageConfig, ck StageCheckpoint, ds data.Dataset, res StageResult, logs map[int]EpochLog, label string, w io.Writer) (*StageResult, error) {
	t0 := time.Now()
	nw := max(tensor.Workers, 1)
	ms := make([]models.Model[float32], nw)
	chains := make([]*reverse.Chain, nw)
	var meta map[string]string
	for i := range ms {
		m, err := models.New[float32](cfg.Model, cfg.Dataset, 0)
		if err != nil {
			return nil, err
		}
		if meta, err = checkpoint.LoadInto(ck.Path, m.Params()); err != nil {
			return nil, fmt.Errorf("stage study: %w", err)
		}
		if chains[i], err = reverse.NewChain(m, cfg.Chain); err != nil {
			return nil, err
		}
		ms[i] = m
	}
	res.TestAcc, res.TrainAcc = Num(math.NaN()), Num(math.NaN())
	if el, ok := logs[ck.Epoch]; ok {
		res.TestAcc, res.TrainAcc = Num(el.TestAcc), Num(el.TrainAcc)
	} else if v, err := strconv.ParseFloat(meta["test_acc"], 64); err == nil {
		res.TestAcc = Num(v)
	}
	if nw > 1 {
		old := tensor.Workers
		tensor.Workers = 1 // batches are the parallel unit
		defer func() { tensor.Workers = old }()
	}
	taps := ms[0].TapNames()
	total := newStageSums(len(taps))
	c, h, wd := ds.Shape()
	loader := data.NewLoader(ds, data.TestTransform(cfg.Dataset), cfg.Batch, false, 0, false)
	defer loader.Close()
	bar := progress.New(w, int64(ds.Len()), label)
	var group []*data.Batch
	parts := make([]stageSums, nw)
	seen := 0
	flush := func() error {
		var wg sync.WaitGroup
		for i, b := range group {
			wg.Add(1)
			go func() {
				defer wg.Done()
				parts[i] = probeBatch(ms[i], chains[i], tensor.FromData(b.X, len(b.Labels), c, h, wd), b.Labels, taps)
			}()
		}
		wg.Wait()
		for i, b := range group {
			p := parts[i]
			if p.err != nil {
				return fmt.Errorf("stage study %s, samples %d…: %w", ck.Path, b.Index[0], p.err)
			}
			for j := range taps {
				total.rel[j] += p.rel[j]
				total.abs[j] += p.abs[j]
				total.norm[j] += p.norm[j]
				total.fallbacks[j] += p.fallbacks[j]
				total.methods[j] = p.methods[j]
			}
			total.correct += p.correct
			seen += len(b.Labels)
			bar.Add(int64(len(b.Labels)), "")
			loader.Release(b)
		}
		group = group[:0]
		return nil
	}
	for b := range loader.Epoch(0) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("stage study interrupted at epoch %d (finished stages are kept; rerun to resume): %w", ck.Epoch, err)
		}
		if group = append(group, b); len(group) == nw {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(group) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if seen == 0 {
		return nil, fmt.Errorf("stage study: the probe set of %s is empty", cfg.Dataset)
	}
	n := float64(seen)
	for j, tp := range taps {
		res.Taps = append(res.Taps, StageTap{Tap: tp, RelativeDiff: total.rel[j] / n, AbsoluteDiff: total.abs[j] / n, ForwardNorm: total.norm[j] / n,
			Method: total.methods[j], Fallbacks: total.fallbacks[j]})
	}
	res.ProbeAcc = float64(total.correct) / n
	res.Seconds = time.Since(t0).Seconds()
	var gaps []string
	for i := len(res.Taps) - 1; i >= 0; i-- {
		gaps = append(gaps, fmt.Sprintf("%s %.4g", res.Taps[i].Tap, res.Taps[i].RelativeDiff))
	}
	bar.Finish(fmt.Sprintf("test acc %s, relative gap %s", report.Pct(float64(res.TestAcc)), strings.Join(gaps, ", ")))
	return &res, nil
}

// stageSums are per-tap sums over samples of ‖f − r‖/‖f‖, ‖f − r‖ and ‖f‖.
type stageSums struct {
	rel, abs, norm []float64
	fallbacks      []int
	methods        []string
	correct        int
	err            error
}

func newStageSums(taps int) stageSums {
	return stageSums{rel: make([]float64, taps), abs: make([]float64, taps), norm: make([]float64, taps), fallbacks: make([]int, taps), methods: make([]string, taps)}
}

// probeBatch reverses one batch and returns per-tap sums over its samples of ‖f − r‖/‖f‖,
// ‖f − r‖ and ‖f‖ (f the forward feature, r the reconstructed one).
func probeBatch(m models.Model[float32], chain *reverse.Chain, x *tensor.T[float32], labels []int, taps []string) stageSums {
	p := newStageSums(len(taps))
	// The chain's forward features are not returned (and its solvers reuse the layers'
	// buffers), so keep copies of an identical eval-mode forward pass.
	nn.SetTraining[float32](m, false)
	m.Forward(x)
	fwd := map[string]*tensor.T[float32]{}
	for _, tp := range taps {
		f := m.Taps()[tp]
		if f == nil {
			p.err = fmt.Errorf("model %s has no forward feature for tap %s", m.Arch(), tp)
			return p
		}
		fwd[tp] = f.Clone()
	}
	rec, err := chain.Run(x, labels)
	if err != nil {
		p.err = err
		return p
	}
	n := len(labels)
	for j, tp := range taps {
		f, r := fwd[tp], rec.Targets[tp]
		if r == nil || len(r.Data) != len(f.Data) {
			p.err = fmt.Errorf("tap %s: the chain returned no target of the forward shape %v", tp, f.Shape)
			return p
		}
		per := len(f.Data) / n
		for s := 0; s < n; s++ {
			var d2, f2 float64
			for i := s * per; i < (s+1)*per; i++ {
				fv := float64(f.Data[i])
				e := fv - float64(r.Data[i])
				d2 += e * e
				f2 += fv * fv
			}
			d, fn := math.Sqrt(d2), math.Sqrt(f2)
			p.rel[j] += d / math.Max(fn, 1e-12) // the chain's own gap definition
			p.abs[j] += d
			p.norm[j] += fn
		}
		if dg := rec.Diags[tp]; dg != nil {
			p.fallbacks[j], p.methods[j] = dg.Fallbacks, dg.Method
		}
	}
	p.correct = countCorrect(rec.Logits, labels)
	return p
}

// stageMetrics and stageAccuracies are the correlated variables.
var (
	stageMetrics    = []string{"relative_diff", "absolute_diff", "forward_norm"}
	stageAccuracies = []string{"test_acc", "probe_acc"}
)

func (t *StageTap) metric(name string) float64 {
	switch name {
	case "relative_diff":
		return t.RelativeDiff
	case "absolute_diff":
		return t.AbsoluteDiff
	}
	return t.ForwardNorm
}

func (r *StageResult) accuracy(name string) float64 {
	if name == "test_acc" {
		return float64(r.TestAcc)
	}
	return r.ProbeAcc
}

// stageCorrelations correlates every accuracy with every metric of every tap over the
// stages after the first dropFirst (stages without the accuracy are skipped).
func stageCorrelations(stages []StageResult, taps []string, dropFirst int) []StageCorrelation {
	var out []StageCorrelation
	use := stages[min(dropFirst, len(stages)):]
	for _, acc := range stageAccuracies {
		for _, metric := range stageMetrics {
			for _, tap := range taps {
				var x, y []float64
				first := 0
				for i := range use {
					a := use[i].accuracy(acc)
					t := use[i].tap(tap)
					if math.IsNaN(a) || t == nil {
						continue
					}
					if len(x) == 0 {
						first = use[i].Epoch
					}
					x = append(x, t.metric(metric))
					y = append(y, a)
				}
				c := StageCorrelation{Tap: tap, Metric: metric, Accuracy: acc, N: len(x), FirstEpoch: first}
				r, p := stats.PearsonTest(y, x)
				c.PearsonR, c.PearsonP = Num(r), Num(p)
				r, p = stats.SpearmanTest(y, x)
				c.SpearmanRho, c.SpearmanP = Num(r), Num(p)
				out = append(out, c)
			}
		}
	}
	return out
}

// writeStageFiles writes the CSVs, the JSON, the plot and the report of a study.
func writeStageFiles(dir string, s *StageSummary) error {
	g := func(f float64) string { return strconv.FormatFloat(f, 'g', 8, 64) }
	rows := [][]string{{"epoch", "checkpoint", "test_acc", "train_acc", "probe_acc", "samples", "tap", "relative_diff", "absolute_diff", "forward_norm", "method", "fallbacks"}}
	for _, st := range s.Stages {
		for _, tap := range s.Taps {
			t := st.tap(tap)
			if t == nil {
				continue
			}
			rows = append(rows, []string{strconv.Itoa(st.Epoch), st.Checkpoint, g(float64(st.TestAcc)), g(float64(st.TrainAcc)), g(st.ProbeAcc), strconv.Itoa(st.Samples),
				tap, g(t.RelativeDiff), g(t.AbsoluteDiff), g(t.ForwardNorm), t.Method, strconv.Itoa(t.Fallbacks)})
		}
	}
	if err := report.WriteCSV(filepath.Join(dir, "stages.csv"), rows); err != nil {
		return err
	}
	rows = [][]string{{"accuracy", "metric", "tap", "n", "first_epoch", "pearson_r", "pearson_p", "spearman_rho", "spearman_p"}}
	for _, c := range s.Correlations {
		rows = append(rows, []string{c.Accuracy, c.Metric, c.Tap, strconv.Itoa(c.N), strconv.Itoa(c.FirstEpoch),
			g(float64(c.PearsonR)), g(float64(c.PearsonP)), g(float64(c.SpearmanRho)), g(float64(c.SpearmanP))})
	}
	if err := report.WriteCSV(filepath.Join(dir, "correlations.csv"), rows); err != nil {
		return err
	}
	if err := WriteJSON(filepath.Join(dir, "correlations.json"), s); err != nil {
		return err
	}
	rs := stageReport(s)
	if err := report.StagePlot(filepath.Join(dir, "stage-study.png"), rs); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, "report.md"), []byte(report.StageMarkdown(rs))); err != nil {
		return err
	}
	s.Files = []string{"stages.jsonl", "stages.csv", "correlations.csv", "correlations.json", "stage-study.png", "report.md"}
	for i, f := range s.Files {
		s.Files[i] = filepath.Join(dir, f)
	}
	return nil
}

// stageReport converts a study for package report.
func stageReport(s *StageSummary) report.StageStudy {
	r := report.StageStudy{Run: s.Run, Model: s.Model, Dataset: s.Dataset, Samples: s.Samples, DropFirst: s.DropFirst, Taps: s.Taps}
	if len(s.Stages) > 0 {
		r.Embedding, r.ConvMethod = s.Stages[0].Embedding, s.Stages[0].ConvMethod
	}
	for _, st := range s.Stages {
		gaps := make(map[string]float64, len(st.Taps))
		for _, t := range st.Taps {
			gaps[t.Tap] = t.RelativeDiff
		}
		r.Stages = append(r.Stages, report.Stage{Epoch: st.Epoch, TestAcc: float64(st.TestAcc), TrainAcc: float64(st.TrainAcc),
			ProbeAcc: st.ProbeAcc, RelativeGap: gaps})
	}
	for _, c := range s.Correlations {
		r.Correlations = append(r.Correlations, report.StageCorrelation{Tap: c.Tap, Metric: c.Metric, Accuracy: c.Accuracy, N: c.N,
			PearsonR: float64(c.PearsonR), PearsonP: float64(c.PearsonP), SpearmanRho: float64(c.SpearmanRho), SpearmanP: float64(c.SpearmanP)})
	}
	return r
}

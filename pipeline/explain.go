package pipeline

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/frpt/frpt/atomicfile"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/explain"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/tensor"
)

// ExplainConfig is one explain run (spec §8): chosen samples of a split go through the
// pretrained model and its reverse chain (the chain and options of Reconstruct), and the
// maps of package explain are written to a folder with a panel per sample and a page.
type ExplainConfig struct {
	Model, Dataset, DataDir, Weights string
	Tap                              string
	Samples                          explain.Selection
	Split                            string // "test" or "train"; un-augmented either way
	// Limit caps the number of samples (the first ones in dataset order; 0: no cap); for
	// per-class it is the number per class (0: 1).
	Limit  int
	Class  int // only samples of this class; −1: every class
	OutDir string
	Batch  int // samples per chain call (default 256)
	Chain  reverse.ChainOptions
	// Faithfulness adds the deletion/insertion curves of the six maps of
	// explain.FaithMapNames over the first FaithSamples test samples (default 1,000).
	Faithfulness bool
	FaithSamples int
	FaithSteps   int     // points − 1 of the curves (default 20: 5 % steps)
	Seed         uint64  // the random map, tie order and bootstrap
	Resamples    int     // bootstrap resamples (default 2,000)
	Level        float64 // bootstrap interval level (default 0.95)
}

// DefaultExplain returns the defaults of frpt explain.
func DefaultExplain() ExplainConfig {
	return ExplainConfig{Model: "simplecnn-v2", Dataset: "mnist", Split: "test", Class: -1, Batch: 256, Chain: reverse.DefaultChainOptions(),
		FaithSamples: 1000, FaithSteps: 20, Resamples: 2000, Level: 0.95}
}

// ExplainSummary is explain.json: the run and one record per sample.
type ExplainSummary struct {
	Model         string   `json:"model"`
	Dataset       string   `json:"dataset"`
	Split         string   `json:"split"`
	Weights       string   `json:"weights"`
	WeightsSHA256 string   `json:"weights_sha256"`
	Tap           string   `json:"tap"`
	TapShape      []int    `json:"tap_shape"`
	Grid          string   `json:"grid"`
	Embedding     string   `json:"embedding"`
	ConvMethod    string   `json:"conv_method"`
	Samples       string   `json:"samples"`
	Class         *int     `json:"class,omitempty"`
	Limit         int      `json:"limit,omitempty"`
	ClassNames    []string `json:"class_names,omitempty"`
	N             int      `json:"n"`
	Misclassified int      `json:"misclassified"`
	Scanned       int      `json:"scanned,omitempty"` // samples predicted to find the misclassified ones
	Seconds       float64  `json:"seconds"`
	// Where the time went: the maps of the samples (forward, reverse chain, CAMs,
	// saliency), the faithfulness curves, and the files (panels, pages, maps).
	MapsSeconds  float64         `json:"maps_seconds"`
	FaithSeconds float64         `json:"faithfulness_seconds,omitempty"`
	WriteSeconds float64         `json:"write_seconds"`
	Records      []ExplainRecord `json:"records"`
	// Faithfulness is the deletion/insertion summary (with --faithfulness); the
	// per-sample areas are in faithfulness.csv.
	Faithfulness *explain.FaithSummary `json:"faithfulness,omitempty"`
}

// ExplainRecord is one sample: its statistics of D at the tap (explain.Stats), logits,
// output target and panel.
type ExplainRecord struct {
	Index   int       `json:"index"`
	Label   int       `json:"label"`
	Pred    int       `json:"pred"`
	Correct bool      `json:"correct"`
	PLabel  float64   `json:"p_label"` // softmax probability of the label
	Logits  []float32 `json:"logits"`
	Targets []float32 `json:"targets"` // ô, the label's output target
	explain.Stats
	Panel string `json:"panel"`
}

// explainRun is an explain run's loaded state.
type explainRun struct {
	cfg    ExplainConfig
	ds     data.Dataset
	tf     data.Transform
	models []models.Model[float32] // one per worker
	chains []*reverse.Chain
	sha    string
}

// Explain runs cfg and writes its folder atomically (all or nothing): maps.safetensors,
// explain.json, panels/, explain.md, index.html and, with Faithfulness, faithfulness.*.
func Explain(ctx context.Context, cfg ExplainConfig, w io.Writer) (*ExplainSummary, error) {
	t0 := time.Now()
	r, err := openExplain(cfg)
	if err != nil {
		return nil, err
	}
	cfg = r.cfg
	idx, scanned, err := r.selectSamples(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "explain %s on the %s split of %s at tap %s: %d samples (%s)\n", cfg.Model, cfg.Split, cfg.Dataset, cfg.Tap, len(idx), cfg.Samples)
	tm := time.Now()
	mp, _, err := r.run(ctx, r.ds, idx, false, w, "explain")
	if err != nil {
		return nil, err
	}
	sum := r.summary(mp, scanned)
	sum.MapsSeconds = time.Since(tm).Seconds()
	var faith []explain.FaithSample
	if cfg.Faithfulness {
		test := r.ds
		if cfg.Split != "test" {
			if test, err = data.Open(cfg.Dataset, "test", cfg.DataDir); err != nil {
				return nil, err
			}
		}
		tf := time.Now()
		n := min(cfg.FaithSamples, test.Len())
		fidx := make([]int, n)
		for i := range fidx {
			fidx[i] = i
		}
		fmt.Fprintf(w, "faithfulness: %d test samples, %d maps, deletion and insertion in %d steps\n", n, len(explain.FaithMapNames), cfg.FaithSteps)
		if _, faith, err = r.run(ctx, test, fidx, true, w, "faithfulness"); err != nil {
			return nil, err
		}
		fs := explain.SummarizeFaith(faith, explain.FaithMapNames, cfg.FaithSteps, cfg.Resamples, cfg.Level, cfg.Seed)
		sum.Faithfulness = &fs
		sum.FaithSeconds = time.Since(tf).Seconds()
	}
	sum.Seconds = time.Since(t0).Seconds() // explain.json: up to the writing of the files
	tw := time.Now()
	err = atomicfile.WriteDir(cfg.OutDir, func(tmp string) error {
		return writeExplain(tmp, r, sum, mp, faith, w)
	})
	if err != nil {
		return nil, err
	}
	sum.WriteSeconds = time.Since(tw).Seconds()
	sum.Seconds = time.Since(t0).Seconds() // the returned summary: the whole run
	return sum, nil
}

// openExplain checks cfg and loads the model (one copy and chain per worker) and the split.
func openExplain(cfg ExplainConfig) (*explainRun, error) {
	def := DefaultExplain()
	if cfg.Split == "" {
		cfg.Split = "test"
	}
	if cfg.Split != "test" && cfg.Split != "train" {
		return nil, fmt.Errorf("explain: --split %q: want test or train", cfg.Split)
	}
	if cfg.OutDir == "" {
		return nil, fmt.Errorf("explain: no output folder (--out)")
	}
	if cfg.Samples.Kind == "" {
		return nil, fmt.Errorf("explain: no samples chosen (--samples)")
	}
	if cfg.Batch <= 0 {
		cfg.Batch = def.Batch
	}
	if cfg.Chain.Kappa == 0 {
		cfg.Chain = reverse.DefaultChainOptions()
	}
	if cfg.Chain.Embedding == "" {
		cfg.Chain.Embedding = reverse.Nearest
	}
	if cfg.FaithSamples <= 0 {
		cfg.FaithSamples = def.FaithSamples
	}
	if cfg.FaithSteps <= 0 {
		cfg.FaithSteps = def.FaithSteps
	}
	if cfg.Resamples <= 0 {
		cfg.Resamples = def.Resamples
	}
	if cfg.Level <= 0 || cfg.Level >= 1 {
		cfg.Level = def.Level
	}
	r := &explainRun{cfg: cfg}
	m, err := loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights)
	if err != nil {
		return nil, fmt.Errorf("explain: --weights %s for %s on %s: %w", cfg.Weights, cfg.Model, cfg.Dataset, err)
	}
	if !slices.Contains(m.TapNames(), cfg.Tap) {
		return nil, fmt.Errorf("explain: unknown tap %q: %s has taps %s", cfg.Tap, cfg.Model, strings.Join(m.TapNames(), ", "))
	}
	if r.sha, err = FileSHA256(cfg.Weights); err != nil {
		return nil, err
	}
	if r.ds, err = data.Open(cfg.Dataset, cfg.Split, cfg.DataDir); err != nil {
		return nil, err
	}
	if cfg.Class >= r.ds.Classes() || cfg.Class < -1 {
		return nil, fmt.Errorf("explain: --class %d: %s has classes 0 … %d", cfg.Class, cfg.Dataset, r.ds.Classes()-1)
	}
	if cfg.Faithfulness {
		c, h, wd := r.ds.Shape()
		m.Forward(tensor.New[float32](1, c, h, wd))
		if g, err := explain.GridOf(m.Taps()[cfg.Tap].Shape[1:]); err != nil || !g.Spatial() {
			return nil, fmt.Errorf("explain: --faithfulness needs a tap with a spatial map (the CAMs and Grad-CAM of tap %s have one cell); %s's conv or token taps are %s",
				cfg.Tap, cfg.Model, strings.Join(spatialTaps(m), ", "))
		}
	}
	r.tf = data.TestTransform(cfg.Dataset)
	for i := range max(tensor.Workers, 1) {
		mi := m
		if i > 0 {
			if mi, err = loadModel(cfg.Model, cfg.Dataset, 0, cfg.Weights); err != nil {
				return nil, err
			}
		}
		ch, err := reverse.NewChain(mi, cfg.Chain)
		if err != nil {
			return nil, err
		}
		r.models, r.chains = append(r.models, mi), append(r.chains, ch)
	}
	return r, nil
}

// spatialTaps lists the taps of m (after a forward pass) whose features have a grid.
func spatialTaps(m models.Model[float32]) []string {
	var out []string
	for _, t := range m.TapNames() {
		if g, err := explain.GridOf(m.Taps()[t].Shape[1:]); err == nil && g.Spatial() {
			out = append(out, t)
		}
	}
	return out
}

// where names the split for messages: "the test split of mnist".
func (r *explainRun) where() string {
	s := fmt.Sprintf("the %s split of %s", r.cfg.Split, r.cfg.Dataset)
	if r.cfg.Class >= 0 {
		s += fmt.Sprintf(" (class %d)", r.cfg.Class)
	}
	return s
}

// selectSamples resolves cfg.Samples to dataset indices; for misclassified it also
// returns how many samples it predicted.
func (r *explainRun) selectSamples(ctx context.Context) ([]int, int, error) {
	cfg, n := r.cfg, r.ds.Len()
	var labels []int
	inClass := func(i int) bool { return cfg.Class < 0 || labels[i] == cfg.Class }
	if cfg.Class >= 0 || cfg.Samples.Kind == explain.SelectPerClass {
		labels = data.Labels(r.ds)
	}
	capped := func(idx []int) []int {
		if cfg.Limit > 0 && len(idx) > cfg.Limit {
			return idx[:cfg.Limit]
		}
		return idx
	}
	var idx []int
	switch cfg.Samples.Kind {
	case explain.SelectAll:
		for i := 0; i < n && (cfg.Limit <= 0 || len(idx) < cfg.Limit); i++ {
			if labels == nil || inClass(i) {
				idx = append(idx, i)
			}
		}
	case explain.SelectPerClass:
		per := max(cfg.Limit, 1)
		count := map[int]int{}
		for i := 0; i < n; i++ {
			if inClass(i) && count[labels[i]] < per {
				count[labels[i]]++
				idx = append(idx, i)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int { return labels[a] - labels[b] })
	case explain.SelectIndices:
		for _, i := range cfg.Samples.Indices {
			if i >= n {
				return nil, 0, fmt.Errorf("explain: --samples: index %d is out of range: %s has %d samples (0 … %d)", i, r.where(), n, n-1)
			}
			if labels == nil || inClass(i) {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return nil, 0, fmt.Errorf("explain: --samples %s: none of these samples is of class %d", cfg.Samples, cfg.Class)
		}
		idx = capped(idx)
	case explain.SelectMisclassified:
		return r.misclassified(ctx, labels)
	default:
		return nil, 0, fmt.Errorf("explain: unknown sample selection %q", cfg.Samples.Kind)
	}
	if len(idx) == 0 {
		return nil, 0, fmt.Errorf("explain: no sample in %s", r.where())
	}
	return idx, 0, nil
}

// misclassified predicts the split (restricted to the class) in dataset order until
// Limit wrong predictions are found and returns their indices.
func (r *explainRun) misclassified(ctx context.Context, labels []int) ([]int, int, error) {
	cfg := r.cfg
	ds, pick := r.ds, []int(nil)
	if cfg.Class >= 0 {
		for i, y := range labels {
			if y == cfg.Class {
				pick = append(pick, i)
			}
		}
		var err error
		if ds, err = data.Pick(r.ds, pick); err != nil {
			return nil, 0, err
		}
	}
	m := r.models[0]
	c, h, w := ds.Shape()
	loader := data.NewLoader(ds, r.tf, 500, false, 0, false)
	defer loader.Close()
	var idx []int
	scanned := 0
	for b := range loader.Epoch(0) {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		out := m.Forward(tensor.FromData(b.X, len(b.Labels), c, h, w))
		k := out.Shape[1]
		for j, y := range b.Labels {
			row := out.Data[j*k : (j+1)*k]
			if slices.Index(row, slices.Max(row)) != y {
				i := b.Index[j]
				if pick != nil {
					i = pick[i]
				}
				idx = append(idx, i)
			}
		}
		scanned += len(b.Labels)
		loader.Release(b)
		if cfg.Limit > 0 && len(idx) >= cfg.Limit {
			idx = idx[:cfg.Limit]
			break
		}
	}
	if len(idx) == 0 {
		return nil, scanned, fmt.Errorf("explain: --samples misclassified: %s gets all %d samples of %s right", cfg.Model, scanned, r.where())
	}
	return idx, scanned, nil
}

// run computes the maps of the samples idx of ds in batches spread over the workers
// (each with its own model and chain, single-threaded kernels), and with faith their
// faithfulness curves. The maps come back in idx order.
func (r *explainRun) run(ctx context.Context, ds data.Dataset, idx []int, faith bool, w io.Writer, label string) (*explain.Maps, []explain.FaithSample, error) {
	cfg := r.cfg
	sub, err := data.Pick(ds, idx)
	if err != nil {
		return nil, nil, err
	}
	c, h, wd := ds.Shape()
	norm, err := data.Norm(cfg.Dataset)
	if err != nil {
		return nil, nil, err
	}
	nb := (len(idx) + cfg.Batch - 1) / cfg.Batch
	nw := min(len(r.chains), nb)
	if nw > 1 {
		old := tensor.Workers
		tensor.Workers = 1
		defer func() { tensor.Workers = old }()
	}
	type result struct {
		maps  *explain.Maps
		faith []explain.FaithSample
		err   error
	}
	results := make([]result, nb)
	bar := progress.New(w, int64(len(idx)), label)
	jobs := make(chan int)
	batches := make([]*data.Batch, nb)
	var wg sync.WaitGroup
	for wi := 0; wi < nw; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bi := range jobs {
				b := batches[bi]
				res := &results[bi]
				index := make([]int, len(b.Index))
				for j, p := range b.Index {
					index[j] = idx[p]
				}
				x := tensor.FromData(b.X, len(b.Labels), c, h, wd)
				rec, err := r.chains[wi].Run(x, b.Labels)
				if err == nil {
					res.maps, err = explain.Compute(r.models[wi], rec, cfg.Chain.Embedding, x, b.Labels, index, cfg.Tap)
				}
				if err == nil && faith {
					res.faith, err = faithBatch(r.models[wi], res.maps, norm, cfg)
				}
				res.err = err
				bar.Add(int64(len(b.Labels)), "")
			}
		}()
	}
	loader := data.NewLoader(sub, r.tf, cfg.Batch, false, 0, false)
	bi := 0
	for b := range loader.Epoch(0) {
		if ctx.Err() != nil {
			break
		}
		batches[bi] = &data.Batch{X: append([]float32(nil), b.X...), Labels: append([]int(nil), b.Labels...), Index: append([]int(nil), b.Index...)}
		loader.Release(b)
		jobs <- bi
		bi++
	}
	close(jobs)
	wg.Wait()
	loader.Close()
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s interrupted (nothing written): %w", label, err)
	}
	var all *explain.Maps
	var faiths []explain.FaithSample
	for i, res := range results {
		if res.err != nil {
			return nil, nil, fmt.Errorf("%s batch %d (samples %v…): %w", label, i, idx[i*cfg.Batch], res.err)
		}
		faiths = append(faiths, res.faith...)
		if all == nil {
			all = res.maps
		} else if err := all.Append(res.maps); err != nil {
			return nil, nil, err
		}
	}
	bar.Finish(fmt.Sprintf("%d samples", len(idx)))
	return all, faiths, nil
}

// faithBatch runs the faithfulness curves on one batch of maps: baseline = the dataset
// mean, which the dataset's normalisation maps to 0; object pixels are those whose raw
// value (the input un-normalised) exceeds 0.5.
func faithBatch(m models.Model[float32], mp *explain.Maps, norm data.Normalize, cfg ExplainConfig) ([]explain.FaithSample, error) {
	maps, err := explain.FaithMaps(m, mp, cfg.Seed)
	if err != nil {
		return nil, err
	}
	raw := rawImages(mp, norm)
	return explain.Faithfulness(m, mp, maps, raw, explain.FaithOptions{Steps: cfg.FaithSteps, Baseline: make([]float32, mp.C), Seed: cfg.Seed, ObjectThreshold: 0.5})
}

// rawImages un-normalises the inputs back to [0, 1] pixels.
func rawImages(mp *explain.Maps, norm data.Normalize) []float32 {
	hw := mp.H * mp.W
	raw := make([]float32, len(mp.Input))
	for i := 0; i < mp.N(); i++ {
		for ch := 0; ch < mp.C; ch++ {
			o := (i*mp.C + ch) * hw
			for p := range hw {
				raw[o+p] = mp.Input[o+p]*norm.Std[ch] + norm.Mean[ch]
			}
		}
	}
	return raw
}

// summary builds explain.json's content for the maps.
func (r *explainRun) summary(mp *explain.Maps, scanned int) *ExplainSummary {
	cfg := r.cfg
	s := &ExplainSummary{Model: cfg.Model, Dataset: cfg.Dataset, Split: cfg.Split, Weights: filepath.Base(cfg.Weights), WeightsSHA256: r.sha,
		Tap: cfg.Tap, TapShape: mp.TapShape, Grid: mp.Grid.String(), Embedding: string(cfg.Chain.Embedding), ConvMethod: string(cfg.Chain.ConvMethod),
		Samples: cfg.Samples.String(), Limit: cfg.Limit, ClassNames: r.ds.ClassNames(), N: mp.N(), Scanned: scanned}
	if cfg.Class >= 0 {
		c := cfg.Class
		s.Class = &c
	}
	for i := 0; i < mp.N(); i++ {
		k := mp.K
		rec := ExplainRecord{Index: mp.Index[i], Label: mp.Label[i], Pred: mp.Pred[i], Correct: mp.Label[i] == mp.Pred[i],
			Logits: mp.Logits[i*k : (i+1)*k], Targets: mp.Targets[i*k : (i+1)*k], Stats: mp.Stats[i], Panel: panelName(cfg.Split, mp.Index[i])}
		rec.PLabel = softmaxAt(rec.Logits, rec.Label)
		if !rec.Correct {
			s.Misclassified++
		}
		s.Records = append(s.Records, rec)
	}
	return s
}

func panelName(split string, index int) string {
	return fmt.Sprintf("panels/%s-%06d.png", split, index)
}

package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// PostTrainConfig is one FR-PT post-training run (spec §1.3, §6).
type PostTrainConfig struct {
	Model   string  `json:"model"`
	Dataset string  `json:"dataset"`
	DataDir string  `json:"-"`
	Weights string  `json:"weights"`
	Tap     string  `json:"tap"`   // l_R: out, zK, …, z1; "all" in hierarchical mode
	CRec    float64 `json:"c_rec"` // reconstruction/CE ratio; 0 = the matched baseline
	Seed    uint64  `json:"seed"`
	Epochs  int     `json:"epochs"`
	Batch   int     `json:"batch"`
	LR      float64 `json:"lr"`
	WD      float64 `json:"weight_decay"`
	// Mode "coupled" (the paper: CE through the frozen head + w·MSE), "decoupled" (the
	// front is trained with the MSE to the reconstructed target only) or "hierarchical"
	// (tap "all": every segment between two taps trained on its own, concurrently;
	// hierarchical.go).
	Mode string `json:"mode"`
	// Keep makes the run hold the weights of one epoch for saving (KeepBest, KeepLast;
	// "" none); the grid writes them (GridConfig.Save, posttrain_save.go).
	Keep string `json:"-"`
}

// DefaultPostTrain returns the paper's post-training settings: AdamW lr 5e-5, weight
// decay 0.05, batch 256, 10 epochs, coupled loss.
func DefaultPostTrain() PostTrainConfig {
	return PostTrainConfig{Epochs: 10, Batch: 256, LR: 5e-5, WD: 0.05, Mode: "coupled"}
}

// RunResult is one finished post-training run (one line of the grid's results file).
type RunResult struct {
	PostTrainConfig
	TestAcc    []float64 `json:"test_acc"` // after each epoch
	Best       float64   `json:"best"`
	Mean       float64   `json:"mean"`
	EpochSecs  []float64 `json:"epoch_seconds"` // training only
	EvalSecs   []float64 `json:"eval_seconds"`  // test evaluation after each epoch
	MeanWeight float64   `json:"mean_weight"`   // average adaptive MSE weight w_t
	// TrainCE and TrainMSE are the mean training cross-entropy and tap MSE of each epoch's
	// batches (0 where not computed: CE in decoupled mode, MSE at c_rec = 0).
	TrainCE  []float64 `json:"train_ce,omitempty"`
	TrainMSE []float64 `json:"train_mse,omitempty"`
	// Hierarchical mode only: the segments ("in->z1", …, "zK->out"), and per epoch each
	// segment's mean training MSE to its target and its own training seconds (they run
	// concurrently, so EpochSecs is about their maximum, not their sum).
	Segments    []string    `json:"segments,omitempty"`
	SegmentMSE  [][]float64 `json:"segment_mse,omitempty"`
	SegmentSecs [][]float64 `json:"segment_seconds,omitempty"`
	// WeightsSHA256 is the SHA-256 of the pretrained weights, whose path (Weights) is
	// recorded relative to the results file's folder; files written before these were
	// recorded hold the path as given on the command line and no hash.
	WeightsSHA256 string `json:"weights_sha256,omitempty"`
	// TestLimit is the grid's GridConfig.TestLimit (0: the whole test split).
	TestLimit int `json:"test_limit,omitempty"`
	// PrecomputeSecs is the one-off pass of the frozen pretrained front that computes
	// the segments' inputs (hierarchical mode; not in EpochSecs).
	PrecomputeSecs float64 `json:"precompute_seconds,omitempty"`
	// Saved is the post-trained weights file the grid wrote (GridConfig.Save: the epoch
	// SavedEpoch, the best or the last), recorded like Weights relative to the results
	// file's folder, with its SHA-256; SavedONNX is the .onnx copy beside it (ONNX models).
	Saved           string `json:"saved,omitempty"`
	SavedSHA256     string `json:"saved_sha256,omitempty"`
	SavedONNX       string `json:"saved_onnx,omitempty"`
	SavedONNXSHA256 string `json:"saved_onnx_sha256,omitempty"`
	SavedEpoch      int    `json:"saved_epoch,omitempty"`

	kept *keptWeights // the weights to save (cfg.Keep), until the grid has written them
}

// Key identifies a run in a grid.
func (r PostTrainConfig) Key() string {
	return fmt.Sprintf("%s/%s/%s/c%g/s%d", r.Model, r.Mode, r.Tap, r.CRec, r.Seed)
}

// emaWeight is the adaptive weight of spec §1.3: EMAs (β 0.9, seeded with the first
// batch) of CE and MSE, w = clip(c·C̄/(R̄ + 1e-8), 1e-5, 10); w = 0 when c = 0.
type emaWeight struct {
	c, ce, mse float64
	started    bool
}

func (e *emaWeight) update(ce, mse float64) float64 {
	if e.c == 0 {
		return 0
	}
	if !e.started {
		e.ce, e.mse, e.started = ce, mse, true
	} else {
		e.ce = 0.9*e.ce + 0.1*ce
		e.mse = 0.9*e.mse + 0.1*mse
	}
	return min(max(e.c*e.ce/(e.mse+1e-8), 1e-5), 10)
}

// PostTrain runs one post-training job on a loaded cache and test split.
func PostTrain(ctx context.Context, cfg PostTrainConfig, set *CachedSet, test data.Dataset, w io.Writer) (*RunResult, error) {
	if cfg.Keep != "" && cfg.Keep != KeepBest && cfg.Keep != KeepLast {
		return nil, fmt.Errorf("post-training %s: keep %q: want %q, %q or none", cfg.Key(), cfg.Keep, KeepBest, KeepLast)
	}
	if cfg.Mode == "hierarchical" {
		return postTrainHierarchical(ctx, cfg, set, test, w)
	}
	if cfg.Mode != "coupled" && cfg.Mode != "decoupled" {
		return nil, fmt.Errorf("post-train mode %q: want coupled, decoupled or hierarchical", cfg.Mode)
	}
	if cfg.Mode == "decoupled" && (cfg.CRec == 0 || cfg.Tap == "out") {
		return nil, fmt.Errorf("decoupled mode needs a hidden tap and c_rec > 0 (got tap %s, c_rec %g)", cfg.Tap, cfg.CRec)
	}
	m, err := loadModel(cfg.Model, cfg.Dataset, cfg.Seed, cfg.Weights)
	if err != nil {
		return nil, err
	}
	split, err := m.SplitIndex(cfg.Tap)
	if err != nil {
		return nil, err
	}
	models.FreezeFrom(m, split)
	opt := nn.NewAdamW(nn.Group[float32]{Params: m.Params(), LR: cfg.LR, WeightDecay: cfg.WD})
	res := &RunResult{PostTrainConfig: cfg}
	keep := weightKeeper{mode: cfg.Keep}
	ema := emaWeight{c: cfg.CRec}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xf7f7))
	target, shape := set.Targets[cfg.Tap], set.Shapes[cfg.Tap]
	if cfg.CRec > 0 && target == nil {
		return nil, fmt.Errorf("post-training %s: the loaded cache has no target for tap %s", cfg.Key(), cfg.Tap)
	}
	tgtSize := prod(shape)
	order := make([]int, set.N)
	for i := range order {
		order[i] = i
	}
	x := tensor.New[float32](append([]int{cfg.Batch}, set.Input...)...)
	labels := make([]int, cfg.Batch)
	var dlogits, dmse *tensor.T[float32]
	var wSum float64
	var steps int
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		nn.SetTraining[float32](m, true)
		var ceSum, mseSum float64
		batches := 0
		for b := 0; b < set.N; b += cfg.Batch {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("post-training %s interrupted: %w", cfg.Key(), err)
			}
			n := min(cfg.Batch, set.N-b)
			idx := order[b : b+n]
			xb := set.batch(idx, x.Data, labels)
			// Decoupled mode on a model that can stop at the tap: run only the front and
			// backpropagate the MSE alone (no forward or gradient through the frozen head).
			var ce float64
			var feat *tensor.T[float32]
			if fm, ok := m.(models.Fronted[float32]); ok && cfg.Mode == "decoupled" {
				if feat, err = fm.ForwardTo(xb, cfg.Tap); err != nil {
					return nil, err
				}
			} else {
				logits := m.Forward(xb)
				ce, dlogits = nn.CrossEntropyInto(dlogits, logits, labels[:n], 0)
				feat = m.Taps()[cfg.Tap]
			}
			tapGrads := map[string]*tensor.T[float32]{}
			if cfg.CRec > 0 {
				if feat.Numel() != n*tgtSize {
					return nil, fmt.Errorf("post-training %s: tap %s feature %v does not match the cached target %v per sample", cfg.Key(), cfg.Tap, feat.Shape, shape)
				}
				// The target rows are read in place from the cache (no batch copy), once:
				// the pass that sums the squared differences keeps them for the gradient.
				var mse float64
				mse, dmse = nn.MSEDiffRowsInto(dmse, feat, target, idx)
				wt := ema.update(ce, mse)
				if cfg.Mode == "decoupled" {
					wt = 1
				}
				wSum += wt
				mseSum += mse
				dmse = nn.MSEGradFromDiff(dmse, wt)
				tapGrads[cfg.Tap] = dmse
			}
			dOut := dlogits
			if cfg.Mode == "decoupled" {
				if _, ok := m.(models.Fronted[float32]); ok {
					dOut = nil
				} else {
					dlogits.Zero() // full forward, but only the MSE drives the front
				}
			}
			opt.ZeroGrad()
			m.BackwardTaps(dOut, tapGrads)
			opt.Step()
			steps++
			batches++
			ceSum += ce
		}
		res.TrainCE = append(res.TrainCE, ceSum/float64(max(batches, 1)))
		res.TrainMSE = append(res.TrainMSE, mseSum/float64(max(batches, 1)))
		secs := time.Since(start).Seconds()
		te := time.Now()
		// Evaluate in batches of the training size: a larger batch would grow every
		// layer's saved activations (kept for the next training step) past what
		// training needs; with batch 1000 a SimpleViT held about 5 GB instead of 1.3.
		ev, err := evaluate(ctx, m, test, data.TestTransform(cfg.Dataset), cfg.Batch, nil)
		if err != nil {
			return nil, err
		}
		res.EvalSecs = append(res.EvalSecs, time.Since(te).Seconds())
		res.TestAcc = append(res.TestAcc, ev.Accuracy)
		res.EpochSecs = append(res.EpochSecs, secs)
		keep.epochDone(m, epoch, ev.Accuracy)
		if w != nil {
			fmt.Fprintf(w, "%s epoch %d: test %.2f%% (%.1f s)\n", cfg.Key(), epoch, 100*ev.Accuracy, secs)
		}
	}
	res.kept = keep.kept(m)
	res.Best, res.Mean = bestAndMean(res.TestAcc)
	if steps > 0 {
		res.MeanWeight = wSum / float64(steps)
	}
	return res, nil
}

// bestAndMean returns the best and the mean of the per-epoch test accuracies (−Inf and 0
// for no epochs).
func bestAndMean(acc []float64) (best, mean float64) {
	best = math.Inf(-1)
	for _, a := range acc {
		best = max(best, a)
		mean += a / float64(len(acc))
	}
	return best, mean
}

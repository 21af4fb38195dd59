package pipeline

// Hierarchical post-training (beyond the paper, whose §1.4 trains at one tap per run):
// the model is cut at every tap into segments (SimpleCNN in→z1, z1→z2, …, z_K→out;
// ResNet in→z0, one per stage, z4→z5, z5→out; SimpleViT in→z0, one per block, the class
// token, the head; segments without parameters are only run), and each segment is
// trained on its own, concurrently with the others, on its own (input, target) pairs:
//
//   - input: the feature at the segment's start tap computed by the frozen *pretrained*
//     front (the cached input image for the first segment). Each segment keeps its own
//     copy of the pretrained model, so no segment ever sees another's weights. The front
//     is frozen and the cached pass fixed, so its features are computed once per run
//     (PrecomputeSecs, before epoch 1), deepest start tap first, while they fit in
//     HierarchicalPrecomputeBytes; a segment whose inputs do not fit (z1 of CIFAR-10 v2
//     alone is 1.6 GB) runs its front once per batch instead. Both compute the same
//     features (TestHierarchicalDeterministic compares the training losses).
//   - target: the reconstructed feature at the segment's end tap, from the cache.
//   - loss: MSE to the target for the hidden segments (weight 1, as in the decoupled
//     mode); for the last segment z_K→out, CE + w·MSE to the cached output target with
//     the paper's adaptive weight w (§1.3) scaled by c_rec, so c_rec = 0 trains the head
//     segment with CE only while the hidden segments still follow their targets.
//   - one AdamW per segment (lr and weight decay of the run), the segments' gradients
//     never cross a tap, and each segment runs in its own goroutine with single-threaded
//     kernels (tensor.Workers = 1 while they run), like one reconstruction chain per core.
//
// All segments visit the samples in the order of the coupled run of the same seed. After
// every epoch the trained segments are stitched into one model and scored on the test
// split. Results carry tap "all" (HierarchicalTap), so `frpt report` groups them as their
// own setting; their c_rec = 0 row is the hierarchical run with a CE-only head segment.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// HierarchicalTap is the tap of hierarchical runs in PostTrainConfig and results: every
// tap is a cut point.
const HierarchicalTap = "all"

// HierarchicalPrecomputeBytes is the memory a hierarchical run may spend on segment
// inputs computed once by the frozen pretrained front (float32, deepest start tap
// first); segments beyond it run their front every batch. 0 never precomputes.
var HierarchicalPrecomputeBytes int64 = 1 << 30

// hierSegment is one segment with its own model copy, optimiser and batch buffers.
type hierSegment struct {
	from, to string
	// m is the segment's own copy of the pretrained model: the layers in front of from
	// stay pretrained and frozen (they compute the segment's input), the segment's layers
	// are trained, the layers after to are never run.
	m       models.Segmented[float32]
	params  []nn.Named[float32]
	opt     *nn.AdamW[float32]
	last    bool // ends at out: CE + w·MSE
	ema     emaWeight
	target  []float32
	tgtSize int

	// Precomputed inputs at from (when precompute is set and hierTrainer.precompute
	// ran), featShape per sample.
	precompute bool
	feats      []float32
	featShape  []int

	x, xf, tgt, dmse, dlogits *tensor.T[float32]
	labels                    []int

	// Statistics of the current epoch, and w summed over the run (last segment).
	mseSum, secs float64
	batches      int
	wSum         float64
	steps        int
}

// name is "from->to".
func (s *hierSegment) name() string { return s.from + "->" + s.to }

// hierTrainer trains the segments of one hierarchical run.
type hierTrainer struct {
	cfg      PostTrainConfig
	set      *CachedSet
	segs     []*hierSegment
	stitched models.Model[float32] // the pretrained model, overwritten by stitch
	inSize   int
}

// segmentedModel builds cfg.Model with the pretrained weights, or explains why the model
// cannot be trained hierarchically.
func segmentedModel(cfg PostTrainConfig, weights []nn.Named[float32]) (models.Segmented[float32], error) {
	m, err := models.New[float32](cfg.Model, cfg.Dataset, cfg.Seed)
	if err != nil {
		return nil, err
	}
	sm, ok := m.(models.Segmented[float32])
	if !ok {
		return nil, fmt.Errorf("hierarchical mode needs a model that can be cut at its taps (SimpleCNN, ResNet, SimpleViT); %s cannot", cfg.Model)
	}
	if weights != nil {
		if err := copyParams(sm.Params(), weights); err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Model, err)
		}
	}
	return sm, nil
}

// copyParams copies values by name from src into dst (every dst name must be in src).
func copyParams(dst, src []nn.Named[float32]) error {
	byName := make(map[string]*nn.Param[float32], len(src))
	for _, p := range src {
		byName[p.Name] = p.P
	}
	for _, p := range dst {
		s, ok := byName[p.Name]
		if !ok || len(s.Value.Data) != len(p.P.Value.Data) {
			return fmt.Errorf("no matching parameter %q to copy", p.Name)
		}
		copy(p.P.Value.Data, s.Value.Data)
	}
	return nil
}

// newHierTrainer loads the pretrained weights and builds one segment per pair of
// consecutive cut points.
func newHierTrainer(cfg PostTrainConfig, set *CachedSet) (*hierTrainer, error) {
	if cfg.Tap != HierarchicalTap {
		return nil, fmt.Errorf("hierarchical mode trains between every pair of taps: want tap %q, got %q", HierarchicalTap, cfg.Tap)
	}
	if cfg.Batch <= 0 || cfg.Epochs < 0 || cfg.CRec < 0 {
		return nil, fmt.Errorf("post-training %s: batch %d, epochs %d, c_rec %g", cfg.Key(), cfg.Batch, cfg.Epochs, cfg.CRec)
	}
	base, err := segmentedModel(cfg, nil)
	if err != nil {
		return nil, err
	}
	if err := loadWeights(base, cfg.Weights); err != nil {
		return nil, fmt.Errorf("post-training %s: %w", cfg.Key(), err)
	}
	h := &hierTrainer{cfg: cfg, set: set, stitched: base, inSize: prod(set.Input)}
	bounds := base.SegmentBounds()
	for i := 0; i+1 < len(bounds); i++ {
		from, to := bounds[i], bounds[i+1]
		target := set.Targets[to]
		if target == nil {
			return nil, fmt.Errorf("post-training %s: the loaded cache has no target for tap %s (hierarchical runs need every tap)", cfg.Key(), to)
		}
		m, err := segmentedModel(cfg, base.Params())
		if err != nil {
			return nil, err
		}
		params, err := m.SegmentParams(from, to)
		if err != nil {
			return nil, err
		}
		nn.SetFrozen(m.Params(), true)
		nn.SetFrozen(params, false)
		s := &hierSegment{from: from, to: to, m: m, params: params, last: to == "out",
			target: target, tgtSize: prod(set.Shapes[to]), labels: make([]int, cfg.Batch),
			x: tensor.New[float32](append([]int{cfg.Batch}, set.Input...)...)}
		if len(params) > 0 {
			s.opt = nn.NewAdamW(nn.Group[float32]{Params: params, LR: cfg.LR, WeightDecay: cfg.WD})
		}
		if s.last {
			s.ema = emaWeight{c: cfg.CRec}
		}
		if from != "in" {
			s.featShape = set.Shapes[from]
		}
		s.tgt = tensor.New[float32](cfg.Batch * s.tgtSize)
		h.segs = append(h.segs, s)
	}
	var budget int64
	for i := len(h.segs) - 1; i > 0; i-- { // deepest (smallest, dearest to recompute) first
		s := h.segs[i]
		need := int64(set.N) * int64(prod(s.featShape)) * 4
		if s.featShape != nil && budget+need <= HierarchicalPrecomputeBytes {
			s.precompute, budget = true, budget+need
		}
	}
	return h, nil
}

// input returns the segment's input for the samples idx: the images, the precomputed
// front features, or the frozen pretrained front run now.
func (s *hierSegment) input(set *CachedSet, idx []int) (*tensor.T[float32], error) {
	xb := set.batch(idx, s.x.Data, s.labels)
	if s.from == "in" {
		return xb, nil
	}
	if s.feats == nil {
		f, err := s.m.ForwardTo(xb, s.from)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", s.name(), err)
		}
		return f, nil
	}
	s.xf = tensor.Ensure(s.xf, append([]int{len(idx)}, s.featShape...)...)
	gatherRows(s.xf.Data, s.feats, prod(s.featShape), idx)
	return s.xf, nil
}

// precompute runs the frozen pretrained model once over the cached pass, batches spread
// over the cores (one model copy each, single-threaded), and keeps the features at the
// start taps of the segments marked for it. It returns the seconds it took.
func (h *hierTrainer) precompute(ctx context.Context) (float64, error) {
	var segs []*hierSegment
	for _, s := range h.segs {
		if s.precompute {
			s.feats = make([]float32, h.set.N*prod(s.featShape))
			segs = append(segs, s)
		}
	}
	if len(segs) == 0 {
		return 0, nil
	}
	t0 := time.Now()
	nw := max(tensor.Workers, 1)
	defer singleThreaded()()
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = h.precomputeBatches(ctx, segs, w, nw)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			for _, s := range segs {
				s.feats = nil
			}
			return 0, fmt.Errorf("post-training %s: precompute the segment inputs: %w", h.cfg.Key(), err)
		}
	}
	return time.Since(t0).Seconds(), nil
}

// precomputeBatches is one precompute worker: batches w, w+nw, … of the cached pass.
func (h *hierTrainer) precomputeBatches(ctx context.Context, segs []*hierSegment, w, nw int) error {
	m, err := segmentedModel(h.cfg, h.stitched.Params()) // still the pretrained weights
	if err != nil {
		return err
	}
	nn.SetTraining[float32](m, true) // as the segments' fronts run
	set, batch := h.set, h.cfg.Batch
	x := make([]float32, batch*h.inSize)
	for b := w * batch; b < set.N; b += nw * batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(batch, set.N-b)
		copy(x, set.Inputs[b*h.inSize:(b+n)*h.inSize])
		m.Forward(tensor.FromData(x[:n*h.inSize], append([]int{n}, set.Input...)...))
		taps := m.Taps()
		for _, s := range segs {
			fs := prod(s.featShape)
			f := taps[s.from]
			if f == nil || f.Numel() != n*fs {
				return fmt.Errorf("tap %s of the pretrained model does not match the cache's shape %v", s.from, s.featShape)
			}
			copy(s.feats[b*fs:(b+n)*fs], f.Data)
		}
	}
	return nil
}

// concurrently runs f on every segment, each in its own goroutine with single-threaded
// kernels, and returns the first error.
func (h *hierTrainer) concurrently(f func(s *hierSegment) error) error {
	defer singleThreaded()()
	errs := make([]error, len(h.segs))
	var wg sync.WaitGroup
	for i, s := range h.segs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f(s)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("post-training %s: %w", h.cfg.Key(), err)
		}
	}
	return nil
}

// step trains segment s on the samples idx; it returns the loss and the MSE to the
// target before the update.
func (s *hierSegment) step(set *CachedSet, idx []int) (loss, mse float64, err error) {
	n := len(idx)
	feat, err := s.input(set, idx)
	if err != nil {
		return 0, 0, err
	}
	out, err := s.m.ForwardSegment(feat, s.from, s.to)
	if err != nil {
		return 0, 0, fmt.Errorf("segment %s: %w", s.name(), err)
	}
	tb := &tensor.T[float32]{Shape: out.Shape, Data: s.tgt.Data[:n*s.tgtSize]}
	if out.Numel() != tb.Numel() {
		return 0, 0, fmt.Errorf("segment %s: output %v does not match the cached target of %d values per sample", s.name(), out.Shape, s.tgtSize)
	}
	gatherRows(tb.Data, s.target, s.tgtSize, idx)
	mse, s.dmse = nn.MSEInto(s.dmse, out, tb)
	g, loss := s.dmse, mse
	if s.last {
		var ce float64
		ce, s.dlogits = nn.CrossEntropyInto(s.dlogits, out, s.labels[:n], 0)
		w := s.ema.update(ce, mse)
		s.wSum += w
		for i, d := range s.dmse.Data {
			s.dlogits.Data[i] += float32(w) * d
		}
		g, loss = s.dlogits, ce+w*mse
	}
	if s.opt != nil {
		s.opt.ZeroGrad()
		s.m.BackwardSegment(g, false)
		s.opt.Step()
	}
	s.steps++
	return loss, mse, nil
}

// epoch trains segment s over one pass in the given sample order.
func (s *hierSegment) epoch(ctx context.Context, set *CachedSet, order []int, batch int) error {
	t0 := time.Now()
	s.mseSum, s.batches = 0, 0
	nn.SetTraining[float32](s.m, true)
	for b := 0; b < len(order); b += batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("segment %s interrupted: %w", s.name(), err)
		}
		_, mse, err := s.step(set, order[b:min(b+batch, len(order))])
		if err != nil {
			return err
		}
		s.mseSum += mse
		s.batches++
	}
	s.secs = time.Since(t0).Seconds()
	return nil
}

// trainEpoch trains every segment over one pass, each in its own goroutine with
// single-threaded kernels.
func (h *hierTrainer) trainEpoch(ctx context.Context, order []int) error {
	return h.concurrently(func(s *hierSegment) error {
		return s.epoch(ctx, h.set, order, h.cfg.Batch)
	})
}

// singleThreaded sets tensor.Workers to 1 (when it is not already) and returns the
// function that restores it. In a grid with several workers it is already 1, so
// concurrent runs never write it.
func singleThreaded() func() {
	old := tensor.Workers
	if old <= 1 {
		return func() {}
	}
	tensor.Workers = 1
	return func() { tensor.Workers = old }
}

// stitch copies every segment's trained layers into one model and returns it.
func (h *hierTrainer) stitch() (models.Model[float32], error) {
	for _, s := range h.segs {
		var dst []nn.Named[float32]
		own := map[string]bool{}
		for _, p := range s.params {
			own[p.Name] = true
		}
		for _, p := range h.stitched.Params() {
			if own[p.Name] {
				dst = append(dst, p)
			}
		}
		if len(dst) != len(s.params) {
			return nil, fmt.Errorf("stitch segment %s: %d of its %d parameters found in %s", s.name(), len(dst), len(s.params), h.cfg.Model)
		}
		if err := copyParams(dst, s.params); err != nil {
			return nil, fmt.Errorf("stitch segment %s: %w", s.name(), err)
		}
	}
	return h.stitched, nil
}

// postTrainHierarchical runs one hierarchical post-training job (see the file comment).
func postTrainHierarchical(ctx context.Context, cfg PostTrainConfig, set *CachedSet, test data.Dataset, w io.Writer) (*RunResult, error) {
	if cfg.Epochs < 1 {
		return nil, fmt.Errorf("post-training %s: %d epochs", cfg.Key(), cfg.Epochs)
	}
	h, err := newHierTrainer(cfg, set)
	if err != nil {
		return nil, err
	}
	res := &RunResult{PostTrainConfig: cfg}
	keep := weightKeeper{mode: cfg.Keep} // of the stitched model, the one tested
	for _, s := range h.segs {
		res.Segments = append(res.Segments, s.name())
	}
	if res.PrecomputeSecs, err = h.precompute(ctx); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xf7f7)) // the coupled runs' sample order
	order := make([]int, set.N)
	for i := range order {
		order[i] = i
	}
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		start := time.Now()
		if err := h.trainEpoch(ctx, order); err != nil {
			return nil, err
		}
		secs := time.Since(start).Seconds()
		mses, segSecs := make([]float64, len(h.segs)), make([]float64, len(h.segs))
		for i, s := range h.segs {
			mses[i], segSecs[i] = s.mseSum/float64(max(s.batches, 1)), s.secs
		}
		m, err := h.stitch()
		if err != nil {
			return nil, err
		}
		te := time.Now()
		ev, err := evaluate(ctx, m, test, data.TestTransform(cfg.Dataset), 1000, nil)
		if err != nil {
			return nil, fmt.Errorf("post-training %s: %w", cfg.Key(), err)
		}
		res.EvalSecs = append(res.EvalSecs, time.Since(te).Seconds())
		res.TestAcc = append(res.TestAcc, ev.Accuracy)
		res.EpochSecs = append(res.EpochSecs, secs)
		res.SegmentMSE = append(res.SegmentMSE, mses)
		res.SegmentSecs = append(res.SegmentSecs, segSecs)
		keep.epochDone(m, epoch, ev.Accuracy)
		if w != nil {
			parts := make([]string, len(h.segs))
			for i, s := range h.segs {
				parts[i] = fmt.Sprintf("%s mse %.4g (%.1f s)", s.name(), mses[i], segSecs[i])
			}
			fmt.Fprintf(w, "%s epoch %d: test %.2f%% (%.1f s; %s)\n", cfg.Key(), epoch, 100*ev.Accuracy, secs, strings.Join(parts, ", "))
		}
	}
	res.kept = keep.kept(h.stitched)
	res.Best, res.Mean = bestAndMean(res.TestAcc)
	if last := h.segs[len(h.segs)-1]; last.steps > 0 {
		res.MeanWeight = last.wSum / float64(last.steps)
	}
	return res, nil
}

// gridTaps lists the cache taps a grid's runs need: every tap of the cache when one of
// taps is HierarchicalTap, else taps.
func gridTaps(c *Cache, taps []string) []string {
	out := make([]string, 0, len(taps))
	for _, t := range taps {
		if t == HierarchicalTap {
			out = out[:0]
			for _, ct := range c.Manifest.Taps {
				out = append(out, ct.Name)
			}
			return out
		}
		out = append(out, t)
	}
	return out
}

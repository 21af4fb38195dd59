package pipeline

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// memDataset is a small in-memory MNIST-shaped dataset (pixels in [0, 1]).
type memDataset struct {
	pix    [][]float32
	labels []int
}

func (d *memDataset) Len() int                     { return len(d.labels) }
func (d *memDataset) Get(i int, dst []float32) int { copy(dst, d.pix[i]); return d.labels[i] }
func (d *memDataset) Shape() (int, int, int)       { return 1, 28, 28 }
func (d *memDataset) Classes() int                 { return 10 }
func (d *memDataset) ClassNames() []string         { return nil }

// synthImages returns n random MNIST-sized images, their normalised copies and the labels
// a teacher SimpleCNN (seed 4) gives them, with the teacher's features at every tap.
func synthImages(t *testing.T, n int, seed uint64) (pix [][]float32, inputs []float32, labels []int, feats map[string][]float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	teacher, err := models.New[float32]("simplecnn-v2", "mnist", 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		p := make([]float32, 28*28)
		for j := range p {
			p[j] = rng.Float32()
			inputs = append(inputs, (p[j]-0.1307)/0.3081)
		}
		pix = append(pix, p)
	}
	logits := teacher.Forward(tensor.FromData(inputs, n, 1, 28, 28))
	feats = map[string][]float32{}
	for name, f := range teacher.Taps() {
		feats[name] = append([]float32(nil), f.Data...)
	}
	for i := 0; i < n; i++ {
		row := logits.Data[i*10 : (i+1)*10]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		labels = append(labels, best)
	}
	return pix, inputs, labels, feats
}

// synthSet is a cached set of n samples whose targets are a teacher's features, for a
// SimpleCNN v2 (MNIST) whose pretrained weights (seed 3) are saved in a temporary folder.
func synthSet(t *testing.T, n int) (*CachedSet, PostTrainConfig) {
	t.Helper()
	_, inputs, labels, feats := synthImages(t, n, 7)
	set := &CachedSet{Inputs: inputs, Labels: labels, Input: []int{1, 28, 28}, N: n,
		Targets: feats, Shapes: map[string][]int{"z1": {3, 24, 24}, "z2": {3, 8, 8}, "out": {10}}}
	cfg := DefaultPostTrain()
	cfg.Model, cfg.Dataset, cfg.Weights = "simplecnn-v2", "mnist", savedModel(t, t.TempDir())
	cfg.Tap, cfg.Mode, cfg.CRec, cfg.Batch, cfg.LR, cfg.Epochs = HierarchicalTap, "hierarchical", 0.3, 32, 3e-3, 2
	return set, cfg
}

func first(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// snapshot copies the values of every parameter of m.
func snapshot(m models.Model[float32]) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Params() {
		out[p.Name] = append([]float32(nil), p.P.Value.Data...)
	}
	return out
}

// TestHierarchicalSegmentMSEDecreases trains each segment alone on one batch: its MSE to
// its own target (CE + w·MSE for the last segment) must fall at every step.
func TestHierarchicalSegmentMSEDecreases(t *testing.T) {
	set, cfg := synthSet(t, 64)
	h, err := newHierTrainer(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(h.segs); got != 3 {
		t.Fatalf("%d segments, want in->z1, z1->z2, z2->out", got)
	}
	for _, s := range h.segs {
		prev := 0.0
		for k := 0; k < 6; k++ {
			_, mse, err := s.step(set, first(32))
			if err != nil {
				t.Fatal(err)
			}
			if k > 0 && !(mse < prev) {
				t.Fatalf("segment %s step %d: MSE %g did not fall below %g", s.name(), k, mse, prev)
			}
			prev = mse
		}
	}
}

// TestHierarchicalSegmentsIndependent checks that training one segment changes its own
// layers only: the other segments' copies (and its own frozen front and head) keep their
// values, and no gradient reaches a parameter outside the segment. The segments read
// precomputed inputs here (TestHierarchicalSegmentMSEDecreases runs the front per batch).
func TestHierarchicalSegmentsIndependent(t *testing.T) {
	set, cfg := synthSet(t, 64)
	h, err := newHierTrainer(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.precompute(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.segs[0].feats != nil || h.segs[1].feats == nil || h.segs[2].feats == nil {
		t.Fatal("want precomputed inputs for z1->z2 and z2->out only")
	}
	for k, s := range h.segs {
		before := make([]map[string][]float32, len(h.segs))
		for i, o := range h.segs {
			before[i] = snapshot(o.m)
		}
		if _, _, err := s.step(set, first(32)); err != nil {
			t.Fatal(err)
		}
		own := map[string]bool{}
		for _, p := range s.params {
			own[p.Name] = true
		}
		for i, o := range h.segs {
			for _, p := range o.m.Params() {
				changed := !reflect.DeepEqual(before[i][p.Name], p.P.Value.Data)
				if want := i == k && own[p.Name]; changed != want {
					t.Errorf("training segment %s: %s of segment %s changed %v, want %v", s.name(), p.Name, o.name(), changed, want)
				}
				if i == k && !own[p.Name] {
					for _, g := range p.P.Grad.Data {
						if g != 0 {
							t.Errorf("training segment %s: gradient leaked into %s", s.name(), p.Name)
							break
						}
					}
				}
			}
		}
	}
	// Stitching takes each layer from the segment that owns it.
	m, err := h.stitch()
	if err != nil {
		t.Fatal(err)
	}
	got := snapshot(m)
	for _, s := range h.segs {
		for _, p := range s.params {
			if !reflect.DeepEqual(got[p.Name], p.P.Value.Data) {
				t.Errorf("stitched %s differs from segment %s", p.Name, s.name())
			}
		}
	}
}

// TestHierarchicalStitchComposes checks that the stitched model's forward equals the
// segments' forwards chained, and that chaining BackwardSegment gives Backward's
// parameter gradients.
func TestHierarchicalStitchComposes(t *testing.T) {
	set, cfg := synthSet(t, 64)
	h, err := newHierTrainer(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.trainEpoch(context.Background(), first(64)); err != nil {
		t.Fatal(err)
	}
	m, err := h.stitch()
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.FromData(set.Inputs[:16*784], 16, 1, 28, 28)
	want := m.Forward(x).Clone()
	f := x
	for _, s := range h.segs {
		if f, err = s.m.ForwardSegment(f, s.from, s.to); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(f.Shape, want.Shape) || !reflect.DeepEqual(f.Data, want.Data) {
		t.Fatalf("chained segments %v differ from the stitched forward %v", f.Data[:10], want.Data[:10])
	}

	// Backward: one copy per segment (same weights, all trainable), chained with input
	// gradients, against Backward of one model.
	full, err := segmentedModel(cfg, m.Params())
	if err != nil {
		t.Fatal(err)
	}
	nn.SetFrozen(full.Params(), false)
	_, dlogits := nn.CrossEntropy(full.Forward(x), set.Labels[:16], 0)
	nn.ZeroGrad(full.Params())
	full.Backward(dlogits)
	bounds := full.SegmentBounds()
	copies := make([]models.Segmented[float32], len(bounds)-1)
	f = x
	for i := range copies {
		if copies[i], err = segmentedModel(cfg, m.Params()); err != nil {
			t.Fatal(err)
		}
		nn.SetFrozen(copies[i].Params(), false)
		nn.ZeroGrad(copies[i].Params())
		if f, err = copies[i].ForwardSegment(f, bounds[i], bounds[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	g := dlogits
	for i := len(copies) - 1; i >= 0; i-- {
		g = copies[i].BackwardSegment(g, true)
	}
	if g != nil {
		t.Fatal("the input image got a gradient (conv1 has NoGrad)")
	}
	for i, c := range copies {
		ps, _ := c.SegmentParams(bounds[i], bounds[i+1])
		for _, p := range ps {
			var ref *nn.Param[float32]
			for _, q := range full.Params() {
				if q.Name == p.Name {
					ref = q.P
				}
			}
			for j, v := range p.P.Grad.Data {
				if d := v - ref.Grad.Data[j]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("%s gradient %d: segments %g, Backward %g", p.Name, j, v, ref.Grad.Data[j])
				}
			}
		}
	}
}

// TestHierarchicalDeterministic runs the mode end to end through PostTrain twice with the
// same seed (identical results), once with another (a different sample order) and once
// with the front run every batch instead of precomputed (the same results).
func TestHierarchicalDeterministic(t *testing.T) {
	set, cfg := synthSet(t, 96)
	pix, _, labels, _ := synthImages(t, 48, 8)
	test := &memDataset{pix: pix, labels: labels}
	run := func(seed uint64) *RunResult {
		c := cfg
		c.Seed = seed
		r, err := PostTrain(context.Background(), c, set, test, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b, other := run(0), run(0), run(1)
	if want := []string{"in->z1", "z1->z2", "z2->out"}; !reflect.DeepEqual(a.Segments, want) {
		t.Fatalf("segments %v, want %v", a.Segments, want)
	}
	if len(a.TestAcc) != 2 || len(a.EpochSecs) != 2 || len(a.EvalSecs) != 2 || len(a.SegmentMSE) != 2 || len(a.SegmentSecs[1]) != 3 || a.MeanWeight <= 0 {
		t.Fatalf("incomplete result %+v", a)
	}
	if !reflect.DeepEqual(a.TestAcc, b.TestAcc) || !reflect.DeepEqual(a.SegmentMSE, b.SegmentMSE) || a.MeanWeight != b.MeanWeight {
		t.Fatalf("same seed, different results: %v %v vs %v %v", a.TestAcc, a.SegmentMSE, b.TestAcc, b.SegmentMSE)
	}
	if reflect.DeepEqual(a.SegmentMSE, other.SegmentMSE) {
		t.Fatal("seeds 0 and 1 gave identical training losses")
	}
	old := HierarchicalPrecomputeBytes
	HierarchicalPrecomputeBytes = 0
	perBatch := run(0)
	HierarchicalPrecomputeBytes = old
	if a.PrecomputeSecs <= 0 || perBatch.PrecomputeSecs != 0 {
		t.Errorf("precompute seconds %g (budget) and %g (none)", a.PrecomputeSecs, perBatch.PrecomputeSecs)
	}
	for e := range a.SegmentMSE {
		for i, v := range a.SegmentMSE[e] {
			if d := v - perBatch.SegmentMSE[e][i]; d > 1e-6*v || d < -1e-6*v {
				t.Errorf("epoch %d segment %s: MSE %g with precomputed inputs, %g with the front per batch", e+1, a.Segments[i], v, perBatch.SegmentMSE[e][i])
			}
		}
	}
	for i := range a.Segments {
		if !(a.SegmentMSE[1][i] < a.SegmentMSE[0][i]) {
			t.Errorf("segment %s: epoch-2 MSE %g not below epoch 1's %g", a.Segments[i], a.SegmentMSE[1][i], a.SegmentMSE[0][i])
		}
	}
}

func TestHierarchicalErrors(t *testing.T) {
	set, cfg := synthSet(t, 8)
	for _, tc := range []struct {
		name string
		edit func(*PostTrainConfig, *CachedSet)
		want string
	}{
		{"tap", func(c *PostTrainConfig, _ *CachedSet) { c.Tap = "z1" }, `want tap "all"`},
		{"model", func(c *PostTrainConfig, _ *CachedSet) { c.Model = "no-such-model" }, "no-such-model"},
		{"target", func(_ *PostTrainConfig, s *CachedSet) { delete(s.Targets, "z2") }, "no target for tap z2"},
		{"mode", func(c *PostTrainConfig, _ *CachedSet) { c.Mode = "layerwise" }, "coupled, decoupled or hierarchical"},
	} {
		c, s := cfg, *set
		s.Targets = map[string][]float32{}
		for k, v := range set.Targets {
			s.Targets[k] = v
		}
		tc.edit(&c, &s)
		if _, err := PostTrain(context.Background(), c, &s, nil, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want an error containing %q, got %v", tc.name, tc.want, err)
		}
	}
	c := &Cache{Manifest: CacheManifest{Taps: []CacheTap{{Name: "out"}, {Name: "z2"}, {Name: "z1"}}}}
	if got := gridTaps(c, []string{HierarchicalTap}); !reflect.DeepEqual(got, []string{"out", "z2", "z1"}) {
		t.Errorf("grid taps of a hierarchical grid: %v", got)
	}
	if got := gridTaps(c, []string{"z1"}); !reflect.DeepEqual(got, []string{"z1"}) {
		t.Errorf("grid taps of a coupled grid: %v", got)
	}
}

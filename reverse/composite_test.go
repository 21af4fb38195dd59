package reverse

import (
	"math"
	"slices"
	"testing"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// resTanh is a test block y = x + W2 tanh(W1 x + b1) on rows of d, with its backward.
type resTanh struct {
	l1, l2 *nn.Linear[float64]
	h      *tensor.T[float64]
	dh     *tensor.T[float64]
}

func (r *resTanh) Forward(x *tensor.T[float64]) *tensor.T[float64] {
	u := r.l1.Forward(x)
	r.h = tensor.Ensure(r.h, u.Shape...)
	for i, v := range u.Data {
		r.h.Data[i] = math.Tanh(v)
	}
	v := r.l2.Forward(r.h)
	y := tensor.New[float64](x.Shape...)
	for i := range y.Data {
		y.Data[i] = x.Data[i] + v.Data[i]
	}
	return y
}

func (r *resTanh) Backward(dy *tensor.T[float64]) *tensor.T[float64] {
	dh := r.l2.Backward(dy)
	r.dh = tensor.Ensure(r.dh, dh.Shape...)
	for i, g := range dh.Data {
		r.dh.Data[i] = g * (1 - r.h.Data[i]*r.h.Data[i])
	}
	dx := r.l1.Backward(r.dh)
	out := dy.Clone()
	for i := range out.Data {
		out.Data[i] += dx.Data[i]
	}
	return out
}

func (r *resTanh) Params() []nn.Named[float64] {
	return append(nn.Prefix("l1", r.l1.Params()), nn.Prefix("l2", r.l2.Params())...)
}

func newResTanh(d int, seed uint64) *resTanh {
	rng := nn.NewRand(seed)
	return &resTanh{l1: nn.NewLinear[float64](d, 2*d, true, rng), l2: nn.NewLinear[float64](2*d, d, true, rng)}
}

func compositeProblem(seed uint64) (*resTanh, *tensor.T[float64], *tensor.T[float64]) {
	blk := newResTanh(6, seed)
	rng := nn.NewRand(seed + 100)
	x0 := tensor.New[float64](3, 6)
	nn.Normal(x0, 1, rng)
	xt := x0.Clone() // a reachable target: Φ(x0 + perturbation)
	for i := range xt.Data {
		xt.Data[i] += 0.3 * rng.NormFloat64()
	}
	target := blk.Forward(xt).Clone()
	return blk, x0, target
}

func TestCompositeLowersResidual(t *testing.T) {
	for _, method := range []string{"linearized", "vjp"} {
		for _, quirk := range []bool{false, true} {
			blk, x0, target := compositeProblem(11)
			opt := DefaultOptions()
			opt.CompositeMethod = method
			opt.CompositeOriginalGNQuirk = quirk
			opt.CompositeTol = 1e-12
			z, res, err := Composite[float64](blk, x0, target, opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Method != method || res.Guarded {
				t.Fatalf("%s: result %+v", method, res)
			}
			e0 := res.History[0]
			errs, _ := relErrors[float64](blk, z, target)
			e1 := mean(errs)
			if !(e1 < e0) {
				t.Fatalf("%s quirk=%v: error did not drop: %.4g -> %.4g", method, quirk, e0, e1)
			}
			if method == "linearized" && !quirk && e1 > 1e-10 {
				t.Fatalf("plain Gauss–Newton on a reachable target should converge, got %.3g (history %v)", e1, res.History)
			}
			for _, p := range blk.Params() {
				if p.P.Frozen {
					t.Fatalf("parameter %s left frozen", p.Name)
				}
			}
		}
	}
}

// The analytic Jacobian from backward passes matches finite differences.
func TestCompositeJacobian(t *testing.T) {
	blk, x0, target := compositeProblem(12)
	J := jacobian[float64](blk, x0, target.Shape)
	n, m := 6, 6
	for b := 0; b < 3; b++ {
		for j := 0; j < n; j++ {
			xp, xm := x0.Clone(), x0.Clone()
			xp.Data[b*n+j] += 1e-6
			xm.Data[b*n+j] -= 1e-6
			yp, ym := blk.Forward(xp).Clone(), blk.Forward(xm)
			for i := 0; i < m; i++ {
				num := (yp.Data[b*m+i] - ym.Data[b*m+i]) / 2e-6
				if math.Abs(num-J[b][i*n+j]) > 1e-6 {
					t.Fatalf("J[%d][%d,%d] = %v, finite differences %v", b, i, j, J[b][i*n+j], num)
				}
			}
		}
	}
}

// An unreachable target far away makes the iterate hit the trust ball; the result stays
// finite and within the guard.
func TestCompositeGuardsHugeTargets(t *testing.T) {
	blk, x0, target := compositeProblem(13)
	for i := range target.Data {
		target.Data[i] *= 1e6
	}
	opt := DefaultOptions()
	opt.CompositeMethod = "vjp"
	z, _, err := Composite[float64](blk, x0, target, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !z.AllFinite() || !iterateReliable(z, x0, opt) {
		t.Fatal("result not finite/reliable")
	}
}

// Samples whose forward output already equals the target are left out of the VJP solve;
// the answer, history and guard must equal those of the full-batch solve, and the
// skipped samples must come back as their anchors.
func TestCompositeVJPSkipsSolvedSamples(t *testing.T) {
	blk, x0, target := compositeProblem(14)
	y := blk.Forward(x0)
	const n = 6
	copy(target.Data[1*n:2*n], y.Data[1*n:2*n]) // sample 1 is already solved
	opt := DefaultOptions()
	opt.CompositeMethod = "vjp"
	opt.CompositeTol = 1e-12
	want, wantRes := compositeVJP[float64](blk, x0, target, 3, opt)
	got, res, err := Composite[float64](blk, x0, target, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Guarded != wantRes.Guarded || res.Accepted != wantRes.Accepted || len(res.History) != len(wantRes.History) {
		t.Fatalf("result %+v, full-batch solve %+v", res, wantRes)
	}
	for i, h := range res.History {
		if math.Abs(h-wantRes.History[i]) > 1e-12*max(1, wantRes.History[i]) {
			t.Fatalf("history[%d] = %v, full-batch solve %v", i, h, wantRes.History[i])
		}
	}
	for i, v := range got.Data {
		if math.Abs(v-want.Data[i]) > 1e-12 {
			t.Fatalf("z[%d] = %v, full-batch solve %v", i, v, want.Data[i])
		}
	}
	for i := n; i < 2*n; i++ {
		if got.Data[i] != x0.Data[i] {
			t.Fatalf("solved sample moved: z[%d] = %v, anchor %v", i, got.Data[i], x0.Data[i])
		}
	}
	if got.Data[0] == x0.Data[0] && got.Data[2*n] == x0.Data[2*n] {
		t.Fatal("unsolved samples did not move")
	}
	// All samples solved: the anchors come back without iterations.
	all := blk.Forward(x0).Clone()
	z, res, err := Composite[float64](blk, x0, all, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || len(res.History) != 1 || res.History[0] != 0 || !slices.Equal(z.Data, x0.Data) {
		t.Fatalf("solved batch: %+v", res)
	}
}

// TestCompositeBatchedMatchesPerSample solves a real ResNet BasicBlock (the stride-2
// block with its 1×1 downsample, BN in eval mode) for a batch at once and for each
// sample alone: the batch is one VJP per iteration, the per-sample answers come from
// separate solves, and they agree (Adam is per coordinate, step limit and projection per
// sample; only the mean's 1/B scaling differs, against Adam's eps). Each answer is also
// checked by running the block on it: it lowers the mismatch to the target.
func TestCompositeBatchedMatchesPerSample(t *testing.T) {
	r := models.NewResNet[float32](models.ResNetConfig{Name: "resnet18", Dataset: "cifar10", Layers: [4]int{2, 2, 2, 2}, Width: 8, InCh: 3, CIFARStem: true, Classes: 10}, 7)
	blk := r.Stages[1].Children[0]
	rng := nn.NewRand(8)
	const B = 6
	x0 := tensor.New[float32](B, 8, 16, 16)
	nn.Normal(x0, 1, rng)
	xt := x0.Clone()
	for i := range xt.Data {
		xt.Data[i] += float32(0.2 * rng.NormFloat64())
	}
	nn.SetTraining(blk, false)
	target := blk.Forward(xt).Clone()
	opt := DefaultOptions()
	opt.CompositeMethod, opt.CompositeTol, opt.CompositeDamping = "vjp", 0, 0.9
	zb, res, err := Composite(blk, x0, target, opt)
	if err != nil || res.Guarded || len(res.History) != opt.CompositeIter+1 {
		t.Fatalf("batched solve: %v %+v", err, res)
	}
	n := x0.Numel() / B
	for b := 0; b < B; b++ {
		xb, tb := gatherSamples(x0, []int{b}), gatherSamples(target, []int{b})
		zs, rs, err := Composite(blk, xb, tb, opt)
		if err != nil || rs.Guarded {
			t.Fatalf("sample %d: %v %+v", b, err, rs)
		}
		d := relDiff(zb.Data[b*n:(b+1)*n], zs.Data)
		t.Logf("sample %d: batched vs alone %.3g, moved %.3g", b, d, relDiff(zs.Data, xb.Data))
		if d > 1e-3 {
			t.Errorf("sample %d: batched answer differs from the per-sample one by %.3g (relative)", b, d)
		}
		e0, _ := relErrors(blk, xb, tb)
		e1, _ := relErrors(blk, gatherSamples(zb, []int{b}), tb)
		if !(e1[0] < e0[0]) {
			t.Errorf("sample %d: block on the batched answer is no closer to the target: %.4g -> %.4g", b, e0[0], e1[0])
		}
	}
}

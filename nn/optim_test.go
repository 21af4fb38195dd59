package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// tfmRefAdamW is torch.optim.AdamW written out in float64 with bias-corrected moments.
type tfmRefAdamW struct {
	t    int
	m, v []float64
}

func (r *tfmRefAdamW) step(p, g []float64, lr, wd float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	if r.m == nil {
		r.m, r.v = make([]float64, len(p)), make([]float64, len(p))
	}
	r.t++
	for i := range p {
		p[i] -= lr * wd * p[i]
		r.m[i] = b1*r.m[i] + (1-b1)*g[i]
		r.v[i] = b2*r.v[i] + (1-b2)*g[i]*g[i]
		mHat := r.m[i] / (1 - math.Pow(b1, float64(r.t)))
		vHat := r.v[i] / (1 - math.Pow(b2, float64(r.t)))
		p[i] -= lr * mHat / (math.Sqrt(vHat) + eps)
	}
}

// tfmRefSGD is torch.optim.SGD (dampening 0) written out in float64.
type tfmRefSGD struct {
	buf []float64
}

func (r *tfmRefSGD) step(p, g []float64, lr, wd, mu float64, nesterov bool) {
	first := r.buf == nil
	if first {
		r.buf = make([]float64, len(p))
	}
	for i := range p {
		d := g[i] + wd*p[i]
		if mu != 0 {
			if first {
				r.buf[i] = d
			} else {
				r.buf[i] = mu*r.buf[i] + d
			}
			if nesterov {
				d += mu * r.buf[i]
			} else {
				d = r.buf[i]
			}
		}
		p[i] -= lr * d
	}
}

// tfmOptProblem is a tiny problem: W [3, 4] and b [4] in two groups, plus a parameter
// frozen for the first steps and a buffer. Gradients are (p − target) + a step-dependent
// term so that moments change sign.
type tfmOptProblem struct {
	w, b, late, buf *nn.Param[float64]
	target          map[*nn.Param[float64]][]float64
}

func newTfmOptProblem() *tfmOptProblem {
	pr := &tfmOptProblem{w: nn.NewParam[float64](3, 4), b: nn.NewParam[float64](4), late: nn.NewParam[float64](2, 2),
		buf: nn.NewBuffer[float64](3), target: map[*nn.Param[float64]][]float64{}}
	for i, p := range []*nn.Param[float64]{pr.w, pr.b, pr.late, pr.buf} {
		nn.Normal(p.Value, 1, nn.NewRand(uint64(10+i)))
		pr.target[p] = tfmRandn(uint64(20+i), 1, p.Value.Shape...).Data
	}
	pr.late.Frozen = true
	return pr
}

func (pr *tfmOptProblem) grads(step int) {
	for _, p := range []*nn.Param[float64]{pr.w, pr.b, pr.late} {
		for i, v := range p.Value.Data {
			p.Grad.Data[i] = v - pr.target[p][i] + 0.5*math.Sin(float64(3*step+i))
		}
	}
}

func (pr *tfmOptProblem) groups() []nn.Group[float64] {
	return []nn.Group[float64]{
		{Params: []nn.Named[float64]{{"w", pr.w}, {"late", pr.late}}, LR: 0.01, WeightDecay: 0.1},
		{Params: []nn.Named[float64]{{"b", pr.b}, {"buf", pr.buf}}, LR: 0.03},
	}
}

// tfmRunOptimizer runs 6 steps (lr halved by SetLR after step 3, "late" unfrozen before
// step 3) and compares with the reference update applied to copies.
func tfmRunOptimizer(t *testing.T, name string, opt nn.Optimizer, pr *tfmOptProblem, ref func(k int, p, g []float64, lr, wd float64)) {
	t.Helper()
	ps := []*nn.Param[float64]{pr.w, pr.b, pr.late}
	want := make([][]float64, 3)
	for k, p := range ps {
		want[k] = append([]float64(nil), p.Value.Data...)
	}
	bufBefore := append([]float64(nil), pr.buf.Value.Data...)
	lrs, wds := []float64{0.01, 0.03, 0.01}, []float64{0.1, 0, 0.1}
	for step := 0; step < 6; step++ {
		if step == 2 {
			pr.late.Frozen = false
		}
		if step == 3 {
			opt.SetLR(0.005)
			lrs = []float64{0.005, 0.015, 0.005}
			if opt.LR() != 0.005 {
				t.Errorf("%s: LR() = %g after SetLR(0.005)", name, opt.LR())
			}
		}
		opt.ZeroGrad()
		pr.grads(step)
		for k, p := range ps {
			if p.Trainable() {
				ref(k, want[k], p.Grad.Data, lrs[k], wds[k])
			}
		}
		opt.Step()
		for k, p := range ps {
			if d := tfmMaxDiff(p.Value.Data, want[k]); d > 1e-14 {
				t.Errorf("%s step %d param %d: differs from the reference by %g", name, step, k, d)
			}
		}
	}
	if tfmMaxDiff(pr.buf.Value.Data, bufBefore) != 0 {
		t.Errorf("%s changed a buffer", name)
	}
	// Once warm, a step allocates nothing.
	if a := testing.AllocsPerRun(5, opt.Step); a != 0 {
		t.Errorf("%s: %g allocations per Step", name, a)
	}
}

func TestAdamWMatchesReference(t *testing.T) {
	pr := newTfmOptProblem()
	opt := nn.NewAdamW(pr.groups()...)
	refs := make([]tfmRefAdamW, 3)
	tfmRunOptimizer(t, "AdamW", opt, pr, func(k int, p, g []float64, lr, wd float64) { refs[k].step(p, g, lr, wd) })
}

func TestSGDMatchesReference(t *testing.T) {
	for _, c := range []struct {
		mu       float64
		nesterov bool
	}{{0, false}, {0.9, false}, {0.9, true}} {
		pr := newTfmOptProblem()
		opt := nn.NewSGD(c.mu, c.nesterov, pr.groups()...)
		refs := make([]tfmRefSGD, 3)
		tfmRunOptimizer(t, "SGD", opt, pr, func(k int, p, g []float64, lr, wd float64) { refs[k].step(p, g, lr, wd, c.mu, c.nesterov) })
	}
}

// TestAdamWDecoupled: with a zero gradient the Adam part of the update is exactly 0, so
// only the decoupled decay p·(1 − lr·wd) remains. (With L2 decay folded into the gradient,
// Adam would normalise it and move p by about lr.)
func TestAdamWDecoupled(t *testing.T) {
	p := nn.NewParam[float64](2, 2)
	p.Value.Fill(2)
	opt := nn.NewAdamW(nn.Group[float64]{Params: []nn.Named[float64]{{"p", p}}, LR: 0.1, WeightDecay: 0.5})
	opt.Step()
	for _, v := range p.Value.Data {
		if math.Abs(v-1.9) > 1e-15 {
			t.Fatalf("p = %g after one step, want 2·(1 − 0.1·0.5) = 1.9", v)
		}
	}
	// SGD's decay is coupled: the same setting moves p by lr·wd·p too, but through the
	// momentum buffer, so a second step differs from plain shrinking.
	q := nn.NewParam[float64](1)
	q.Value.Fill(2)
	sgd := nn.NewSGD(0.9, false, nn.Group[float64]{Params: []nn.Named[float64]{{"q", q}}, LR: 0.1, WeightDecay: 0.5})
	sgd.Step()
	sgd.Step()
	// b₁ = 1, p₁ = 1.9; b₂ = 0.9 + 0.95 = 1.85, p₂ = 1.9 − 0.185.
	if math.Abs(q.Value.Data[0]-1.715) > 1e-15 {
		t.Errorf("SGD p = %.17g, want 1.715", q.Value.Data[0])
	}
}

func TestAdamWFloat32(t *testing.T) {
	// float32 follows the float64 trajectory to float32 precision.
	p64, p32 := nn.NewParam[float64](50), nn.NewParam[float32](50)
	nn.Normal(p64.Value, 1, nn.NewRand(1))
	p32.Value = tensor.Convert[float32](p64.Value)
	o64 := nn.NewAdamW(nn.Group[float64]{Params: []nn.Named[float64]{{"p", p64}}, LR: 1e-2, WeightDecay: 0.05})
	o32 := nn.NewAdamW(nn.Group[float32]{Params: []nn.Named[float32]{{"p", p32}}, LR: 1e-2, WeightDecay: 0.05})
	for s := 0; s < 20; s++ {
		for i, v := range p64.Value.Data {
			p64.Grad.Data[i] = v - 0.3
			p32.Grad.Data[i] = p32.Value.Data[i] - 0.3
		}
		o64.Step()
		o32.Step()
	}
	if d := tfmMaxDiff(p32.Value.Data, p64.Value.Data); d > 1e-5 {
		t.Errorf("float32 trajectory differs by %g", d)
	}
}

// A parameter large enough to be updated in parallel chunks gets exactly the update of a
// single goroutine.
func TestAdamWParallelMatchesSerial(t *testing.T) {
	defer func(w int) { tensor.Workers = w }(tensor.Workers)
	const n = 1<<16 + 37
	var got [2][]float32
	for k, workers := range []int{1, 2} {
		tensor.Workers = workers
		p := nn.NewParam[float32](n)
		nn.Normal(p.Value, 1, nn.NewRand(3))
		o := nn.NewAdamW(nn.Group[float32]{Params: []nn.Named[float32]{{"p", p}}, LR: 1e-2, WeightDecay: 0.05})
		for s := 0; s < 3; s++ {
			for i, v := range p.Value.Data {
				p.Grad.Data[i] = v*v - 0.3
			}
			o.Step()
		}
		got[k] = p.Value.Data
	}
	for i := range got[0] {
		if got[0][i] != got[1][i] {
			t.Fatalf("element %d: %v with 1 worker, %v with 2", i, got[0][i], got[1][i])
		}
	}
}

func TestSplitDecay(t *testing.T) {
	rng := nn.NewRand(1)
	var ps []nn.Named[float64]
	ps = append(ps, nn.Prefix("fc", nn.NewLinear[float64](3, 2, true, rng).Params())...)
	ps = append(ps, nn.Prefix("norm", nn.NewLayerNorm[float64](4, 1e-6).Params())...)
	ps = append(ps, nn.Prefix("attn", nn.NewMultiheadAttention[float64](4, 2, rng).Params())...)
	ps = append(ps, nn.NewClsPos[float64](3, 4, rng).Params()...)
	ps = append(ps, nn.Named[float64]{Name: "running_mean", P: nn.NewBuffer[float64](4)})
	marked := nn.NewParam[float64](2, 2)
	marked.NoDecay = true
	ps = append(ps, nn.Named[float64]{Name: "marked", P: marked})
	decay, noDecay := nn.SplitDecay(ps)
	names := func(ns []nn.Named[float64]) []string {
		var s []string
		for _, n := range ns {
			s = append(s, n.Name)
		}
		return s
	}
	wantDecay := []string{"fc.weight", "attn.in_proj_weight", "attn.out_proj.weight", "cls_token", "pos_embed"}
	wantNo := []string{"fc.bias", "norm.weight", "norm.bias", "attn.in_proj_bias", "attn.out_proj.bias", "marked"}
	if got := names(decay); !tfmSameStrings(got, wantDecay) {
		t.Errorf("decay %v, want %v", got, wantDecay)
	}
	if got := names(noDecay); !tfmSameStrings(got, wantNo) {
		t.Errorf("no decay %v, want %v", got, wantNo)
	}
}

func tfmSameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOptimizerDuplicatePanics(t *testing.T) {
	p := nn.NewParam[float32](2)
	defer func() {
		if recover() == nil {
			t.Error("no panic for a parameter in two groups")
		}
	}()
	nn.NewAdamW(nn.Group[float32]{Params: []nn.Named[float32]{{"a", p}}}, nn.Group[float32]{Params: []nn.Named[float32]{{"b", p}}})
}

// ExampleNewAdamW builds AdamW with weight decay on weights only and drives its learning
// rate with a cosine schedule.
func ExampleNewAdamW() {
	model := nn.NewLinear[float32](4, 2, true, nn.NewRand(0))
	decay, noDecay := nn.SplitDecay(model.Params())
	opt := nn.NewAdamW(
		nn.Group[float32]{Params: decay, LR: 1e-3, WeightDecay: 0.05},
		nn.Group[float32]{Params: noDecay, LR: 1e-3},
	)
	sched := nn.Cosine{Base: 1e-3, Min: 1e-6, Total: 10}
	for epoch := 0; epoch < 10; epoch++ {
		opt.SetLR(sched.LR(epoch))
		opt.ZeroGrad()
		// ... forward, loss, backward ...
		opt.Step()
	}
	fmt.Printf("%d decayed, %d not; last lr %.6f\n", len(decay), len(noDecay), opt.LR())
	// Output: 1 decayed, 1 not; last lr 0.000025
}

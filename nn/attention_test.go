package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

// tfmNaiveMHA is self-attention written with plain loops from the PyTorch definition.
func tfmNaiveMHA(a *nn.MultiheadAttention[float64], x *tensor.T[float64]) []float64 {
	n, l, d, h := x.Shape[0], x.Shape[1], a.D, a.Heads
	hd := d / h
	win, bin := a.InProjWeight.Value.Data, a.InProjBias.Value.Data
	wout, bout := a.OutProj.Weight.Value.Data, a.OutProj.Bias.Value.Data
	proj := func(b, i, o int) float64 { // row o of in_proj applied to token (b, i)
		s := bin[o]
		for c := 0; c < d; c++ {
			s += win[o*d+c] * x.Data[(b*l+i)*d+c]
		}
		return s
	}
	y := make([]float64, n*l*d)
	for b := 0; b < n; b++ {
		cat := make([]float64, l*d)
		for hh := 0; hh < h; hh++ {
			for i := 0; i < l; i++ {
				sc := make([]float64, l)
				m := math.Inf(-1)
				for j := 0; j < l; j++ {
					for c := 0; c < hd; c++ {
						sc[j] += proj(b, i, hh*hd+c) * proj(b, j, d+hh*hd+c)
					}
					sc[j] /= math.Sqrt(float64(hd))
					m = max(m, sc[j])
				}
				var z float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - m)
					z += sc[j]
				}
				for c := 0; c < hd; c++ {
					for j := 0; j < l; j++ {
						cat[i*d+hh*hd+c] += sc[j] / z * proj(b, j, 2*d+hh*hd+c)
					}
				}
			}
		}
		for i := 0; i < l; i++ {
			for o := 0; o < d; o++ {
				s := bout[o]
				for c := 0; c < d; c++ {
					s += wout[o*d+c] * cat[i*d+c]
				}
				y[(b*l+i)*d+o] = s
			}
		}
	}
	return y
}

func tfmRandomiseBiases(a *nn.MultiheadAttention[float64], seed uint64) {
	nn.Normal(a.InProjBias.Value, 0.5, nn.NewRand(seed))
	nn.Normal(a.OutProj.Bias.Value, 0.5, nn.NewRand(seed+1))
}

func TestMultiheadAttentionGrad(t *testing.T) {
	a := nn.NewMultiheadAttention[float64](8, 2, nn.NewRand(1))
	tfmRandomiseBiases(a, 2)
	x := tfmRandn(3, 1, 2, 5, 8)
	// The key bias has an exactly zero gradient (softmax ignores row constants), so the
	// comparison is relative to max(|a|+|n|, 1e-3) to tolerate finite-difference noise.
	if r := gradcheck.Check(a, x, gradcheck.Options{Floor: 1e-3}); r.MaxRelErr > 1e-6 {
		t.Errorf("%s (rel %.3g)", r.Where, r.MaxRelErr)
	}
}

func TestMultiheadAttentionForward(t *testing.T) {
	for _, c := range []struct{ n, l, d, h int }{{2, 5, 8, 2}, {3, 7, 12, 3}, {1, 1, 4, 4}, {2, 4, 6, 1}} {
		a := nn.NewMultiheadAttention[float64](c.d, c.h, nn.NewRand(4))
		tfmRandomiseBiases(a, 5)
		x := tfmRandn(6, 1, c.n, c.l, c.d)
		y := a.Forward(x)
		if diff := tfmMaxDiff(y.Data, tfmNaiveMHA(a, x)); diff > 1e-12 {
			t.Errorf("%+v: max difference %g from the loop version", c, diff)
		}
		// The float32 path agrees with float64.
		a32 := nn.NewMultiheadAttention[float32](c.d, c.h, nn.NewRand(4))
		for i, p := range a.Params() {
			a32.Params()[i].P.Value = tensor.Convert[float32](p.P.Value)
		}
		if diff := tfmMaxDiff(a32.Forward(tensor.Convert[float32](x)).Data, y.Data); diff > 1e-5 {
			t.Errorf("%+v: float32 differs by %g", c, diff)
		}
	}
}

func TestMultiheadAttentionInitAndNames(t *testing.T) {
	const d = 16
	a := nn.NewMultiheadAttention[float64](d, 4, nn.NewRand(7))
	ps := a.Params()
	want := []struct {
		name  string
		shape []int
	}{{"in_proj_weight", []int{3 * d, d}}, {"in_proj_bias", []int{3 * d}}, {"out_proj.weight", []int{d, d}}, {"out_proj.bias", []int{d}}}
	if len(ps) != len(want) {
		t.Fatalf("%d params", len(ps))
	}
	for i, w := range want {
		if ps[i].Name != w.name || !tensor.SameShape(ps[i].P.Value, tensor.New[float64](w.shape...)) {
			t.Errorf("param %d: %s %v, want %s %v", i, ps[i].Name, ps[i].P.Value.Shape, w.name, w.shape)
		}
	}
	for _, v := range append(a.InProjBias.Value.Data, a.OutProj.Bias.Value.Data...) {
		if v != 0 {
			t.Fatal("biases are not initialised to 0")
		}
	}
	bound := func(vals []float64) float64 {
		var m float64
		for _, v := range vals {
			m = max(m, math.Abs(v))
		}
		return m
	}
	// Xavier: √(6/(D+3D)); Linear default: 1/√D. The maxima of 768 and 256 draws come close.
	if b, w := bound(a.InProjWeight.Value.Data), math.Sqrt(6.0/(4*d)); b > w || b < 0.95*w {
		t.Errorf("in_proj_weight max |w| = %g, bound %g", b, w)
	}
	if b, w := bound(a.OutProj.Weight.Value.Data), 1/math.Sqrt(d); b > w || b < 0.9*w {
		t.Errorf("out_proj.weight max |w| = %g, bound %g", b, w)
	}
	a.Forward(tfmRandn(1, 1, 2, 3, d))
	w := a.AttentionWeights()
	for r := 0; r < 2*4*3; r++ {
		var s float64
		for _, v := range w.Data[r*3 : r*3+3] {
			s += v
		}
		if math.Abs(s-1) > 1e-12 {
			t.Errorf("attention row %d sums to %g", r, s)
		}
	}
}

// BenchmarkMultiheadAttention times forward + backward at SimpleViT's size (D 192,
// 12 heads, 65 tokens) for a batch of 32 in float32.
func BenchmarkMultiheadAttention(b *testing.B) {
	a := nn.NewMultiheadAttention[float32](192, 12, nn.NewRand(1))
	x := tensor.Convert[float32](tfmRandn(2, 1, 32, 65, 192))
	dy := tensor.Convert[float32](tfmRandn(3, 1, 32, 65, 192))
	for b.Loop() {
		a.Forward(x)
		a.Backward(dy)
	}
}

func BenchmarkMultiheadAttention64(b *testing.B) {
	a := nn.NewMultiheadAttention[float64](192, 12, nn.NewRand(1))
	x := tfmRandn(2, 1, 32, 65, 192)
	dy := tfmRandn(3, 1, 32, 65, 192)
	for b.Loop() {
		a.Forward(x)
		a.Backward(dy)
	}
}

// TestTinyViTTrains composes PatchEmbed, ClsPos, LayerNorm, attention with a residual,
// GELU, a linear head, cross-entropy and AdamW in float32, and checks that a toy task is
// learned: class 0 has a bright top-left quadrant, class 1 a bright bottom-right one.
func TestTinyViTTrains(t *testing.T) {
	const n, d = 32, 16
	rng := nn.NewRand(1)
	pe := nn.NewPatchEmbed[float32](1, d, 4, rng)
	cp := nn.NewClsPos[float32](4, d, rng)
	ln := nn.NewLayerNorm[float32](d, 1e-6)
	mha := nn.NewMultiheadAttention[float32](d, 2, rng)
	act := nn.NewGELU[float32]()
	head := nn.NewLinear[float32](d, 2, true, rng)
	var params []nn.Named[float32]
	for _, m := range []nn.Module[float32]{pe, cp, ln, mha, head} {
		params = append(params, m.Params()...)
	}
	decay, noDecay := nn.SplitDecay(params)
	opt := nn.NewAdamW(nn.Group[float32]{Params: decay, LR: 1e-2, WeightDecay: 0.05}, nn.Group[float32]{Params: noDecay, LR: 1e-2})

	x := tensor.New[float32](n, 1, 8, 8)
	labels := make([]int, n)
	for b := range labels {
		labels[b] = b % 2
		for i := 0; i < 8; i++ {
			for j := 0; j < 8; j++ {
				v := 0.3 * rng.NormFloat64()
				if (labels[b] == 0 && i < 4 && j < 4) || (labels[b] == 1 && i >= 4 && j >= 4) {
					v += 1
				}
				x.Data[(b*8+i)*8+j] = float32(v)
			}
		}
	}
	cls := tensor.New[float32](n, d)
	du := tensor.New[float32](n, 5, d)
	var first, last float64
	for step := 0; step < 60; step++ {
		opt.ZeroGrad()
		tok := cp.Forward(pe.Forward(x))
		u := mha.Forward(ln.Forward(tok))
		for b := 0; b < n; b++ { // residual, CLS row only is used by the head
			for j := 0; j < d; j++ {
				cls.Data[b*d+j] = tok.Data[b*5*d+j] + u.Data[b*5*d+j]
			}
		}
		loss, dlogits := nn.CrossEntropy(head.Forward(act.Forward(cls)), labels, 0.1)
		dcls := act.Backward(head.Backward(dlogits))
		du.Zero()
		for b := 0; b < n; b++ {
			copy(du.Data[b*5*d:b*5*d+d], dcls.Data[b*d:(b+1)*d])
		}
		dtok := ln.Backward(mha.Backward(du))
		for i := range dtok.Data {
			dtok.Data[i] += du.Data[i]
		}
		pe.Backward(cp.Backward(dtok))
		opt.Step()
		if step == 0 {
			first = loss
		}
		last = loss
	}
	t.Logf("loss %.4f → %.4f", first, last)
	if !(last < 0.4*first) || math.IsNaN(last) {
		t.Errorf("loss %g → %g: the toy task was not learned", first, last)
	}
}

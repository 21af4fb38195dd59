package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func TestLayerNormGrad(t *testing.T) {
	l := nn.NewLayerNorm[float64](6, 1e-5)
	nn.Normal(l.Weight.Value, 1, nn.NewRand(1))
	nn.Normal(l.Bias.Value, 1, nn.NewRand(2))
	x := tfmRandn(3, 2, 2, 3, 6)
	if r := gradcheck.Check(l, x, gradcheck.Options{}); r.MaxRelErr > 1e-6 {
		t.Errorf("%s (rel %.3g)", r.Where, r.MaxRelErr)
	}
}

func TestLayerNormForward(t *testing.T) {
	l := nn.NewLayerNorm[float32](5, 1e-6)
	if p := l.Params(); len(p) != 2 || p[0].Name != "weight" || p[1].Name != "bias" || p[0].P.Value.Data[3] != 1 || p[1].P.Value.Data[3] != 0 {
		t.Fatalf("params %v", p)
	}
	x := tensor.Convert[float32](tfmRandn(4, 3, 7, 5))
	for i := range x.Data {
		x.Data[i] += 100 // a large mean must not hurt precision
	}
	y := l.Forward(x)
	for r := 0; r < 7; r++ {
		var m, v float64
		for _, e := range y.Data[r*5 : r*5+5] {
			m += float64(e)
		}
		m /= 5
		for _, e := range y.Data[r*5 : r*5+5] {
			v += (float64(e) - m) * (float64(e) - m)
		}
		if math.Abs(m) > 1e-5 || math.Abs(v/5-1) > 1e-4 {
			t.Errorf("row %d: mean %g, variance %g", r, m, v/5)
		}
	}
}

func TestLayerNormFrozen(t *testing.T) {
	l := nn.NewLayerNorm[float64](4, 1e-5)
	nn.SetFrozen(l.Params(), true)
	x := tfmRandn(5, 1, 3, 4)
	l.Forward(x)
	dx := l.Backward(tfmRandn(6, 1, 3, 4))
	for _, p := range l.Params() {
		for _, g := range p.P.Grad.Data {
			if g != 0 {
				t.Fatalf("frozen %s got a gradient", p.Name)
			}
		}
	}
	var s float64
	for _, v := range dx.Data[:4] {
		s += v
	}
	if math.Abs(s) > 1e-12 { // the input gradient of a normalisation sums to 0 per row
		t.Errorf("row sum of dx = %g", s)
	}
}

// BenchmarkLayerNorm times forward + backward on SimpleViT tokens [32, 65, 192] in float32.
func BenchmarkLayerNorm(b *testing.B) {
	l := nn.NewLayerNorm[float32](192, 1e-6)
	x := tensor.Convert[float32](tfmRandn(1, 1, 32, 65, 192))
	for b.Loop() {
		l.Forward(x)
		l.Backward(x)
	}
}

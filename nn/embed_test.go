package nn_test

import (
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func TestPatchEmbedGrad(t *testing.T) {
	e := nn.NewPatchEmbed[float64](3, 5, 4, nn.NewRand(1))
	x := tfmRandn(2, 1, 2, 3, 9, 8) // one row beyond the last whole patch
	if r := gradcheck.Check(e, x, gradcheck.Options{}); r.MaxRelErr > 1e-6 {
		t.Errorf("%s (rel %.3g)", r.Where, r.MaxRelErr)
	}
}

func TestPatchEmbedMatchesConv(t *testing.T) {
	const n, c, h, w, p, d = 2, 3, 8, 12, 4, 5
	e := nn.NewPatchEmbed[float64](c, d, p, nn.NewRand(3))
	x := tfmRandn(4, 1, n, c, h, w)
	y := e.Forward(x)
	if want := []int{n, (h / p) * (w / p), d}; !tensor.SameShape(y, tensor.New[float64](want...)) {
		t.Fatalf("shape %v, want %v", y.Shape, want)
	}
	// conv(x)[b, o, i, j] is token i·(W/p)+j, channel o.
	wt, bs := e.Weight.Value.Data, e.Bias.Value.Data
	for b := 0; b < n; b++ {
		for o := 0; o < d; o++ {
			for i := 0; i < h/p; i++ {
				for j := 0; j < w/p; j++ {
					s := bs[o]
					for ch := 0; ch < c; ch++ {
						for ki := 0; ki < p; ki++ {
							for kj := 0; kj < p; kj++ {
								s += wt[((o*c+ch)*p+ki)*p+kj] * x.Data[((b*c+ch)*h+i*p+ki)*w+j*p+kj]
							}
						}
					}
					tok := i*(w/p) + j
					if got := y.Data[(b*(h/p)*(w/p)+tok)*d+o]; got-s > 1e-12 || s-got > 1e-12 {
						t.Fatalf("y[%d,%d,%d] = %g, want %g", b, tok, o, got, s)
					}
				}
			}
		}
	}
	ps := e.Params()
	if ps[0].Name != "weight" || !tensor.SameShape(ps[0].P.Value, tensor.New[float64](d, c, p, p)) || ps[1].Name != "bias" {
		t.Errorf("params %s %v, %s", ps[0].Name, ps[0].P.Value.Shape, ps[1].Name)
	}
}

func TestClsPosGrad(t *testing.T) {
	e := nn.NewClsPos[float64](4, 6, nn.NewRand(1))
	if r := gradcheck.Check(e, tfmRandn(2, 1, 3, 4, 6), gradcheck.Options{}); r.MaxRelErr > 1e-6 {
		t.Errorf("%s (rel %.3g)", r.Where, r.MaxRelErr)
	}
}

func TestClsPosForward(t *testing.T) {
	e := nn.NewClsPos[float32](2, 3, nn.NewRand(1))
	ps := e.Params()
	if ps[0].Name != "cls_token" || !tensor.SameShape(ps[0].P.Value, tensor.New[float32](1, 1, 3)) ||
		ps[1].Name != "pos_embed" || !tensor.SameShape(ps[1].P.Value, tensor.New[float32](1, 3, 3)) {
		t.Fatalf("params %s %v, %s %v", ps[0].Name, ps[0].P.Value.Shape, ps[1].Name, ps[1].P.Value.Shape)
	}
	for _, v := range e.PosEmbed.Value.Data {
		if v == 0 || v > 0.1 || v < -0.1 {
			t.Fatalf("pos_embed value %g is not a N(0, 0.02²) draw", v)
		}
	}
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 3)
	y := e.Forward(x)
	pos, cls := e.PosEmbed.Value.Data, e.ClsToken.Value.Data
	want := []float32{cls[0] + pos[0], cls[1] + pos[1], cls[2] + pos[2], 1 + pos[3], 2 + pos[4], 3 + pos[5], 4 + pos[6], 5 + pos[7], 6 + pos[8]}
	if tfmMaxDiff(y.Data, want) != 0 {
		t.Errorf("y %v, want %v", y.Data, want)
	}
}

package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/tensor"
)

// ReLUMaxPool and ReLUMaxPoolBackward give the bits of the two layers' Forward and
// Backward calls, for the fused 2×2/2 pool (odd sizes) and the fallback (3×3/2, padded),
// and leave both layers usable on their own afterwards.
func TestReLUMaxPoolMatchesLayers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ n, ch, h, w, k, stride, pad int }{
		{4, 3, 24, 24, 2, 2, 0}, {2, 2, 7, 9, 2, 2, 0}, {3, 1, 8, 8, 3, 2, 1}, {1, 2, 5, 5, 2, 1, 0},
	} {
		x := tensor.New[float32](c.n, c.ch, c.h, c.w)
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
			if i%5 == 0 {
				x.Data[i] = 0
			}
		}
		r1, p1 := NewReLU[float32](), NewMaxPool2d[float32](c.k, c.stride, c.pad)
		r2, p2 := NewReLU[float32](), NewMaxPool2d[float32](c.k, c.stride, c.pad)
		wa := r1.Forward(x)
		wp := p1.Forward(wa)
		a, p := ReLUMaxPool(r2, p2, x)
		dy := tensor.New[float32](wp.Shape...)
		for i := range dy.Data {
			dy.Data[i] = float32(rng.NormFloat64())
			if i%7 == 0 {
				dy.Data[i] = float32(math.Copysign(0, -1))
			}
		}
		want := r1.Backward(p1.Backward(dy))
		got := ReLUMaxPoolBackward(r2, p2, dy)
		for _, cmp := range []struct {
			name      string
			got, want *tensor.T[float32]
		}{{"a", a, wa}, {"p", p, wp}, {"dx", got, want}, {"unfused dx", r2.Backward(p2.Backward(dy)), want}} {
			tensor.MustSameShape(cmp.name, cmp.got, cmp.want)
			for i := range cmp.got.Data {
				if math.Float32bits(cmp.got.Data[i]) != math.Float32bits(cmp.want.Data[i]) {
					t.Fatalf("%+v: %s[%d]=%v, the layers give %v", c, cmp.name, i, cmp.got.Data[i], cmp.want.Data[i])
				}
			}
		}
	}
}

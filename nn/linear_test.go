package nn_test

import (
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func TestLinearGrad(t *testing.T) {
	rng := nn.NewRand(1)
	for _, bias := range []bool{true, false} {
		l := nn.NewLinear[float64](5, 3, bias, rng)
		x := tensor.New[float64](2, 4, 5)
		nn.Normal(x, 1, rng)
		if r := gradcheck.Check(l, x, gradcheck.Options{}); r.MaxRelErr > 1e-6 {
			t.Errorf("bias=%v: %s (rel %.3g)", bias, r.Where, r.MaxRelErr)
		}
	}
}

func TestLinearForwardMatchesDefinition(t *testing.T) {
	rng := nn.NewRand(2)
	l := nn.NewLinear[float32](3, 2, true, rng)
	x := tensor.New[float32](4, 3)
	nn.Normal(x, 1, rng)
	y := l.Forward(x)
	for r := 0; r < 4; r++ {
		for o := 0; o < 2; o++ {
			want := float64(l.Bias.Value.Data[o])
			for i := 0; i < 3; i++ {
				want += float64(x.Data[r*3+i]) * float64(l.Weight.Value.Data[o*3+i])
			}
			if d := float64(y.Data[r*2+o]) - want; d > 1e-5 || d < -1e-5 {
				t.Fatalf("y[%d,%d]=%v want %v", r, o, y.Data[r*2+o], want)
			}
		}
	}
}

package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// In float32, the one-pass (shifted) batch statistics and the recomputed x̂ of the
// backward pass stay accurate on channels whose mean is a thousand times their spread
// (where Σx² − (Σx)²/n in float32 would lose the variance): forward, input gradient, dγ,
// dβ and the running statistics follow float64 on the same (float32-representable)
// data, to the resolution float32 gives such data (ulp(300)/σ ≈ 3e-4).
func TestBatchNormFloat32LargeMean(t *testing.T) {
	const n, c, h, w = 4, 3, 5, 7
	x64 := randT(21, n, c, h, w)
	for i := range x64.Data {
		ch := i / (h * w) % c
		x64.Data[i] = float64(float32(x64.Data[i]*0.1 + 100*float64(ch+1)))
	}
	dy64 := randT(22, n, c, h, w)
	b64, b32 := nn.NewBatchNorm2d[float64](c), nn.NewBatchNorm2d[float32](c)
	nn.Normal(b64.Weight.Value, 1, nn.NewRand(23))
	nn.Normal(b64.Bias.Value, 1, nn.NewRand(24))
	for i := range b64.Weight.Value.Data {
		b64.Weight.Value.Data[i] = float64(float32(b64.Weight.Value.Data[i]))
		b64.Bias.Value.Data[i] = float64(float32(b64.Bias.Value.Data[i]))
	}
	b32.Weight.Value = tensor.Convert[float32](b64.Weight.Value)
	b32.Bias.Value = tensor.Convert[float32](b64.Bias.Value)
	for _, train := range []bool{true, false} {
		b64.SetTraining(train)
		b32.SetTraining(train)
		y64 := b64.Forward(x64)
		y32 := b32.Forward(tensor.Convert[float32](x64))
		dx64 := b64.Backward(dy64)
		dx32 := b32.Backward(tensor.Convert[float32](dy64))
		cmp := func(what string, got []float32, want []float64, tol float64) {
			t.Helper()
			for i := range want {
				if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) {
					t.Fatalf("training %v: %s[%d] = %v, want %v", train, what, i, got[i], want[i])
				}
			}
		}
		cmp("y", y32.Data, y64.Data, 1e-3)
		cmp("dx", dx32.Data, dx64.Data, 1e-2) // dx is γ/σ (σ ≈ 0.1) times O(1) terms
		cmp("dγ", b32.Weight.Grad.Data, b64.Weight.Grad.Data, 1e-3)
		cmp("dβ", b32.Bias.Grad.Data, b64.Bias.Grad.Data, 1e-5)
		cmp("running_mean", b32.RunningMean.Value.Data, b64.RunningMean.Value.Data, 1e-6)
		cmp("running_var", b32.RunningVar.Value.Data, b64.RunningVar.Value.Data, 1e-5)
	}
}

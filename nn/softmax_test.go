package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func TestSoftmaxGrad(t *testing.T) {
	if r := gradcheck.Check(nn.NewSoftmax[float64](), tfmRandn(1, 2, 3, 4, 7), gradcheck.Options{}); r.MaxRelErr > 1e-6 {
		t.Errorf("%s (rel %.3g)", r.Where, r.MaxRelErr)
	}
}

func TestSoftmaxStable(t *testing.T) {
	x := []float32{1000, 1001, 999, -1000}
	y := make([]float32, 4)
	nn.SoftmaxRows(y, x, 4)
	e := []float64{math.Exp(-1), 1, math.Exp(-2), 0}
	s := e[0] + e[1] + e[2]
	for i := range y {
		if math.Abs(float64(y[i])-e[i]/s) > 1e-7 {
			t.Errorf("softmax %v, want %v/%g", y, e, s)
		}
	}
	ls := make([]float64, 4)
	nn.LogSoftmaxRows(ls, []float64{1000, 1001, 999, -1000}, 4)
	if math.Abs(ls[1]+math.Log(s)) > 1e-12 || math.Abs(ls[3]-(-2001-math.Log(s))) > 1e-9 {
		t.Errorf("log softmax %v", ls)
	}
	// In place.
	z := []float64{0, 0, math.Log(2)}
	nn.SoftmaxRows(z, z, 3)
	if tfmMaxDiff(z, []float64{0.25, 0.25, 0.5}) > 1e-15 {
		t.Errorf("in-place softmax %v", z)
	}
}

func TestSoftmaxBackwardDefinition(t *testing.T) {
	y := tensor.New[float64](2, 3)
	nn.SoftmaxRows(y.Data, tfmRandn(2, 1, 2, 3).Data, 3)
	dy := tfmRandn(3, 1, 2, 3)
	dx := make([]float64, 6)
	nn.SoftmaxRowsBackward(dx, dy.Data, y.Data, 3)
	for r := 0; r < 2; r++ {
		for i := 0; i < 3; i++ { // Jacobian J_ji = y_j(δ_ij − y_i)
			var want float64
			for j := 0; j < 3; j++ {
				d := 0.0
				if i == j {
					d = 1
				}
				want += dy.Data[r*3+j] * y.Data[r*3+j] * (d - y.Data[r*3+i])
			}
			if math.Abs(dx[r*3+i]-want) > 1e-15 {
				t.Errorf("dx[%d,%d] = %g, want %g", r, i, dx[r*3+i], want)
			}
		}
	}
}

// BenchmarkSoftmaxRows times the attention softmax of SimpleViT (32·12·65 rows of 65).
func BenchmarkSoftmaxRows(b *testing.B) {
	x := tensor.Convert[float32](tfmRandn(1, 2, 32*12*65, 65))
	y := make([]float32, len(x.Data))
	for b.Loop() {
		nn.SoftmaxRows(y, x.Data, 65)
	}
}

// BenchmarkSoftmaxRowsBackward times the attention softmax backward at the same size.
func BenchmarkSoftmaxRowsBackward(b *testing.B) {
	x := tensor.Convert[float32](tfmRandn(1, 2, 32*12*65, 65))
	y := make([]float32, len(x.Data))
	nn.SoftmaxRows(y, x.Data, 65)
	dx := make([]float32, len(x.Data))
	for b.Loop() {
		nn.SoftmaxRowsBackward(dx, x.Data, y, 65)
	}
}

// TestSoftmaxRowsFloat32 compares the float32 kernel with float64 on rows longer than its
// block, with a wide spread of logits.
func TestSoftmaxRowsFloat32(t *testing.T) {
	const cols = 150
	x32 := tensor.Convert[float32](tfmRandn(5, 30, 20, cols))
	x64 := tensor.Convert[float64](x32) // the same inputs, so only the kernels differ
	y64 := make([]float64, len(x64.Data))
	y32 := make([]float32, len(x32.Data))
	nn.SoftmaxRows(y64, x64.Data, cols)
	nn.SoftmaxRows(y32, x32.Data, cols)
	for i := range y64 {
		// x − max is rounded to float32 (as in PyTorch), which costs up to ~|x − max|·6e-8
		// relative accuracy in the smallest probabilities.
		if d := math.Abs(float64(y32[i]) - y64[i]); d > 1e-5*y64[i] && d > 1e-40 {
			t.Fatalf("element %d: float32 %g, float64 %g", i, y32[i], y64[i])
		}
	}
}

package nn_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// TestCrossEntropyHandExample checks the value on logits worked out by hand:
// row 1 = [1, 2, 3], label 0: lse = 3 + log(1 + e⁻¹ + e⁻²) = 3.4076059644443806,
// nll = lse − 1, mean over classes of −log p = lse − 2, loss₁ = 0.9·nll + 0.1·(lse − 2);
// row 2 = [0, 0, 0], label 2: every term is log 3. Mean of the two: 1.703109126556245.
func TestCrossEntropyHandExample(t *testing.T) {
	logits := tensor.FromData([]float64{1, 2, 3, 0, 0, 0}, 2, 3)
	loss, g := nn.CrossEntropy(logits, []int{0, 2}, 0.1)
	if math.Abs(loss-1.703109126556245) > 1e-14 {
		t.Errorf("loss %.17g, want 1.703109126556245", loss)
	}
	// Row 2: p = 1/3, q = [0.1/3, 0.1/3, 0.9 + 0.1/3], halved by the mean.
	want := []float64{(1.0/3 - 0.1/3) / 2, (1.0/3 - 0.1/3) / 2, (1.0/3 - 0.9 - 0.1/3) / 2}
	if tfmMaxDiff(g.Data[3:], want) > 1e-15 {
		t.Errorf("dlogits row 2 = %v, want %v", g.Data[3:], want)
	}
	// Without smoothing the value is the plain NLL.
	loss0, _ := nn.CrossEntropy(logits, []int{0, 2}, 0)
	if want := (3.4076059644443806 - 1 + math.Log(3)) / 2; math.Abs(loss0-want) > 1e-14 {
		t.Errorf("unsmoothed loss %.17g, want %.17g", loss0, want)
	}
}

// tfmFiniteDiff compares grad with central differences of f at every entry of x.
func tfmFiniteDiff(t *testing.T, name string, x []float64, grad []float64, f func() float64) {
	t.Helper()
	const h = 1e-6
	for i := range x {
		old := x[i]
		x[i] = old + h
		lp := f()
		x[i] = old - h
		lm := f()
		x[i] = old
		num := (lp - lm) / (2 * h)
		if math.Abs(num-grad[i]) > 1e-8*max(1, math.Abs(num)) {
			t.Errorf("%s[%d]: analytic %g, numeric %g", name, i, grad[i], num)
		}
	}
}

func TestCrossEntropyGrad(t *testing.T) {
	logits := tfmRandn(1, 3, 4, 6)
	labels := []int{0, 5, 2, 2}
	for _, s := range []float64{0, 0.1, 0.5} {
		_, g := nn.CrossEntropy(logits, labels, s)
		tfmFiniteDiff(t, fmt.Sprintf("s=%g", s), logits.Data, g.Data, func() float64 {
			l, _ := nn.CrossEntropy(logits, labels, s)
			return l
		})
	}
	// Stable for huge logits, and float32 gives the same numbers.
	big := tensor.FromData([]float32{1e4, 0, -1e4}, 1, 3)
	if l, g := nn.CrossEntropy(big, []int{0}, 0); l != 0 || g.Data[0] != 0 || !g.AllFinite() {
		t.Errorf("huge logits: loss %g, grad %v", l, g.Data)
	}
}

func TestCrossEntropyBadLabel(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "label 7") {
			t.Errorf("panic %v, want one naming label 7", r)
		}
	}()
	nn.CrossEntropy(tensor.New[float32](2, 5), []int{1, 7}, 0)
}

func TestMSE(t *testing.T) {
	x, y := tfmRandn(1, 1, 3, 4), tfmRandn(2, 1, 3, 4)
	l, g := nn.MSE(x, y)
	var want float64
	for i := range x.Data {
		want += (x.Data[i] - y.Data[i]) * (x.Data[i] - y.Data[i]) / 12
	}
	if math.Abs(l-want) > 1e-15 {
		t.Errorf("MSE %g, want %g", l, want)
	}
	tfmFiniteDiff(t, "mse", x.Data, g.Data, func() float64 { l, _ := nn.MSE(x, y); return l })
	// Into reuses the buffer.
	if _, g2 := nn.MSEInto(g, x, y); g2 != g {
		t.Error("MSEInto did not reuse the buffer")
	}
}

// ExampleCrossEntropy computes a label-smoothed loss and its gradient.
func ExampleCrossEntropy() {
	logits := tensor.FromData([]float32{2, 0, 0, 0, 3, 0}, 2, 3) // two samples, three classes
	loss, dlogits := nn.CrossEntropy(logits, []int{0, 1}, 0.1)
	fmt.Printf("loss %.4f, dlogits shape %v\n", loss, dlogits.Shape)
	// Output: loss 0.3339, dlogits shape [2 3]
}

package stats

import (
	"math"
	"reflect"
	"testing"
)

// tTwoSided3 is the two-sided p-value of Student's t with 3 degrees of freedom in closed
// form: 1 − (2/π)·(atan(u) + u/(1+u²)), u = |t|/√3.
func tTwoSided3(t float64) float64 {
	u := math.Abs(t) / math.Sqrt(3)
	return 1 - 2/math.Pi*(math.Atan(u)+u/(1+u*u))
}

func approx(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

// TestCorrelationsByHand checks Pearson and Spearman (with ties) and their p-values on
// vectors small enough to work out on paper.
func TestCorrelationsByHand(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{2, 4, 5, 4, 5}
	// Deviations (−2,−1,0,1,2) and (−2,0,1,0,1): Sxy = 6, Sxx = 10, Syy = 6, r = 6/√60;
	// t = r·√(3/(1−r²)) = √4.5.
	r, p := PearsonTest(x, y)
	approx(t, "pearson r", r, 6/math.Sqrt(60), 1e-12)
	approx(t, "pearson p", p, tTwoSided3(math.Sqrt(4.5)), 1e-9)
	// Ranks of y with ties: (1, 2.5, 4.5, 2.5, 4.5); deviations from 3: (−2, −.5, 1.5, −.5,
	// 1.5): Sxy = 7, Syy = 9, ρ = 7/√90; t = √(147/41).
	if got := Ranks(y); !reflect.DeepEqual(got, []float64{1, 2.5, 4.5, 2.5, 4.5}) {
		t.Errorf("ranks %v", got)
	}
	rho, p := SpearmanTest(x, y)
	approx(t, "spearman rho", rho, 7/math.Sqrt(90), 1e-12)
	approx(t, "spearman p", p, tTwoSided3(math.Sqrt(147.0/41)), 1e-9)
	// Symmetric in its arguments.
	if r2, _ := PearsonTest(y, x); math.Abs(r2-r) > 1e-15 {
		t.Errorf("pearson not symmetric: %g vs %g", r2, r)
	}
	// A strictly decreasing non-linear relation: ρ = −1 exactly (p 0), |r| < 1.
	x4 := []float64{1, 2, 3, 4}
	y4 := []float64{-1, -8, -27, -64}
	rho, p = SpearmanTest(x4, y4)
	approx(t, "monotone rho", rho, -1, 1e-12)
	approx(t, "monotone p", p, 0, 0)
	if r, _ := PearsonTest(x4, y4); !(r > -1 && r < -0.9) {
		t.Errorf("pearson of a cubic = %g, want in (−1, −0.9)", r)
	}
	// Undefined cases are NaN, not a number that looks like a result.
	if r, p := PearsonTest([]float64{1, 2}, []float64{3, 4}); !math.IsNaN(r) || !math.IsNaN(p) {
		t.Errorf("two pairs: r %v p %v, want NaN", r, p)
	}
	if r, _ := SpearmanTest([]float64{1, 2, 3}, []float64{5, 5, 5}); !math.IsNaN(r) {
		t.Errorf("constant input: ρ %v, want NaN", r)
	}
}

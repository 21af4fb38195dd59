package stats

import (
	"math"
	"testing"
)

// Reference values from scipy 1.10 (ttest_rel alternative="greater"; wilcoxon
// alternative="greater", method="approx", correction=False, zero_method="wilcox").
var (
	refA = []float64{98.02, 98.05, 97.99, 98.10, 98.03, 98.00, 98.07, 98.01, 98.04, 98.06}
	refB = []float64{98.00, 98.01, 98.00, 98.02, 98.03, 97.97, 98.02, 98.03, 97.99, 98.01}
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

func TestCompareAgainstScipy(t *testing.T) {
	p, err := Compare(refA, refB, 2000, 0.95, 0)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "t", p.T, 2.9178863484390134, 1e-9)
	near(t, "p_t", p.PT, 0.00854524729280083, 1e-7)
	near(t, "W", p.W, 41.5, 0)
	near(t, "p_wilcoxon", p.PW, 0.012070269314219385, 1e-9)
	near(t, "d_z", p.CohenDz, 0.9227166814578981, 1e-9)
	if !(p.CILow < p.MeanDiff && p.MeanDiff < p.CIHigh) || p.CILow <= 0 {
		t.Errorf("bootstrap CI [%g, %g] around mean %g", p.CILow, p.CIHigh, p.MeanDiff)
	}
	q, _ := Compare(refA, refB, 2000, 0.95, 0)
	if q.CILow != p.CILow || q.CIHigh != p.CIHigh {
		t.Error("bootstrap not reproducible with the same seed")
	}
	if _, err := Compare(refA, refB[:3], 10, 0.95, 0); err == nil {
		t.Error("unpaired samples accepted")
	}
}

// Exact sign-flip: hand-countable cases.
func TestSignFlipExact(t *testing.T) {
	// All positive and distinct: only the identity pattern reaches the observed sum.
	near(t, "p", SignFlipExact([]float64{1, 2, 3}), 1.0/8, 0)
	// {1, −1}: sums over patterns are 0, 2, −2, 0 → three of four are ≥ 0.
	near(t, "p", SignFlipExact([]float64{1, -1}), 3.0/4, 0)
}

func TestTTestDegenerate(t *testing.T) {
	if tt, p := TTestOneSided([]float64{0.1, 0.1, 0.1}); !math.IsInf(tt, 1) || p != 0 {
		t.Errorf("constant positive difference: t %v p %v", tt, p)
	}
}

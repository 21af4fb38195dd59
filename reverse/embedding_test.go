package reverse

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The spec's test vectors (§3.1 and results §12 anchor 12).
func TestNearestSpecVectors(t *testing.T) {
	cases := []struct {
		o     []float64
		label int
		want  []float64
	}{
		{[]float64{1, 2, 3}, 0, []float64{2, 2, 2}},
		{[]float64{4, 5, 6}, 2, []float64{4, 5, 6}},
		{[]float64{3, 3, 1}, 0, []float64{3, 3, 1}},
		{[]float64{0, 4, 2}, 2, []float64{0, 3, 3}},
	}
	for _, c := range cases {
		got := NearestTarget(c.o, c.label)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Fatalf("NearestTarget(%v, %d) = %v, want %v", c.o, c.label, got, c.want)
			}
		}
	}
}

// The nearest target must be the Euclidean projection onto {r: r_t ≥ r_j}: feasible, with
// the same sum, and no feasible random perturbation of it is closer to o.
func TestNearestIsProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		k := 2 + rng.IntN(9)
		o := make([]float64, k)
		for i := range o {
			o[i] = rng.NormFloat64() * 3
		}
		y := rng.IntN(k)
		r := NearestTarget(o, y)
		var so, sr float64
		for j := range r {
			if r[j] > r[y]+1e-9 {
				t.Fatalf("infeasible: %v label %d -> %v", o, y, r)
			}
			so += o[j]
			sr += r[j]
		}
		if math.Abs(so-sr) > 1e-9 {
			t.Fatalf("sum changed %v -> %v", so, sr)
		}
		d0 := dist2(r, o)
		for p := 0; p < 50; p++ {
			q := append([]float64(nil), r...)
			for j := range q {
				q[j] += rng.NormFloat64() * 0.05
			}
			feasible := true
			for j := range q {
				if q[j] > q[y] {
					feasible = false
				}
			}
			if feasible && dist2(q, o) < d0-1e-9 {
				t.Fatalf("found a closer feasible point for %v label %d: %v (%.6g) vs %v (%.6g)", o, y, q, dist2(q, o), r, d0)
			}
		}
	}
}

func dist2(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return s
}

func TestMaxAssignAndOneHot(t *testing.T) {
	got := MaxAssignTarget([]float64{1, 20, -30}, 0, 1, 10)
	want := []float64{10, 10, -10}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MaxAssign = %v want %v", got, want)
		}
	}
	oh := OneHotTarget(4, 2)
	if oh[2] != 1 || oh[0]+oh[1]+oh[3] != 0 {
		t.Fatalf("OneHot = %v", oh)
	}
	if _, err := Targets(Nearest, []float64{1, 2}, 2, []int{5}); err == nil {
		t.Fatal("label out of range accepted")
	}
	if _, err := Targets("bogus", []float64{1, 2}, 2, []int{0}); err == nil {
		t.Fatal("unknown embedding accepted")
	}
}

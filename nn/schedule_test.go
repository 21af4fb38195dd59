package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
)

func TestCosine(t *testing.T) {
	c := nn.Cosine{Base: 0.1, Min: 0.001, Total: 10}
	for _, w := range []struct {
		step int
		lr   float64
	}{{0, 0.1}, {5, 0.0505}, {10, 0.001}, {2, 0.001 + 0.099*(1+math.Cos(math.Pi/5))/2}} {
		if got := c.LR(w.step); math.Abs(got-w.lr) > 1e-15 {
			t.Errorf("LR(%d) = %.17g, want %.17g", w.step, got, w.lr)
		}
	}
	// PyTorch's recursive CosineAnnealingLR.get_lr gives the same sequence.
	lr := c.Base
	for s := 1; s <= c.Total; s++ {
		tm := float64(c.Total)
		lr = (1+math.Cos(math.Pi*float64(s)/tm))/(1+math.Cos(math.Pi*float64(s-1)/tm))*(lr-c.Min) + c.Min
		if math.Abs(c.LR(s)-lr) > 1e-15 {
			t.Errorf("step %d: closed form %.17g, recursion %.17g", s, c.LR(s), lr)
		}
	}
	if (nn.Cosine{Base: 0.3}).LR(7) != 0.3 {
		t.Error("Total 0 does not give Base")
	}
}

func TestReduceOnPlateau(t *testing.T) {
	r := nn.NewReduceOnPlateau(1e-3)
	steps := []struct {
		metric, lr float64
	}{
		{0.5, 1e-3}, {0.6, 1e-3}, // improvements
		{0.6, 1e-3}, {0.6, 1e-3}, {0.6, 1e-3}, // 3 bad steps: patience not exceeded
		{0.60005, 5e-4}, // below the 1e-4 relative threshold: 4th bad step halves the lr
		{0.61, 5e-4}, {0.61, 5e-4}, {0.61, 5e-4}, {0.61, 5e-4}, {0.61, 2.5e-4},
	}
	for i, s := range steps {
		if got := r.Step(s.metric); math.Abs(got-s.lr) > 1e-18 || r.LR() != got {
			t.Fatalf("step %d (metric %g): lr %g, want %g", i, s.metric, got, s.lr)
		}
	}
	// The floor: keep failing until the lr stops at 1e-6.
	for i := 0; i < 100; i++ {
		r.Step(0)
	}
	if r.LR() != 1e-6 {
		t.Errorf("lr %g, want the minimum 1e-6", r.LR())
	}
	// Min mode.
	m := nn.NewReduceOnPlateau(1)
	m.Mode = "min"
	for i, metric := range []float64{5, 4, 4, 4, 4, 4} {
		want := 1.0
		if i == 5 {
			want = 0.5
		}
		if got := m.Step(metric); got != want {
			t.Errorf("min mode step %d: lr %g, want %g", i, got, want)
		}
	}
}

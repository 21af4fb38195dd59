package reverse

import (
	"math"
	"math/rand/v2"
	"testing"
)

func poolForward(kind PoolKind, x []float64, h, w, k int) []float64 {
	ho, wo := h/k, w/k
	out := make([]float64, ho*wo)
	for oy := 0; oy < ho; oy++ {
		for ox := 0; ox < wo; ox++ {
			m, s := math.Inf(-1), 0.0
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					v := x[(oy*k+dy)*w+ox*k+dx]
					m = max(m, v)
					s += v
				}
			}
			if kind == MaxPool {
				out[oy*wo+ox] = m
			} else {
				out[oy*wo+ox] = s / float64(k*k)
			}
		}
	}
	return out
}

// The spec's acceptance example: max pool on a 4×4 map with targets (3, 6; 8, 7.5).
func TestMaxPoolSpecExample(t *testing.T) {
	x0 := []float64{
		1, 5, 2, 4,
		3, 2, 7, 1,
		9, 0, 6, 2,
		4, 1, 3, 5,
	}
	tgt := []float64{3, 6, 8, 7.5}
	x, err := ReversePool(MaxPool, x0, 1, 1, 4, 4, 2, 2, tgt, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := poolForward(MaxPool, x, 4, 4, 2)
	for i := range tgt {
		if got[i] != tgt[i] {
			t.Fatalf("pooled %v want %v (x=%v)", got, tgt, x)
		}
	}
	want := []float64{1, 3, 2, 4, 3, 2, 6, 1, 8, 0, 7.5, 2, 4, 1, 3, 5}
	for i := range want {
		if x[i] != want[i] {
			t.Fatalf("x = %v want %v", x, want)
		}
	}
}

// Projections reproduce random targets exactly and leave uncovered borders untouched;
// the average projection is the L2-closest point (moves every window value equally).
func TestPoolReverseRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, kind := range []PoolKind{MaxPool, AvgPool} {
		h, w, k := 7, 9, 2 // odd sizes: last row/column uncovered
		x0 := randVec(rng, h*w, 1)
		tgt := randVec(rng, (h/k)*(w/k), 1)
		x, err := ReversePool(kind, x0, 1, 1, h, w, k, k, tgt, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := poolForward(kind, x, h, w, k)
		for i := range tgt {
			if math.Abs(got[i]-tgt[i]) > 1e-12 {
				t.Fatalf("kind %d: pooled %v want %v", kind, got[i], tgt[i])
			}
		}
		for y := 0; y < h; y++ {
			if x[y*w+w-1] != x0[y*w+w-1] {
				t.Fatalf("uncovered column changed")
			}
		}
	}
	if _, err := ReversePool(MaxPool, make([]float64, 10), 1, 1, 4, 4, 2, 2, make([]float64, 4), 0); err == nil {
		t.Fatal("bad anchor size accepted")
	}
}

func TestGlobalAvgPoolReverse(t *testing.T) {
	x0 := []float64{1, 2, 3, 6}
	b, _ := ReverseGlobalAvgPool(x0, 1, 1, 2, 2, []float64{5}, false)
	p, _ := ReverseGlobalAvgPool(x0, 1, 1, 2, 2, []float64{5}, true)
	for i := range b {
		if b[i] != 5 || p[i] != x0[i]+2 {
			t.Fatalf("broadcast %v projection %v", b, p)
		}
	}
}

package reverse

import (
	"math"
	"math/rand/v2"
	"testing"
)

func layerNorm(x []float64, w, b []float64, eps float64) []float64 {
	d := len(x)
	m, v := 0.0, 0.0
	for _, u := range x {
		m += u
	}
	m /= float64(d)
	for _, u := range x {
		v += (u - m) * (u - m)
	}
	v /= float64(d)
	out := make([]float64, d)
	for j, u := range x {
		out[j] = (u - m) / math.Sqrt(v+eps)
		if w != nil {
			out[j] = out[j]*w[j] + b[j]
		}
	}
	return out
}

// LayerNorm(reverse(ŷ)) = ŷ for targets LayerNorm can produce, including a zero weight.
func TestLayerNormReverseReproducesTarget(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	d, eps := 6, 1e-6
	for _, zeroW := range []bool{false, true} {
		w, b := randVec(rng, d, 1), randVec(rng, d, 1)
		if zeroW {
			w[2] = 0
		}
		x := randVec(rng, d, 2)
		y := layerNorm(x, w, b, eps)
		anchor := randVec(rng, d, 1)
		xr, err := ReverseLayerNorm(y, anchor, d, w, b, eps)
		if err != nil {
			t.Fatal(err)
		}
		got := layerNorm(xr, w, b, eps)
		for j := range y {
			if math.Abs(got[j]-y[j]) > 1e-6*(1+math.Abs(y[j])) {
				t.Fatalf("zeroW=%v: LN(reverse) = %v want %v", zeroW, got, y)
			}
		}
		if zeroW && math.Abs(xr[2]) > 1e-9 {
			t.Fatalf("invalid position not set to 0: %v", xr)
		}
		if !zeroW { // shift is the closest to the anchor: mean(x̂ − x₀) = 0
			s := 0.0
			for j := range xr {
				s += xr[j] - anchor[j]
			}
			if math.Abs(s) > 1e-9 {
				t.Fatalf("shift not closest: Σ(x̂−x₀) = %v", s)
			}
		}
	}
}

func TestBatchNormReverse(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n, c, hw, eps := 2, 3, 4, 1e-5
	g, b, m, v := []float64{1.5, 1e-5, -0.7}, randVec(rng, c, 1), randVec(rng, c, 1), []float64{0.5, 2, 1}
	x := randVec(rng, n*c*hw, 1)
	y := make([]float64, len(x))
	for i := range x {
		ch := (i / hw) % c
		y[i] = (x[i]-m[ch])/math.Sqrt(v[ch]+eps)*g[ch] + b[ch]
	}
	xr, err := ReverseBatchNorm(y, n, c, hw, g, b, m, v, eps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		ch := (i / hw) % c
		want := x[i]
		if ch == 1 {
			want = 0 // |γ| ≤ 1e-4
		}
		if math.Abs(xr[i]-want) > 1e-9 {
			t.Fatalf("x̂[%d] = %v want %v", i, xr[i], want)
		}
	}
}

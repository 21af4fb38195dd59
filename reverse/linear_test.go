package reverse

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(rng *rand.Rand, n int, s float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64() * s
	}
	return v
}

func matVec(w []float64, m, n int, x []float64) []float64 {
	return newDenseOp(w, m, n).apply(x)
}

// Shrink: W x̂ = ŷ − β to 1e-6 and x̂ − x₀ lies in the row space of W (closest point).
func TestLinearShrinkRecoversTargetAndIsClosest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, n, B := 4, 9, 5
	w, bias := randVec(rng, m*n, 1), randVec(rng, m, 1)
	x0, tgt := randVec(rng, B*n, 1), randVec(rng, B*m, 1)
	x, d, err := Linear(w, bias, m, n, x0, tgt, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != "linear-shrink" || d.Fallbacks != 0 {
		t.Fatalf("diag %+v", d)
	}
	for r := 0; r < B; r++ {
		y := matVec(w, m, n, x[r*n:(r+1)*n])
		for i := range y {
			if rel := math.Abs(y[i]+bias[i]-tgt[r*m+i]) / (1 + math.Abs(tgt[r*m+i])); rel > 1e-6 {
				t.Fatalf("sample %d output %d: residual %.3g", r, i, rel)
			}
		}
		// Optimality: the step must be orthogonal to the null space of W, i.e. Wᵀ z for
		// some z; equivalently its projection on null(W) vanishes. Check with random null
		// vectors built by projecting random vectors.
		step := make([]float64, n)
		for j := range step {
			step[j] = x[r*n+j] - x0[r*n+j]
		}
		nv := randVec(rng, n, 1)
		xs, _, _ := Linear(w, nil, m, n, nv, make([]float64, m), DefaultOptions()) // projection of nv on null(W)
		dot := 0.0
		for j := range step {
			dot += step[j] * xs[j]
		}
		if math.Abs(dot) > 1e-8*norm2(step)*norm2(xs) {
			t.Fatalf("step not orthogonal to null(W): %.3g", dot)
		}
	}
}

// Expand: least-squares optimality Wᵀ(Wx̂ − b) = 0 for inconsistent targets.
func TestLinearExpandIsLeastSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	m, n, B := 9, 4, 3
	w := randVec(rng, m*n, 1)
	x0, tgt := randVec(rng, B*n, 1), randVec(rng, B*m, 1)
	x, d, err := Linear(w, nil, m, n, x0, tgt, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d.Method != "linear-expand" || d.Fallbacks != 0 {
		t.Fatalf("diag %+v", d)
	}
	op := newDenseOp(w, m, n)
	for r := 0; r < B; r++ {
		if res := op.lstsqResidual(x[r*n:(r+1)*n], tgt[r*m:(r+1)*m]); res > 1e-12 {
			t.Fatalf("sample %d: lstsq residual %.3g", r, res)
		}
	}
	// A consistent expand problem is solved exactly.
	xt := randVec(rng, n, 1)
	x, _, _ = Linear(w, nil, m, n, x0[:n], op.apply(xt), DefaultOptions())
	for j := range xt {
		if math.Abs(x[j]-xt[j]) > 1e-9 {
			t.Fatalf("consistent expand: got %v want %v", x, xt)
		}
	}
}

// A rank-deficient shrink with a huge target must take the Tikhonov fallback and stay
// finite and bounded by MaxAbs.
func TestLinearFallbackOnIllConditioned(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	m, n := 3, 6
	w := randVec(rng, m*n, 1)
	copy(w[2*n:3*n], w[0:n]) // row 2 = row 0: WWᵀ singular
	for j := 0; j < n; j++ {
		w[2*n+j] += 1e-13 * rng.NormFloat64()
	}
	x0 := randVec(rng, n, 1)
	tgt := []float64{1e6, -3, 5} // inconsistent with rows 0 and 2 being equal
	opt := DefaultOptions()
	x, d, err := Linear(w, nil, m, n, x0, tgt, opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Fallbacks != 1 {
		t.Fatalf("expected the fallback, diag %+v", d)
	}
	if !finiteBounded(x, opt.MaxAbs*(1+1e-9)) {
		t.Fatalf("fallback not bounded: %v", x)
	}
}

// The Tikhonov solution must satisfy its normal equations (AᵀA + αI)(x − x₀) = Aᵀ r.
func TestTikhonovNormalEquations(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	for _, sz := range [][2]int{{3, 7}, {7, 3}, {5, 5}} {
		m, n := sz[0], sz[1]
		w := randVec(rng, m*n, 1)
		tk, ok := NewTikhonov(w, m, n, DefaultOptions())
		if !ok {
			t.Fatal("svd failed")
		}
		b, x0 := randVec(rng, m, 10), randVec(rng, n, 1)
		x, alpha := tk.Solve(b, x0)
		op := newDenseOp(w, m, n)
		ax0 := op.apply(x0)
		r := make([]float64, m)
		for i := range r {
			r[i] = b[i] - ax0[i]
		}
		dx := make([]float64, n)
		for j := range dx {
			dx[j] = x[j] - x0[j]
		}
		lhs := op.applyT(op.apply(dx))
		rhs := op.applyT(r)
		for j := range lhs {
			lhs[j] += alpha * dx[j]
			if math.Abs(lhs[j]-rhs[j]) > 1e-9*(1+math.Abs(rhs[j])) {
				t.Fatalf("%dx%d: normal equations off at %d: %v vs %v", m, n, j, lhs[j], rhs[j])
			}
		}
	}
}

// TestLinearFromForward: an unchanged target returns the anchor bit for bit, and a
// changed one agrees with Linear (the residual ŷ − y₀ equals b − W x₀ mathematically).
func TestLinearFromForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	m, n, B := 4, 12, 5
	w, bias := randSlice(rng, m*n, 1), randSlice(rng, m, 1)
	x0 := randSlice(rng, B*n, 1)
	y0 := make([]float64, B*m)
	for r := 0; r < B; r++ {
		for i := 0; i < m; i++ {
			s := bias[i]
			for j := 0; j < n; j++ {
				s += w[i*n+j] * x0[r*n+j]
			}
			y0[r*m+i] = float64(float32(s)) // as a float32 network computes it
		}
	}
	x, _, err := LinearFromForward(w, bias, m, n, x0, y0, y0, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if x[i] != x0[i] {
			t.Fatalf("unchanged target moved the anchor at %d: %g vs %g", i, x[i], x0[i])
		}
	}
	tg := append([]float64(nil), y0...)
	tg[1] += 0.5
	x1, _, _ := LinearFromForward(w, bias, m, n, x0, y0, tg, DefaultOptions())
	x2, _, _ := Linear(w, bias, m, n, x0, tg, DefaultOptions())
	for i := range x1 {
		if math.Abs(x1[i]-x2[i]) > 1e-6 {
			t.Fatalf("LinearFromForward and Linear differ at %d: %g vs %g", i, x1[i], x2[i])
		}
	}
	for r := 1; r < B; r++ {
		for j := 0; j < n; j++ {
			if x1[r*n+j] != x0[r*n+j] {
				t.Fatalf("row %d with an unchanged target moved", r)
			}
		}
	}
}

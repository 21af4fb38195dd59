package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sgemmPath is one SGEMM implementation under test; sgemmPaths (gemm_amd64_test.go,
// gemm_fast_generic_test.go) lists every path this build and CPU can run.
type sgemmPath struct {
	name string
	fn   func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

type gemmCase struct {
	m, n, k          int
	transA, transB   bool
	alpha, beta      float32
	padA, padB, padC int // extra leading-dimension slack
}

func (g gemmCase) String() string {
	return fmt.Sprintf("m=%d n=%d k=%d tA=%v tB=%v alpha=%v beta=%v pad=%d/%d/%d",
		g.m, g.n, g.k, g.transA, g.transB, g.alpha, g.beta, g.padA, g.padB, g.padC)
}

// checkGemmCase runs every path on g and compares it with SgemmRef, element by element,
// against a bound of 1e-6·(k+4) times Σ|alpha·a·b| + |beta·c| (≈16× the worst float32
// rounding), so a lost, doubled or misplaced product fails. C's slack columns must be
// left alone, and beta = 0 must ignore the NaNs C is filled with.
func checkGemmCase(t *testing.T, rng *rand.Rand, g gemmCase, paths []sgemmPath) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.transA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.transB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := ac+g.padA, bc+g.padB, g.n+g.padC
	a := make([]float32, max(ar*lda, 1))
	b := make([]float32, max(br*ldb, 1))
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	c0 := make([]float32, g.m*ldc)
	for i := range c0 {
		if g.beta == 0 || i%ldc >= g.n {
			c0[i] = float32(math.NaN())
		} else {
			c0[i] = float32(rng.NormFloat64())
		}
	}
	want := append([]float32(nil), c0...)
	SgemmRef(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, want, ldc)
	// mag bounds the size of the terms summed into each element.
	absA, absB := make([]float32, len(a)), make([]float32, len(b))
	for i, v := range a {
		absA[i] = float32(math.Abs(float64(v)))
	}
	for i, v := range b {
		absB[i] = float32(math.Abs(float64(v)))
	}
	mag := make([]float32, len(c0))
	SgemmRef(g.transA, g.transB, g.m, g.n, g.k, float32(math.Abs(float64(g.alpha))), absA, lda, absB, ldb, 0, mag, ldc)
	c := make([]float32, len(c0))
	for _, p := range paths {
		copy(c, c0)
		p.fn(g.transA, g.transB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
		for i := 0; i < g.m; i++ {
			for j := 0; j < ldc; j++ {
				x := i*ldc + j
				if j >= g.n {
					if !math.IsNaN(float64(c[x])) {
						t.Fatalf("%s %v: C[%d,%d] outside n was overwritten with %v", p.name, g, i, j, c[x])
					}
					continue
				}
				bound := float64(mag[x])
				if g.beta != 0 {
					bound += math.Abs(float64(g.beta * c0[x]))
				}
				tol := 1e-6*float64(g.k+4)*bound + 1e-30
				if d := math.Abs(float64(c[x] - want[x])); !(d <= tol) {
					t.Fatalf("%s %v: C[%d,%d]=%v want %v (|diff| %.3g > tol %.3g)", p.name, g, i, j, c[x], want[x], d, tol)
				}
			}
		}
	}
}

func allTrans(f func(ta, tb bool)) {
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			f(ta, tb)
		}
	}
}

// Random small and odd shapes (every edge-tile combination), all transposes, several
// alpha/beta pairs and padded leading dimensions, for every path.
func TestSgemmPathsRandomShapes(t *testing.T) {
	paths := sgemmPaths()
	rng := rand.New(rand.NewPCG(11, 12))
	ab := [][2]float32{{1, 0}, {1, 1}, {0.5, 0.5}, {-1.5, 0}, {2, -1}}
	iters := 60
	if testing.Short() {
		iters = 15
	}
	for it := 0; it < iters; it++ {
		m, n, k := 1+rng.IntN(67), 1+rng.IntN(67), 1+rng.IntN(67)
		allTrans(func(ta, tb bool) {
			x := ab[rng.IntN(len(ab))]
			checkGemmCase(t, rng, gemmCase{m: m, n: n, k: k, transA: ta, transB: tb, alpha: x[0], beta: x[1],
				padA: rng.IntN(3) * rng.IntN(9), padB: rng.IntN(3) * rng.IntN(9), padC: rng.IntN(3) * rng.IntN(9)}, paths)
		})
	}
}

// Shapes on and around the tile and block sizes (14×32 and 6×16 tiles, k blocks of 256),
// tall and wide matrices (both parallel splits) and sizes large enough to run in parallel.
func TestSgemmPathsBlockEdges(t *testing.T) {
	paths := sgemmPaths()
	rng := rand.New(rand.NewPCG(13, 14))
	shapes := [][3]int{
		{1, 1, 1}, {14, 32, 1}, {14, 32, 256}, {28, 64, 257}, {15, 33, 255}, {13, 31, 512},
		{6, 16, 7}, {7, 17, 300}, {1, 300, 300}, {300, 1, 300}, {1, 1, 700},
		{500, 9, 70}, {9, 500, 70}, {169, 2049, 3}, {200, 231, 263},
	}
	if !testing.Short() {
		for i := 0; i < 3; i++ {
			shapes = append(shapes, [3]int{200 + rng.IntN(101), 200 + rng.IntN(101), 200 + rng.IntN(101)})
		}
	}
	for _, s := range shapes {
		allTrans(func(ta, tb bool) {
			for _, beta := range []float32{0, 1, 0.5} {
				checkGemmCase(t, rng, gemmCase{m: s[0], n: s[1], k: s[2], transA: ta, transB: tb, alpha: 0.75, beta: beta,
					padA: 3, padB: 1, padC: 5}, paths)
			}
		})
	}
}

// The same with one worker (the serial path of every implementation).
func TestSgemmPathsSerial(t *testing.T) {
	old := Workers
	Workers = 1
	defer func() { Workers = old }()
	paths := sgemmPaths()
	rng := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][3]int{{129, 257, 300}, {37, 45, 61}} {
		allTrans(func(ta, tb bool) {
			checkGemmCase(t, rng, gemmCase{m: s[0], n: s[1], k: s[2], transA: ta, transB: tb, alpha: 1, beta: 0.5, padC: 2}, paths)
		})
	}
}

// k = 0 and alpha = 0 only scale C (beta = 0 clears it, NaNs included).
func TestSgemmPathsDegenerate(t *testing.T) {
	for _, p := range sgemmPaths() {
		for _, k := range []int{0, 5} {
			c := []float32{float32(math.NaN()), 2, 3, 4, 5, 6}
			a, b := make([]float32, max(2*k, 1)), make([]float32, max(3*k, 1))
			for i := range a {
				a[i] = float32(math.NaN()) // must not be read when alpha = 0
			}
			alpha := float32(0)
			if k == 0 {
				alpha = 1
			}
			p.fn(false, false, 2, 3, k, alpha, a, max(k, 1), b, 3, 0, c, 3)
			for i, v := range c {
				if v != 0 {
					t.Fatalf("%s k=%d beta=0: c[%d]=%v want 0", p.name, k, i, v)
				}
			}
			c = []float32{1, 2, 3, 4, 5, 6}
			p.fn(false, false, 2, 3, k, alpha, a, max(k, 1), b, 3, 2, c, 3)
			for i, v := range c {
				if v != float32(2*(i+1)) {
					t.Fatalf("%s k=%d beta=2: c[%d]=%v want %v", p.name, k, i, v, 2*(i+1))
				}
			}
		}
	}
}

// Gemm with alpha and Gemm with alpha 1 on alpha·A (A scaled first, rounded once per
// element) give the same bits on every path, float32 and float64: each path multiplies
// alpha into A before the products. nn.MultiheadAttention relies on it to scale dS once
// and take the alpha-1 kernels.
func TestGemmAlphaFoldSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, s := range [][3]int{{65, 16, 65}, {30, 40, 50}, {200, 16, 300}} {
		m, n, k := s[0], s[1], s[2]
		for _, transA := range []bool{false, true} {
			a32, b32 := make([]float32, m*k), make([]float32, k*n)
			for i := range a32 {
				a32[i] = float32(rng.NormFloat64())
			}
			for i := range b32 {
				b32[i] = float32(rng.NormFloat64())
			}
			lda := k
			if transA {
				lda = m
			}
			alpha := float32(0.3)
			scaled := append([]float32(nil), a32...)
			Scale(alpha, scaled)
			for _, p := range sgemmPaths() {
				want, got := make([]float32, m*n), make([]float32, m*n)
				p.fn(transA, false, m, n, k, alpha, a32, lda, b32, n, 0, want, n)
				p.fn(transA, false, m, n, k, 1, scaled, lda, b32, n, 0, got, n)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %dx%dx%d transA=%v: c[%d] = %v with alpha folded into A, %v with alpha", p.name, m, n, k, transA, i, got[i], want[i])
					}
				}
			}
			a64, b64 := to64(a32), to64(b32)
			scaled64 := append([]float64(nil), a64...)
			Scale(float64(alpha), scaled64)
			want, got := make([]float64, m*n), make([]float64, m*n)
			Dgemm(transA, false, m, n, k, float64(alpha), a64, lda, b64, n, 0, want, n)
			Dgemm(transA, false, m, n, k, 1, scaled64, lda, b64, n, 0, got, n)
			for i := range want {
				if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
					t.Fatalf("Dgemm %dx%dx%d transA=%v: c[%d] = %v with alpha folded into A, %v with alpha", m, n, k, transA, i, got[i], want[i])
				}
			}
		}
	}
}

// GemmBias gives the bits of filling C's rows with the bias and calling Gemm with beta 1,
// on the serial, shared and column-split drivers (1 to 3 Workers), with edge tiles, with
// k across several k slices, and every transpose; C's slack columns stay untouched.
func TestGemmBiasSameBits(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, w := range []int{1, 2, 3} {
		Workers = w
		for _, s := range [][3]int{{1, 1, 1}, {15, 33, 7}, {300, 200, 100}, {20, 700, 60}, {130, 96, 600}, {4160, 192, 192}} {
			m, n, k := s[0], s[1], s[2]
			allTrans(func(ta, tb bool) {
				ar, ac := m, k
				if ta {
					ar, ac = k, m
				}
				br, bc := k, n
				if tb {
					br, bc = n, k
				}
				a, b, bias := make([]float32, ar*ac), make([]float32, br*bc), make([]float32, n)
				for _, v := range [][]float32{a, b, bias} {
					for i := range v {
						v[i] = float32(rng.NormFloat64())
					}
				}
				ldc := n + 3
				want, got := make([]float32, m*ldc), make([]float32, m*ldc)
				for i := range got {
					got[i], want[i] = 7, 7
				}
				for r := 0; r < m; r++ {
					copy(want[r*ldc:r*ldc+n], bias)
				}
				Sgemm(ta, tb, m, n, k, 1, a, ac, b, bc, 1, want, ldc)
				GemmBias(ta, tb, m, n, k, a, ac, b, bc, bias, got, ldc)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("Workers %d %dx%dx%d tA=%v tB=%v: c[%d] = %v, with the rows filled first %v", w, m, n, k, ta, tb, i, got[i], want[i])
					}
				}
			})
		}
	}
}

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxPool2x2MatchesGeneral checks the 2×2/2 fast path against the window loop written
// out (first arg-max in row-major order), odd sizes and many ties included.
func TestMaxPool2x2MatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, sz := range [][3]int{{3, 8, 8}, {2, 7, 9}, {1, 24, 24}, {4, 5, 4}} {
		planes, h, w := sz[0], sz[1], sz[2]
		x := make([]float32, planes*h*w)
		for i := range x {
			x[i] = float32(rng.IntN(4)) // many ties
		}
		ho, wo := h/2, w/2
		y, idx := make([]float32, planes*ho*wo), make([]int32, planes*ho*wo)
		MaxPool2dForward(planes, h, w, 2, 2, 0, x, y, idx)
		for p := 0; p < planes; p++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					best, bi := float32(0), int32(-1)
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							j := int32((2*oy+dy)*w + 2*ox + dx)
							if v := x[p*h*w+int(j)]; bi < 0 || v > best {
								best, bi = v, j
							}
						}
					}
					o := p*ho*wo + oy*wo + ox
					if y[o] != best || idx[o] != bi {
						t.Fatalf("%v plane %d (%d,%d): got %v@%d want %v@%d", sz, p, oy, ox, y[o], idx[o], best, bi)
					}
				}
			}
		}
	}
}

func checkReLUMaxPoolSameBits[F Float](t *testing.T, rng *rand.Rand, planes, h, w int) {
	t.Helper()
	ho, wo := h/2, w/2
	x := make([]F, planes*h*w)
	for i := range x {
		switch rng.IntN(4) {
		case 0:
			x[i] = F(rng.IntN(3) - 1) // ties, zeros
			if rng.IntN(50) == 0 {
				x[i] = F(math.NaN())
			}
		case 1:
			x[i] = F(math.Copysign(0, -1))
		default:
			x[i] = F(rng.NormFloat64())
		}
	}
	dy := make([]F, planes*ho*wo)
	for i := range dy {
		switch rng.IntN(5) {
		case 0:
			dy[i] = 0
		case 1:
			dy[i] = F(math.Copysign(0, -1))
		default:
			dy[i] = F(rng.NormFloat64())
		}
	}
	// Reference: the two layers' passes.
	ra := make([]F, len(x))
	for i, v := range x {
		ra[i] = max(v, 0)
	}
	ry, ridx := make([]F, len(dy)), make([]int32, len(dy))
	MaxPool2dForward(planes, h, w, 2, 2, 0, ra, ry, ridx)
	rdx := make([]F, len(x))
	MaxPool2dBackward(planes, h*w, ho*wo, dy, rdx, ridx)
	for i := range rdx {
		if ra[i] == 0 {
			rdx[i] = 0
		}
	}
	for _, workers := range []int{1, 2, 3} {
		old := Workers
		Workers = workers
		a, y, idx, dx := make([]F, len(x)), make([]F, len(dy)), make([]int32, len(dy)), make([]F, len(x))
		for i := range dx {
			dx[i], a[i] = 7, 7 // overwritten
		}
		ReLUMaxPool2x2(planes, h, w, x, a, y, idx)
		ReLUMaxPool2x2Backward(planes, h, w, dy, y, idx, dx)
		Workers = old
		for _, c := range []struct {
			name      string
			got, want []F
		}{{"a", a, ra}, {"y", y, ry}, {"dx", dx, rdx}} {
			if i := sameBits(c.got, c.want); i >= 0 {
				t.Fatalf("%T %d×%d×%d workers %d: %s[%d]=%v, separate passes give %v", F(0), planes, h, w, workers, c.name, i, c.got[i], c.want[i])
			}
		}
		for i := range idx {
			if idx[i] != ridx[i] {
				t.Fatalf("%T %d×%d×%d: idx[%d]=%d, want %d", F(0), planes, h, w, i, idx[i], ridx[i])
			}
		}
	}
}

// The fused ReLU + 2×2 max pool and its backward give the same bits as ReLU, then
// MaxPool2dForward, and MaxPool2dBackward, then the ReLU mask: ties, zeros, negative
// zeros and NaNs in x and dy, odd heights and widths, rows of 1–35 windows (the AVX-512
// kernel's full and masked blocks of 16), 1–3 workers, float32 and float64.
func TestReLUMaxPool2x2SameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, sz := range [][3]int{{3, 8, 8}, {2, 7, 9}, {20, 24, 24}, {4, 5, 4}, {1, 2, 2}, {3, 3, 5}, {17, 12, 13}, {9, 3, 3}, {2, 40, 70}, {3, 34, 33}, {2, 6, 64}} {
		checkReLUMaxPoolSameBits[float32](t, rng, sz[0], sz[1], sz[2])
		checkReLUMaxPoolSameBits[float64](t, rng, sz[0], sz[1], sz[2])
	}
}

// BenchmarkReLUMaxPool2x2 times the fused ReLU + pool on the SimpleCNN v2 conv1 output of
// a batch of 256 (forward, backward) against the two separate passes.
func BenchmarkReLUMaxPool2x2(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	planes, h, w := 256*3, 24, 24
	x := make([]float32, planes*h*w)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	a, dx := make([]float32, len(x)), make([]float32, len(x))
	y, idx := make([]float32, len(x)/4), make([]int32, len(x)/4)
	dy := make([]float32, len(y))
	b.Run("forward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ReLUMaxPool2x2(planes, h, w, x, a, y, idx)
		}
	})
	b.Run("forward-separate", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j, v := range x {
				a[j] = max(v, 0)
			}
			MaxPool2dForward(planes, h, w, 2, 2, 0, a, y, idx)
		}
	})
	b.Run("backward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ReLUMaxPool2x2Backward(planes, h, w, dy, y, idx, dx)
		}
	})
}

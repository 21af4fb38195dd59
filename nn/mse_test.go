package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/tensor"
)

// The chunked, parallel MSE kernels agree with the float64 definition on sizes that are
// not multiples of the chunk, with one and two workers, and MSEGradInto applies its scale.
func TestMSEChunkedMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	old := tensor.Workers
	defer func() { tensor.Workers = old }()
	for _, n := range []int{1, 7, mseGrain - 1, 3*mseGrain + 5} {
		x, y := tensor.New[float32](n), tensor.New[float32](n)
		for i := range x.Data {
			x.Data[i], y.Data[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		var want float64
		for i := range x.Data {
			d := float64(x.Data[i]) - float64(y.Data[i])
			want += d * d
		}
		want /= float64(n)
		for _, w := range []int{1, 2} {
			tensor.Workers = w
			if got := MSEValue(x, y); math.Abs(got-want) > 1e-5*want {
				t.Fatalf("n=%d workers=%d: MSE %v, want %v", n, w, got, want)
			}
			g := MSEGradInto(nil, x, y, 0.25)
			for i := range g.Data {
				wg := 0.25 * 2 * (float64(x.Data[i]) - float64(y.Data[i])) / float64(n)
				if math.Abs(float64(g.Data[i])-wg) > 1e-6*(math.Abs(wg)+1e-12) {
					t.Fatalf("n=%d workers=%d: grad[%d] %v, want %v", n, w, i, g.Data[i], wg)
				}
			}
		}
	}
}

func checkMSERowsSameBits[F tensor.Float](t *testing.T, rng *rand.Rand, rows, size, srcRows int) {
	t.Helper()
	src := make([]F, srcRows*size)
	for i := range src {
		src[i] = F(rng.NormFloat64())
	}
	idx := make([]int, rows)
	for i := range idx {
		idx[i] = rng.IntN(srcRows) // repeats allowed
	}
	x, tgt := tensor.New[F](rows, size), tensor.New[F](rows, size)
	for i := range x.Data {
		x.Data[i] = F(rng.NormFloat64())
	}
	for i, r := range idx {
		copy(tgt.Data[i*size:(i+1)*size], src[r*size:(r+1)*size])
	}
	for _, w := range []int{1, 2, 3} {
		tensor.Workers = w
		want := MSEValue(x, tgt)
		gw := MSEGradInto(nil, x, tgt, 0.37)
		mse, gd := MSEDiffRowsInto(nil, x, src, idx)
		if math.Float64bits(mse) != math.Float64bits(want) {
			t.Fatalf("%T rows %d size %d workers %d: MSEDiffRowsInto %v, gathered %v", F(0), rows, size, w, mse, want)
		}
		gd = MSEGradFromDiff(gd, 0.37)
		for i := range gw.Data {
			if gd.Data[i] != gw.Data[i] || math.Signbit(float64(gd.Data[i])) != math.Signbit(float64(gw.Data[i])) {
				t.Fatalf("%T rows %d size %d workers %d: grad from the differences [%d] %v, gathered %v", F(0), rows, size, w, i, gd.Data[i], gw.Data[i])
			}
		}
	}
}

// The MSE kernels that read the target rows in place (MSEDiffRowsInto followed by
// MSEGradFromDiff) give the same bits as MSEValue and
// MSEGradInto on the gathered batch: rows that are and are
// not multiples of eight, rows longer than a chunk, chunks ending mid-row, 1–3 workers.
func TestMSERowsSameBitsAsGathered(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	old := tensor.Workers
	defer func() { tensor.Workers = old }()
	for _, c := range []struct{ rows, size int }{{1, 1}, {3, 7}, {256, 1728}, {17, 13}, {5, 3*mseGrain + 3}, {40, 1000}, {9, 8}} {
		checkMSERowsSameBits[float32](t, rng, c.rows, c.size, 50)
		checkMSERowsSameBits[float64](t, rng, c.rows, c.size, 7)
	}
}

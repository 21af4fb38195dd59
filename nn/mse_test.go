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

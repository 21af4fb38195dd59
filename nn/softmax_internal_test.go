package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The batched float32 softmax gives the bits of the row-at-a-time one (softmaxLongRows32,
// here with a 64-float buffer, the old block size) for row lengths that fill the batch
// evenly or not, fewer rows than a batch, one column, and in place.
func TestSoftmaxRows32BatchSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, cols := range []int{1, 7, 65, 100, 333, softmaxBlock} {
		for _, rows := range []int{1, 3, 4, 5, 37} {
			src := make([]float32, rows*cols)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 4)
			}
			want := make([]float32, len(src))
			softmaxLongRows32(want, src, cols, make([]float64, 64))
			got := make([]float32, len(src))
			softmaxRows32(got, src, cols)
			inPlace := append([]float32(nil), src...)
			softmaxRows32(inPlace, inPlace, cols)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(inPlace[i]) != math.Float32bits(want[i]) {
					t.Fatalf("cols %d rows %d: element %d = %v (in place %v), row by row %v", cols, rows, i, got[i], inPlace[i], want[i])
				}
			}
		}
	}
}

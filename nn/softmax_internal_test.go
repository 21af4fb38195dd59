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
			// Rows whose maximum is a tie of ±0, holds a NaN, is +Inf, or is −Inf.
			special := []float32{float32(math.Copysign(0, -1)), 0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
			for r := 1; r < rows && r <= 4; r++ {
				row := src[r*cols : (r+1)*cols]
				switch r {
				case 1:
					for j := range row {
						row[j] = -float32(math.Abs(float64(row[j])))
						if j%2 == 0 {
							row[j] = special[j%4/2]
						}
					}
				case 2:
					row[cols/2] = special[2]
				case 3:
					row[cols-1] = special[3]
				case 4:
					for j := range row {
						row[j] = special[4]
					}
				}
			}
			want := make([]float32, len(src))
			softmaxLongRows32(want, src, cols, make([]float64, 64))
			got := make([]float32, len(src))
			softmaxRows32(got, src, cols)
			inPlace := append([]float32(nil), src...)
			softmaxRows32(inPlace, inPlace, cols)
			for i := range want {
				if !sameFloat32(got[i], want[i]) || !sameFloat32(inPlace[i], want[i]) {
					t.Fatalf("cols %d rows %d: element %d = %v (in place %v), row by row %v", cols, rows, i, got[i], inPlace[i], want[i])
				}
			}
		}
	}
}

// sameFloat32 reports whether a and b have the same bits, or are both NaN (whose sign and
// payload depend on which NaN an operation met first).
func sameFloat32(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// The four-rows-at-a-time float32 softmax backward gives the bits of the row-at-a-time
// formula, with and without dx aliasing dy, for row counts that leave 0–3 rows over.
func TestSoftmaxRowsBackward32SameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cols := range []int{1, 65, 130} {
		for _, rows := range []int{1, 4, 6, 11} {
			y, dy := make([]float32, rows*cols), make([]float32, rows*cols)
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			for i := range y {
				y[i] = float32(rng.NormFloat64())
			}
			softmaxRows32(y, y, cols)
			want := make([]float32, len(y))
			for r := 0; r < rows; r++ {
				var dot float64
				for j := 0; j < cols; j++ {
					dot += float64(y[r*cols+j]) * float64(dy[r*cols+j])
				}
				d := float32(dot)
				for j := 0; j < cols; j++ {
					want[r*cols+j] = y[r*cols+j] * (dy[r*cols+j] - d)
				}
			}
			got := make([]float32, len(y))
			SoftmaxRowsBackward(got, dy, y, cols)
			SoftmaxRowsBackward(dy, dy, y, cols)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(dy[i]) != math.Float32bits(want[i]) {
					t.Fatalf("cols %d rows %d: element %d = %v (in place %v), row by row %v", cols, rows, i, got[i], dy[i], want[i])
				}
			}
		}
	}
}

//go:build !amd64 || purego || openblas

package tensor

// reluPool2x2Plane32 reports false: the scalar loops of ReLUMaxPool2x2 run instead.
func reluPool2x2Plane32(x, a, y []float32, idx []int32, h, w int) bool { return false }

// sumSqDiff8_32 reports false: SumSqDiff8 runs its Go loop.
func sumSqDiff8_32(x, y []float32, acc *[8]float32) bool { return false }

// narrow32 takes no elements: NarrowToFloat32 and MulNarrow run their Go loops.
func narrow32(dst, g []float32, b []float64) int { return 0 }

// max32 reports false: Max32 runs its Go loop.
func max32(s []float32) (float32, bool) { return 0, false }

// addRows32 reports false: AddRowSums runs its Go loop.
func addRows32(dst, m []float32, rows, ld int) bool { return false }

// scaledDiff32 reports false: ScaledDiff runs its Go loop.
func scaledDiff32(k float32, x, y, d []float32) bool { return false }

// dotTaps32 sets out[t] = dot32(x[offs[t]:], g) for every t.
func dotTaps32(x []float32, offs []int32, g, out []float32) {
	for t, o := range offs {
		out[t] = dot32(x[o:], g)
	}
}

// convTapsMulti32 is y[ch·n+j] += Σ_t wI[t·c+ch]·x[offs[t]+j] for ch < c, j < n.
func convTapsMulti32(x []float32, offs []int32, wI, y []float32, n, c int) {
	if n == 0 {
		return
	}
	for ch := 0; ch < c; ch++ {
		for t, o := range offs {
			axpy32(wI[t*c+ch], x[int(o):], y[ch*n:(ch+1)*n])
		}
	}
}

// reluPoolBack2x2Plane32 reports false: the scalar scatter runs instead.
func reluPoolBack2x2Plane32(dy, y []float32, idx []int32, dx []float32, h, w int) bool {
	return false
}

// sumSqDiffStore8_32 reports false: SumSqDiffStore8 runs its Go loop.
func sumSqDiffStore8_32(x, y, d []float32, acc *[8]float32) bool { return false }

// scale32 takes no values: Scale runs its Go loop.
func scale32(k float32, y []float32) int { return 0 }

// copyRows32 reports false: copyRows copies row by row.
func copyRows32(dst, src []float32, rows, width, dstStride, srcStride int) bool { return false }

// The *Vec functions take no elements: the Go loops of elementwise.go do them all.
func reluVec(x, y []float32) int                            { return 0 }
func reluMaskVec(dx, dy, y []float32) int                   { return 0 }
func affineVec(x, y []float32, m, s, b float32) int         { return 0 }
func affine2Vec(g, x, d []float32, k, c, m, c0 float32) int { return 0 }
func adamwVec(w, g, m, v []float32, c *[8]float32) int      { return 0 }
func addVec(x, y, d []float32) int                          { return 0 }
func expNegVec(b []float64) int                             { return 0 }
func geluVec(b []float64) int                               { return 0 }
func geluGradVec(b []float64) int                           { return 0 }

// shiftedSums8_32 and dotShifted8_32 report false: the Go loops run.
func shiftedSums8_32(v []float32, s float32, a, q *[8]float32) bool   { return false }
func dotShifted8_32(g, x []float32, m float32, a, q *[8]float32) bool { return false }

// max8_32 and shiftF64_32 take no elements: the Go loops run.
func max8_32(s []float32, m *[8]float32) int              { return 0 }
func shiftF64_32(b []float64, s []float32, m float32) int { return 0 }

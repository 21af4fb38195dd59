//go:build !amd64 || purego || openblas

package tensor

// convTaps32 is y[j] += Σ_t w[t]·x[offs[t]+j] for j < len(y): one axpy per tap.
func convTaps32(x []float32, offs []int32, w, y []float32) {
	for t, o := range offs {
		axpy32(w[t], x[int(o):], y)
	}
}

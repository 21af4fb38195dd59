//go:build amd64 && !purego && !openblas

package tensor

import "golang.org/x/sys/cpu"

// convTapsAVX512 is y[j] += Σ_t w[t]·x[offs[t]+j] for j < len(y) (convtaps_amd64.s), the
// taps kept in registers instead of one pass of y per tap, the tail in a masked block.
//
//go:noescape
func convTapsAVX512(x []float32, offs []int32, w []float32, y []float32)

var hasAVX512 = cpu.X86.HasAVX512F

// convTaps32 is y[j] += Σ_t w[t]·x[offs[t]+j] for j < len(y), taps in order with one
// fused multiply-add each: the same bits as one axpy per tap.
func convTaps32(x []float32, offs []int32, w, y []float32) {
	if len(y) == 0 || len(offs) == 0 {
		return
	}
	if hasAVX512 {
		for _, o := range offs {
			_ = x[int(o)+len(y)-1]
		}
		_ = w[len(offs)-1]
		convTapsAVX512(x, offs, w, y)
		return
	}
	if hasAVX2FMA {
		convTapsAVX2(x, offs, w, y, len(y), 1)
		return
	}
	for t, o := range offs {
		axpy32(w[t], x[int(o):], y)
	}
}

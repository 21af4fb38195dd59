//go:build amd64 && !purego && !openblas

package tensor

//go:generate go run pool_amd64_gen.go

// reluAVX512 is a[i] = max(x[i], 0) for i < len(a): see pool_amd64_gen.go.
//
//go:noescape
func reluAVX512(x, a []float32)

// maxPool2x2PlaneAVX512 pools one h×w plane 2×2 with stride 2: see pool_amd64_gen.go.
//
//go:noescape
func maxPool2x2PlaneAVX512(a, y []float32, idx []int32, h, w int)

// reluPool2x2Plane32 is ReLUMaxPool2x2 on one plane with AVX-512 (the same bits as the
// scalar loops); it reports false, doing nothing, on CPUs without it.
func reluPool2x2Plane32(x, a, y []float32, idx []int32, h, w int) bool {
	if !hasAVX512 || h < 2 || w < 2 {
		return false
	}
	ho, wo := h/2, w/2
	x, a = x[:h*w], a[:h*w]
	y, idx = y[:ho*wo], idx[:ho*wo]
	reluAVX512(x, a)
	maxPool2x2PlaneAVX512(a, y, idx, h, w)
	return true
}

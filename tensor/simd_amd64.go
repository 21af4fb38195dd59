//go:build amd64 && !purego && !openblas

package tensor

//go:generate go run simd_amd64_gen.go
//go:generate go run elementwise_avx2_gen.go
//go:generate go run simd_avx2_gen.go
//go:generate go run vecreduce_amd64_gen.go

// reluAVX512 is a[i] = max(x[i], 0) for i < len(a): see simd_amd64_gen.go.
//
//go:noescape
func reluAVX512(x, a []float32)

// maxPool2x2PlaneAVX512 pools one h×w plane 2×2 with stride 2: see simd_amd64_gen.go.
//
//go:noescape
func maxPool2x2PlaneAVX512(a, y []float32, idx []int32, h, w int)

// sumSqDiff8AVX2 adds (x[i] − y[i])² to acc[i mod 8] for i < len(x) &^ 7: see
// simd_amd64_gen.go.
//
//go:noescape
func sumSqDiff8AVX2(x, y []float32, acc *[8]float32)

// scaledDiffAVX512 is d[i] = k·(x[i] − y[i]) for i < len(d): see simd_amd64_gen.go.
//
//go:noescape
func scaledDiffAVX512(k float32, x, y, d []float32)

// dotTapsAVX512 computes dotTapsGroup dot products of g with x at offs, as dotAVX2 would:
// see simd_amd64_gen.go.
//
//go:noescape
func dotTapsAVX512(x []float32, offs []int32, g []float32, out []float32)

// dotTapsGroup is the number of taps of one dotTapsAVX512 call (simd_amd64_gen.go).
const dotTapsGroup = 13

// reluPool2x2Plane32 is ReLUMaxPool2x2 on one plane with AVX-512, or with AVX2 where the
// pooled rows are at least 4 windows wide (the same bits as the scalar loops); it
// reports false, doing nothing, on CPUs without them.
func reluPool2x2Plane32(x, a, y []float32, idx []int32, h, w int) bool {
	ho, wo := h/2, w/2
	switch {
	case h < 2 || w < 2:
		return false
	case hasAVX512:
		x, a = x[:h*w], a[:h*w]
		y, idx = y[:ho*wo], idx[:ho*wo]
		reluAVX512(x, a)
		maxPool2x2PlaneAVX512(a, y, idx, h, w)
		return true
	case !hasAVX2FMA || wo < 4:
		return false
	}
	x, a = x[:h*w], a[:h*w]
	y, idx = y[:ho*wo], idx[:ho*wo]
	ReLU(x, a)
	kern := maxPool2x2Row8AVX2
	if wo < 8 {
		kern = maxPool2x2Row4AVX2
	}
	for oy := 0; oy < ho; oy++ {
		o, base := oy*wo, 2*oy*w
		poolRuns(wo, func(ox, n int) {
			c := base + 2*ox
			kern(&a[c], &a[c+w], w, &y[o+ox], &idx[o+ox], n, int32(c), &poolLanes)
		})
	}
	return true
}

// poolRuns calls run(ox, n) for the AVX2 pool kernels over a pooled row of wo ≥ 4
// windows: whole vectors of 8 windows (of 4 when wo < 8) from ox = 0, then, for a
// partial vector, one vector again from wo − lanes, which rewrites the same values.
func poolRuns(wo int, run func(ox, n int)) {
	lanes := 8
	if wo < 8 {
		lanes = 4
	}
	whole := wo &^ (lanes - 1)
	run(0, whole)
	if whole < wo {
		run(wo-lanes, lanes)
	}
}

// poolLanes is the constant table of the AVX2 pool kernels: the column offsets of 8
// windows, 1, and the index steps of 8 and 4 windows.
var poolLanes = [11]int32{0, 2, 4, 6, 8, 10, 12, 14, 1, 16, 8}

// maxPool2x2Row8AVX2 and maxPool2x2Row4AVX2 pool n windows (a multiple of 8 or 4) of a
// row pair: see simd_avx2_gen.go.
//
//go:noescape
func maxPool2x2Row8AVX2(r0, r1 *float32, w int, y *float32, idx *int32, n int, base int32, lane *[11]int32)

//go:noescape
func maxPool2x2Row4AVX2(r0, r1 *float32, w int, y *float32, idx *int32, n int, base int32, lane *[11]int32)

// convTapsAVX2 is convTapsMulti32 for c ≤ 4 outputs (n > 0, at least one tap) with the
// AVX2 kernels: the same bits as one axpyAVX2 per tap and output.
func convTapsAVX2(x []float32, offs []int32, wI, y []float32, n, c int) {
	for _, o := range offs {
		_ = x[int(o)+n-1]
	}
	_ = wI[len(offs)*c-1]
	_ = y[c*n-1]
	switch c {
	case 1:
		convTaps1AVX2(x, offs, wI, y, n)
	case 2:
		convTaps2AVX2(x, offs, wI, y, n)
	case 3:
		convTaps3AVX2(x, offs, wI, y, n)
	case 4:
		convTaps4AVX2(x, offs, wI, y, n)
	}
}

// convTaps<c>AVX2 and dotTaps3AVX2: see simd_avx2_gen.go.
//
//go:noescape
func convTaps1AVX2(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func convTaps2AVX2(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func convTaps3AVX2(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func convTaps4AVX2(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func dotTaps3AVX2(x []float32, offs []int32, g []float32, out []float32)

// sumSqDiff8_32 is SumSqDiff8 for float32 with AVX2; false without it.
func sumSqDiff8_32(x, y []float32, acc *[8]float32) bool {
	if !hasAVX2FMA {
		return false
	}
	n := len(x) &^ 7
	if n > 0 {
		sumSqDiff8AVX2(x[:n], y[:n], acc)
	}
	return true
}

// scaledDiff32 is ScaledDiff for float32 with AVX-512; false without it.
func scaledDiff32(k float32, x, y, d []float32) bool {
	if !hasAVX512 {
		return false
	}
	if len(d) > 0 {
		scaledDiffAVX512(k, x[:len(d)], y[:len(d)], d)
	}
	return true
}

// dotTaps32 sets out[t] = dot32(x[offs[t]:], g) for every t (the same bits), with
// AVX-512 dotTapsGroup taps at a time sharing the loads of g, with AVX2 three.
func dotTaps32(x []float32, offs []int32, g, out []float32) {
	out = out[:len(offs)]
	if !hasAVX512 && hasAVX2FMA && len(g) > 0 {
		for _, o := range offs {
			_ = x[int(o)+len(g)-1]
		}
		s := 0
		for ; s+3 <= len(offs); s += 3 {
			dotTaps3AVX2(x, offs[s:s+3], g, out[s:s+3])
		}
		for ; s < len(offs); s++ {
			out[s] = dotAVX2(x[offs[s]:], g)
		}
		return
	}
	if !hasAVX512 || len(g) == 0 {
		for t, o := range offs {
			out[t] = dot(x[o:], g)
		}
		return
	}
	for _, o := range offs {
		_ = x[int(o)+len(g)-1]
	}
	var po [dotTapsGroup]int32
	var pr [dotTapsGroup]float32
	for s := 0; s < len(offs); s += dotTapsGroup {
		if s+dotTapsGroup <= len(offs) {
			dotTapsAVX512(x, offs[s:s+dotTapsGroup], g, out[s:s+dotTapsGroup])
			continue
		}
		// A partial group: the missing taps repeat the first one and are dropped.
		for i := range po {
			po[i] = offs[s]
			if s+i < len(offs) {
				po[i] = offs[s+i]
			}
		}
		dotTapsAVX512(x, po[:], g, pr[:])
		copy(out[s:], pr[:len(offs)-s])
	}
}

// convTaps<c>AVX512 apply the taps of c outputs at once: see simd_amd64_gen.go.
//
//go:noescape
func convTaps2AVX512(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func convTaps3AVX512(x []float32, offs []int32, w []float32, y []float32, n int)

//go:noescape
func convTaps4AVX512(x []float32, offs []int32, w []float32, y []float32, n int)

// convTapsMulti32 is y[ch·n+j] += Σ_t wI[t·c+ch]·x[offs[t]+j] for ch < c ≤ 4, j < n: c
// outputs sharing the input loads, the same bits as one convTaps32 per output.
func convTapsMulti32(x []float32, offs []int32, wI, y []float32, n, c int) {
	if n == 0 || len(offs) == 0 {
		return
	}
	if c == 1 { // the single-output kernel (wI is w)
		convTaps32(x, offs, wI[:len(offs)], y[:n])
		return
	}
	if !hasAVX512 && hasAVX2FMA && c <= 4 {
		convTapsAVX2(x, offs, wI, y, n, c)
		return
	}
	if !hasAVX512 || c > 4 {
		for ch := 0; ch < c; ch++ {
			for t, o := range offs {
				axpy32(wI[t*c+ch], x[int(o):], y[ch*n:(ch+1)*n])
			}
		}
		return
	}
	for _, o := range offs {
		_ = x[int(o)+n-1]
	}
	_ = wI[len(offs)*c-1]
	_ = y[c*n-1]
	switch c {
	case 2:
		convTaps2AVX512(x, offs, wI, y, n)
	case 3:
		convTaps3AVX512(x, offs, wI, y, n)
	case 4:
		convTaps4AVX512(x, offs, wI, y, n)
	}
}

// reluPoolBackPlaneAVX512 writes the gradient of the fused ReLU + 2×2 pool of one plane:
// see simd_amd64_gen.go.
//
//go:noescape
func reluPoolBackPlaneAVX512(dy, y []float32, idx []int32, dx []float32, h, w int)

// reluPoolBack2x2Plane32 is ReLUMaxPool2x2Backward on one plane with AVX-512, or with AVX2
// where the pooled rows are at least 4 windows wide (dx fully written, the same bits as
// the scalar scatter); it reports false, doing nothing, on CPUs without them.
func reluPoolBack2x2Plane32(dy, y []float32, idx []int32, dx []float32, h, w int) bool {
	ho, wo := h/2, w/2
	avx2 := !hasAVX512 && hasAVX2FMA && wo >= 4
	if h < 2 || w < 2 || !hasAVX512 && !avx2 {
		return false
	}
	dy, y, idx, dx = dy[:ho*wo], y[:ho*wo], idx[:ho*wo], dx[:h*w]
	if h%2 == 1 {
		clear(dx[(h-1)*w:])
	}
	if w%2 == 1 {
		for r := 0; r < 2*ho; r++ {
			dx[r*w+w-1] = 0
		}
	}
	if !avx2 {
		reluPoolBackPlaneAVX512(dy, y, idx, dx, h, w)
		return true
	}
	kern := reluPoolBackRow8AVX2
	if wo < 8 {
		kern = reluPoolBackRow4AVX2
	}
	for oy := 0; oy < ho; oy++ {
		o, base := oy*wo, 2*oy*w
		poolRuns(wo, func(ox, n int) {
			c := base + 2*ox
			kern(&dy[o+ox], &y[o+ox], &idx[o+ox], &dx[c], w, n, int32(c), &poolLanes)
		})
	}
	return true
}

// reluPoolBackRow8AVX2 and reluPoolBackRow4AVX2 write the gradient of n windows (a
// multiple of 8 or 4) of a row pair: see simd_avx2_gen.go.
//
//go:noescape
func reluPoolBackRow8AVX2(dy, y *float32, idx *int32, dx *float32, w, n int, base int32, lane *[11]int32)

//go:noescape
func reluPoolBackRow4AVX2(dy, y *float32, idx *int32, dx *float32, w, n int, base int32, lane *[11]int32)

// sumSqDiffStore8AVX2 is sumSqDiff8AVX2 that also writes d[i] = x[i] − y[i]: see
// simd_amd64_gen.go.
//
//go:noescape
func sumSqDiffStore8AVX2(x, y, d []float32, acc *[8]float32)

// scaleAVX512 is y[i] = k·y[i]: see simd_amd64_gen.go.
//
//go:noescape
func scaleAVX512(k float32, y []float32)

// sumSqDiffStore8_32 is SumSqDiffStore8 for float32 with AVX2; false without it.
func sumSqDiffStore8_32(x, y, d []float32, acc *[8]float32) bool {
	if !hasAVX2FMA {
		return false
	}
	n := len(x) &^ 7
	if n > 0 {
		sumSqDiffStore8AVX2(x[:n], y[:n], d[:n], acc)
	}
	return true
}

// scale32 runs Scale's kernel on the leading values of y and returns how many: all of
// them with AVX-512 (masked tail), whole vectors with AVX2, none without.
func scale32(k float32, y []float32) int {
	switch {
	case hasAVX512:
		if len(y) > 0 {
			scaleAVX512(k, y)
		}
		return len(y)
	case hasAVX2FMA:
		n := len(y) &^ 7
		if n > 0 {
			scaleAVX2(k, y[:n])
		}
		return n
	}
	return 0
}

// max8_32 runs max8AVX2 on s (a multiple of 8 long) and returns len(s), or returns 0
// without AVX2.
func max8_32(s []float32, m *[8]float32) int {
	if !hasAVX2FMA || len(s) == 0 {
		return 0
	}
	max8AVX2(s, m)
	return len(s)
}

// shiftF64_32 runs shiftF64AVX2 on the first len(b) &^ 3 values and returns that count (0
// without AVX2).
func shiftF64_32(b []float64, s []float32, m float32) int {
	n := len(b) &^ 3
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	shiftF64AVX2(b[:n], s, m)
	return n
}

// max8AVX2, shiftF64AVX2 and scaleAVX2: see elementwise_avx2_gen.go.
//
//go:noescape
func max8AVX2(s []float32, m *[8]float32)

//go:noescape
func shiftF64AVX2(b []float64, s []float32, m float32)

//go:noescape
func scaleAVX2(k float32, y []float32)

// copyRowsAVX512 copies rows of width values between strided layouts: see
// simd_amd64_gen.go.
//
//go:noescape
func copyRowsAVX512(dst, src []float32, rows, width, dstStride, srcStride int)

// copyRows32 is copyRows for float32 with AVX-512, or with AVX2 for rows of at least 8
// values; false without them.
func copyRows32(dst, src []float32, rows, width, dstStride, srcStride int) bool {
	avx2 := !hasAVX512 && hasAVX2FMA && width >= 8
	if !hasAVX512 && !avx2 {
		return false
	}
	if rows > 0 && width > 0 {
		_ = dst[(rows-1)*dstStride+width-1]
		_ = src[(rows-1)*srcStride+width-1]
		if avx2 {
			copyRowsAVX2(dst, src, rows, width, dstStride, srcStride)
		} else {
			copyRowsAVX512(dst, src, rows, width, dstStride, srcStride)
		}
	}
	return true
}

// copyRowsAVX2 is copyRowsAVX512 for width ≥ 8: see simd_avx2_gen.go.
//
//go:noescape
func copyRowsAVX2(dst, src []float32, rows, width, dstStride, srcStride int)

// reluMaskAVX512 is dx[i] = dy[i] where y[i] has a bit set, 0 elsewhere: see
// simd_amd64_gen.go.
//
//go:noescape
func reluMaskAVX512(dx, dy, y []float32)

// affineAVX512 is y[i] = (x[i] − m)·s + b: see simd_amd64_gen.go.
//
//go:noescape
func affineAVX512(x, y []float32, m, s, b float32)

// affine2AVX512 is d[i] = (k·g[i] + c·(x[i] − m)) + c0: see simd_amd64_gen.go.
//
//go:noescape
func affine2AVX512(g, x, d []float32, k, c, m, c0 float32)

// elementwiseSIMD selects the element-wise kernels of elementwise.go: ewAVX512, ewAVX2 or
// ewGo (the Go loops alone).
var elementwiseSIMD = elementwiseDefault()

const (
	ewGo = iota
	ewAVX2
	ewAVX512
)

func elementwiseDefault() int {
	switch {
	case hasAVX512:
		return ewAVX512
	case hasAVX2FMA:
		return ewAVX2
	}
	return ewGo
}

// elementwiseSets lists the kernel sets this CPU runs, for the tests.
func elementwiseSets() []int {
	var s []int
	if hasAVX512 {
		s = append(s, ewAVX512)
	}
	if hasAVX2FMA {
		s = append(s, ewAVX2)
	}
	return s
}

// ewHead is how many of n leading elements the kernels take: all of them on AVX-512
// (masked tails), whole vectors of lanes on AVX2, none in Go.
func ewHead(n, lanes int) int {
	switch elementwiseSIMD {
	case ewAVX512:
		return n
	case ewAVX2:
		return n &^ (lanes - 1)
	}
	return 0
}

// The *Vec functions run the element-wise kernel of the set on the first ewHead
// elements and return their count.

func reluVec(x, y []float32) int {
	n := ewHead(len(y), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			reluAVX512(x, y)
		} else {
			reluAVX2(x, y[:n])
		}
	}
	return n
}

func reluMaskVec(dx, dy, y []float32) int {
	n := ewHead(len(dx), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			reluMaskAVX512(dx, dy, y)
		} else {
			reluMaskAVX2(dx[:n], dy, y)
		}
	}
	return n
}

func affineVec(x, y []float32, m, s, b float32) int {
	n := ewHead(len(y), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			affineAVX512(x, y, m, s, b)
		} else {
			affineAVX2(x, y[:n], m, s, b)
		}
	}
	return n
}

func affine2Vec(g, x, d []float32, k, c, m, c0 float32) int {
	n := ewHead(len(d), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			affine2AVX512(g, x, d, k, c, m, c0)
		} else {
			affine2AVX2(g, x, d[:n], k, c, m, c0)
		}
	}
	return n
}

func adamwVec(w, g, m, v []float32, c *[8]float32) int {
	n := ewHead(len(w), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			adamwAVX512(w, g, m, v, c)
		} else {
			adamwAVX2(w[:n], g, m, v, c)
		}
	}
	return n
}

func addVec(x, y, d []float32) int {
	n := ewHead(len(d), 8)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			addAVX512(x, y, d)
		} else {
			addAVX2(x, y, d[:n])
		}
	}
	return n
}

// The float64 kernels (4 lanes on AVX2) are called directly, not through function
// values: b is often a stack array of the caller, which a call through a function value
// would move to the heap.

func expNegVec(b []float64) int {
	n := ewHead(len(b), 4)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			expNegF64AVX512(b, &expErfTable)
		} else {
			expNegF64AVX2(b[:n], &expErfTable)
		}
	}
	return n
}

func geluVec(b []float64) int {
	n := ewHead(len(b), 4)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			geluF64AVX512(b, &expErfTable)
		} else {
			geluF64AVX2(b[:n], &expErfTable)
		}
	}
	return n
}

func geluGradVec(b []float64) int {
	n := ewHead(len(b), 4)
	if n > 0 {
		if elementwiseSIMD == ewAVX512 {
			geluGradF64AVX512(b, &expErfTable)
		} else {
			geluGradF64AVX2(b[:n], &expErfTable)
		}
	}
	return n
}

// shiftedSums8_32 and dotShifted8_32 are ShiftedSums8 and DotShifted8 for float32 with
// AVX2 (len(v), len(g) a multiple of 8); false without it.
func shiftedSums8_32(v []float32, s float32, a, q *[8]float32) bool {
	if !hasAVX2FMA {
		return false
	}
	if len(v) > 0 {
		shiftedSums8AVX2(v, s, a, q)
	}
	return true
}

func dotShifted8_32(g, x []float32, m float32, a, q *[8]float32) bool {
	if !hasAVX2FMA {
		return false
	}
	if len(g) > 0 {
		dotShifted8AVX2(g, x, m, a, q)
	}
	return true
}

//go:noescape
func shiftedSums8AVX2(v []float32, s float32, a, q *[8]float32)

//go:noescape
func dotShifted8AVX2(g, x []float32, m float32, a, q *[8]float32)

// The AVX2 kernels (elementwise_avx2_gen.go) take whole vectors only.

//go:noescape
func reluAVX2(x, a []float32)

//go:noescape
func reluMaskAVX2(dx, dy, y []float32)

//go:noescape
func affineAVX2(x, y []float32, m, s, b float32)

//go:noescape
func affine2AVX2(g, x, d []float32, k, c, m, c0 float32)

//go:noescape
func adamwAVX2(w, g, m, v []float32, c *[8]float32)

//go:noescape
func addAVX2(x, y, d []float32)

//go:noescape
func expNegF64AVX2(b []float64, c *[32]float64)

//go:noescape
func geluF64AVX2(b []float64, c *[32]float64)

//go:noescape
func geluGradF64AVX2(b []float64, c *[32]float64)

// adamwAVX512 is the AdamW update of AdamWUpdate: see simd_amd64_gen.go.
//
//go:noescape
func adamwAVX512(w, g, m, v []float32, c *[8]float32)

// expNegF64AVX512, geluF64AVX512 and geluGradF64AVX512 are ExpNegInPlace, GELUInPlace
// and GELUGradInPlace on 8 float64 lanes: see simd_amd64_gen.go.
//
//go:noescape
func expNegF64AVX512(b []float64, c *[32]float64)

//go:noescape
func geluF64AVX512(b []float64, c *[32]float64)

//go:noescape
func geluGradF64AVX512(b []float64, c *[32]float64)

// addAVX512 is d[i] = x[i] + y[i]: see simd_amd64_gen.go.
//
//go:noescape
func addAVX512(x, y, d []float32)

package tensor

import (
	"math"
	"unsafe"
)

// Element-wise loops of the layers (ReLU, BatchNorm) that run once per element of every
// activation of a training step. For float32 on AVX-512 they are vector kernels
// (simd_amd64_gen.go) that round after every operation exactly as these Go loops do
// (Go does not fuse multiply-adds on amd64), so both paths give the same bits.

// ReLU sets y[i] = max(x[i], 0) for i < len(y) (Go's max: NaN stays NaN, −0 becomes +0).
func ReLU[F Float](x, y []F) {
	x = x[:len(y)]
	if y32, ok := any(y).([]float32); ok && elementwise32() {
		if len(y) > 0 {
			reluAVX512(any(x).([]float32), y32)
		}
		return
	}
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// ReLUMask sets dx[i] = dy[i] where y[i] ≠ 0 and 0 elsewhere, by bit masks (y, a ReLU
// output, is never −0); dy and y are at least as long as dx.
func ReLUMask[F Float](dx, dy, y []F) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	switch d := any(dx).(type) {
	case []float32:
		g, ys := any(dy).([]float32), any(y).([]float32)
		if elementwise32() {
			if len(d) > 0 {
				reluMaskAVX512(d, g, ys)
			}
			return
		}
		for i, v := range ys {
			b := math.Float32bits(v)
			m := uint32(int32(b|-b) >> 31) // all ones iff b ≠ 0
			d[i] = math.Float32frombits(math.Float32bits(g[i]) & m)
		}
	case []float64:
		g, ys := any(dy).([]float64), any(y).([]float64)
		for i, v := range ys {
			b := math.Float64bits(v)
			m := uint64(int64(b|-b) >> 63)
			d[i] = math.Float64frombits(math.Float64bits(g[i]) & m)
		}
	}
}

// Affine sets y[i] = (x[i] − m)·s + b for i < len(y).
func Affine[F Float](x, y []F, m, s, b F) {
	x = x[:len(y)]
	if y32, ok := any(y).([]float32); ok && elementwise32() {
		if len(y) > 0 {
			affineAVX512(any(x).([]float32), y32, any(m).(float32), any(s).(float32), any(b).(float32))
		}
		return
	}
	for j, v := range x {
		y[j] = (v-m)*s + b
	}
}

// Affine2 sets d[i] = k·g[i] + c·(x[i] − m) + c0 for i < len(d).
func Affine2[F Float](g, x, d []F, k, c, m, c0 F) {
	g, x = g[:len(d)], x[:len(d)]
	if d32, ok := any(d).([]float32); ok && elementwise32() {
		if len(d) > 0 {
			affine2AVX512(any(g).([]float32), any(x).([]float32), d32, any(k).(float32), any(c).(float32), any(m).(float32), any(c0).(float32))
		}
		return
	}
	for j, v := range g {
		d[j] = k*v + c*(x[j]-m) + c0
	}
}

// AdamWUpdate applies one AdamW step to the weights w with gradient g and moments m, v
// (all of w's length), c = (β1, 1−β1, β2, 1−β2, √(1−β2ᵗ), ε, 1−lr·wd, lr/(1−β1ᵗ)):
//
//	m ← m·β1 + (1−β1)·g,  v ← v·β2 + (1−β2)·g·g,  w ← w·(1−lr·wd) − lr/(1−β1ᵗ)·m/(√v/√(1−β2ᵗ) + ε)
func AdamWUpdate[F Float](w, g, m, v []F, c [8]F) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	if w32, ok := any(w).([]float32); ok && elementwise32() {
		if len(w) > 0 { // F is float32 here: c's bytes are the kernel's [8]float32
			adamwAVX512(w32, any(g).([]float32), any(m).([]float32), any(v).([]float32), (*[8]float32)(unsafe.Pointer(&c)))
		}
		return
	}
	b1, m1, b2, m2, bc2Sqrt, eps, decay, stepSize := c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
	for i := range w {
		gv := g[i]
		m[i] = m[i]*b1 + m1*gv
		v[i] = v[i]*b2 + m2*gv*gv
		denom := F(math.Sqrt(float64(v[i])))/bc2Sqrt + eps
		w[i] = w[i]*decay - stepSize*m[i]/denom
	}
}

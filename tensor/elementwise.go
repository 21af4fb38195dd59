package tensor

import (
	"math"
	"unsafe"
)

// Element-wise loops of the layers (ReLU, BatchNorm) that run once per element of every
// activation of a training step. For float32 on AVX-512 and on AVX2 they are vector
// kernels (simd_amd64_gen.go, elementwise_avx2_gen.go) that round after every operation
// exactly as these Go loops do (Go does not fuse multiply-adds on amd64), so every path
// gives the same bits. The *Vec functions (simd_amd64.go) run a kernel on as many leading
// elements as it takes and return that count; the Go loop does the rest.

// ReLU sets y[i] = max(x[i], 0) for i < len(y) (Go's max: NaN stays NaN, −0 becomes +0).
func ReLU[F Float](x, y []F) {
	x = x[:len(y)]
	if y32, ok := any(y).([]float32); ok {
		n := reluVec(any(x).([]float32), y32)
		x, y = x[n:], y[n:]
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
		n := reluMaskVec(d, g, ys)
		d, g, ys = d[n:], g[n:], ys[n:]
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
	if y32, ok := any(y).([]float32); ok {
		n := affineVec(any(x).([]float32), y32, any(m).(float32), any(s).(float32), any(b).(float32))
		x, y = x[n:], y[n:]
	}
	for j, v := range x {
		y[j] = (v-m)*s + b
	}
}

// Affine2 sets d[i] = k·g[i] + c·(x[i] − m) + c0 for i < len(d).
func Affine2[F Float](g, x, d []F, k, c, m, c0 F) {
	g, x = g[:len(d)], x[:len(d)]
	if d32, ok := any(d).([]float32); ok {
		n := affine2Vec(any(g).([]float32), any(x).([]float32), d32, any(k).(float32), any(c).(float32), any(m).(float32), any(c0).(float32))
		g, x, d = g[n:], x[n:], d[n:]
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
	if w32, ok := any(w).([]float32); ok { // F is float32 here: c's bytes are the kernel's [8]float32
		n := adamwVec(w32, any(g).([]float32), any(m).([]float32), any(v).([]float32), (*[8]float32)(unsafe.Pointer(&c)))
		w, g, m, v = w[n:], g[n:], m[n:], v[n:]
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

// ExpNeg is eʸ for y ≤ 0 with relative error below 1e-8 (0 below −700): y = n·ln2 + r
// with |r| ≤ ln2/2, a degree-7 Taylor polynomial for eʳ, and 2ⁿ put into the exponent
// bits. It is about twice as fast as math.Exp in the float32 GELU backward.
func ExpNeg(y float64) float64 {
	if y < -700 {
		return 0
	}
	const magic = 6755399441055744.0 // 1.5·2⁵²: adding it rounds y·log₂e to an integer
	t := y*math.Log2E + magic
	n := t - magic
	r := y - n*math.Ln2
	p := 1.0 / 5040
	p = p*r + 1.0/720
	p = p*r + 1.0/120
	p = p*r + 1.0/24
	p = p*r + 1.0/6
	p = p*r + 0.5
	p = p*r + 1
	p = p*r + 1
	// The low mantissa bits of t hold n in two's complement; make 2ⁿ from them.
	return p * math.Float64frombits(uint64(int64(math.Float64bits(t))<<12>>12+1023)<<52)
}

// Erf32 is erf accurate to 1e-7 absolute (float32 precision): the odd/even rational
// approximation on [−4, 4] used by Eigen and XLA for single precision (erf(±4) rounds to
// ±1 in float32). math.Erf costs about 25 ns on the reference machine, this about 3 ns,
// which matters for the GELU of every ViT MLP. The clamps are branches on purpose: Go's
// float min/max are several times slower here. NaN passes through.
func Erf32(x float64) float64 {
	if x > 4 {
		x = 4
	}
	if x < -4 {
		x = -4
	}
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p + -2.10102402082508e-06
	p = x2*p + -5.69250639462346e-05
	p = x2*p + -7.34990630326855e-04
	p = x2*p + -2.95459980854025e-03
	p = x2*p + -1.60960333262415e-02
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = x2*q + -1.68282697438203e-03
	q = x2*q + -7.37332916720468e-03
	q = x2*q + -1.42647390514189e-02
	return x * p / q
}

// invSqrt2Pi is 1/√(2π), the peak of the standard normal density.
const invSqrt2Pi = 0.3989422804014327

// expErfTable holds the constants of ExpNeg, Erf32 and the GELU blocks for the SIMD
// kernels, at the indices of simd_amd64_gen.go (cLog2E …); the Go expressions above
// round them the same way.
var expErfTable = [32]float64{
	math.Log2E, 6755399441055744.0, math.Ln2,
	1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, 1,
	-700, math.Float64frombits(1023),
	4, -4,
	-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
	-7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02,
	-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
	-1.42647390514189e-02,
	1 / math.Sqrt2, 1, 0.5, -0.5, invSqrt2Pi,
}

// ExpNegInPlace sets b[i] = ExpNeg(b[i]) (the same bits on every path).
func ExpNegInPlace(b []float64) {
	b = b[expNegVec(b):]
	for i, v := range b {
		b[i] = ExpNeg(v)
	}
}

// GELUInPlace sets b[i] = x·Φ(x) = 0.5·x·(1 + Erf32(x/√2)) for x = b[i].
func GELUInPlace(b []float64) {
	b = b[geluVec(b):]
	for i, xv := range b {
		b[i] = 0.5 * xv * (1 + Erf32(xv*(1/math.Sqrt2)))
	}
}

// GELUGradInPlace sets b[i] = Φ(x) + x·φ(x), the derivative of GELUInPlace, for x = b[i].
func GELUGradInPlace(b []float64) {
	b = b[geluGradVec(b):]
	for i, xv := range b {
		e := ExpNeg(-0.5 * xv * xv)
		b[i] = 0.5*(1+Erf32(xv*(1/math.Sqrt2))) + xv*invSqrt2Pi*e
	}
}

// Add sets d[i] = x[i] + y[i] for i < len(d) (x and y at least as long). Long vectors
// (a residual sum of a whole batch) are shared out among the Workers.
func Add[F Float](x, y, d []F) {
	x, y = x[:len(d)], y[:len(d)]
	if len(d) >= 2*addSplit && Workers > 1 {
		Parallel(len(d)/addSplit, 1, func(lo, hi int) {
			end := hi * addSplit
			if hi == len(d)/addSplit {
				end = len(d)
			}
			addSerial(x[lo*addSplit:end], y[lo*addSplit:end], d[lo*addSplit:end])
		})
		return
	}
	addSerial(x, y, d)
}

// addSplit is the grain of a parallel Add (64 Ki elements).
const addSplit = 1 << 16

func addSerial[F Float](x, y, d []F) {
	if d32, ok := any(d).([]float32); ok {
		n := addVec(any(x).([]float32), any(y).([]float32), d32)
		x, y, d = x[n:], y[n:], d[n:]
	}
	for i, v := range x {
		d[i] = v + y[i]
	}
}

// addReLUChunk is the number of elements AddReLU sums before rectifying them (16 KiB of
// float32: the sums are still in L1 when ReLU reads them).
const addReLUChunk = 4096

// AddReLU sets d[i] = max(x[i] + y[i], 0) for i < len(d) (x and y at least as long): Add
// then ReLU chunk by chunk, the bits of the two passes.
func AddReLU[F Float](x, y, d []F) {
	for lo := 0; lo < len(d); lo += addReLUChunk {
		hi := min(lo+addReLUChunk, len(d))
		Add(x[lo:hi], y[lo:hi], d[lo:hi])
		ReLU(d[lo:hi], d[lo:hi])
	}
}

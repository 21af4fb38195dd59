package tensor

// Vector kernels of the direct convolution and of gradient sums: y += a·x and x·y over
// len(y). float32 goes to SIMD assembly where the CPU has it (vec_amd64.s), float64 and
// other CPUs to Go.

func axpyGo[F Float](a F, x, y []F) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

func dotGo[F Float](x, y []F) F {
	x = x[:len(y)]
	var s F
	for i := range y {
		s += x[i] * y[i]
	}
	return s
}

// axpy is y += a·x over len(y).
func axpy[F Float](a F, x, y []F) {
	if len(y) == 0 {
		return
	}
	if y32, ok := any(y).([]float32); ok {
		axpy32(float32(a), any(x).([]float32), y32)
		return
	}
	axpyGo(a, x, y)
}

// axpyGrain is the number of elements per goroutine below which Axpy stays on the calling
// goroutine.
const axpyGrain = 1 << 14

// Axpy is y += a·x over len(y) (x must be at least as long), split over Workers when y is
// long enough.
func Axpy[F Float](a F, x, y []F) {
	if len(y) < 2*axpyGrain {
		axpy(a, x, y)
		return
	}
	x = x[:len(y)]
	Parallel(len(y), axpyGrain, func(lo, hi int) { axpy(a, x[lo:hi], y[lo:hi]) })
}

// dot is Σ x[i]·y[i] over len(y).
func dot[F Float](x, y []F) F {
	if len(y) == 0 {
		return 0
	}
	if y32, ok := any(y).([]float32); ok {
		return F(dot32(any(x).([]float32), y32))
	}
	return dotGo(x, y)
}

// SumSqDiff8 adds (x[i] − y[i])² to acc[i mod 8] for i < len(x) &^ 7, in order of i,
// rounding each subtraction, square and addition in F: the eight interleaved partial sums
// of a sum of squared differences (float32 in a SIMD register, the same bits). It returns
// len(x) &^ 7, the number of elements used; y must be at least as long.
func SumSqDiff8[F Float](x, y []F, acc *[8]F) int {
	n := len(x) &^ 7
	y = y[:n]
	if x32, ok := any(x).([]float32); ok && sumSqDiff8_32(x32, any(y).([]float32), any(acc).(*[8]float32)) {
		return n
	}
	for i := 0; i < n; i += 8 {
		for k := range acc {
			d := x[i+k] - y[i+k]
			acc[k] += d * d
		}
	}
	return n
}

// ShiftedSums8 adds d = v[i] − s to a[i mod 8] and d·d to q[i mod 8] for i < len(v) &^ 7,
// in order of i, each operation rounded in F (BatchNorm's batch statistics; float32 in a
// SIMD register, the same bits). It returns len(v) &^ 7.
func ShiftedSums8[F Float](v []F, s F, a, q *[8]F) int {
	n := len(v) &^ 7
	if v32, ok := any(v).([]float32); ok && shiftedSums8_32(v32[:n], any(s).(float32), any(a).(*[8]float32), any(q).(*[8]float32)) {
		return n
	}
	for i := 0; i < n; i += 8 {
		w := (*[8]F)(v[i : i+8])
		for k := range a {
			d := w[k] - s
			a[k] += d
			q[k] += d * d
		}
	}
	return n
}

// DotShifted8 adds g[i] to a[i mod 8] and g[i]·(x[i] − m) to q[i mod 8] for
// i < len(g) &^ 7, in order of i, as ShiftedSums8 (BatchNorm's backward sums); x must be at
// least as long as g. It returns len(g) &^ 7.
func DotShifted8[F Float](g, x []F, m F, a, q *[8]F) int {
	n := len(g) &^ 7
	x = x[:n]
	if g32, ok := any(g).([]float32); ok && dotShifted8_32(g32[:n], any(x).([]float32), any(m).(float32), any(a).(*[8]float32), any(q).(*[8]float32)) {
		return n
	}
	for i := 0; i < n; i += 8 {
		gw, xw := (*[8]F)(g[i:i+8]), (*[8]F)(x[i:i+8])
		for k := range a {
			a[k] += gw[k]
			q[k] += gw[k] * (xw[k] - m)
		}
	}
	return n
}

// MaxOrdered32 returns the value of m := s[0]; for v in s[1:] { if v > m { m = v } }: the
// largest value, NaN only when s[0] is NaN (a later NaN never replaces). Between equal
// values +0 and −0 either may come back (AVX2 takes eight running maxima). s must not be
// empty.
func MaxOrdered32(s []float32) float32 {
	m := s[0]
	n := 0
	if len(s) >= 8 {
		lanes := [8]float32{m, m, m, m, m, m, m, m}
		if n = max8_32(s[:len(s)&^7], &lanes); n > 0 {
			m = lanes[0]
			for _, v := range lanes[1:] {
				if v > m {
					m = v
				}
			}
		}
	}
	for _, v := range s[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// Max32 returns the largest value of s, which must not be empty. Where NaNs or zeros of
// both signs compete, which of them it returns is unspecified (MaxOrdered32 says), which
// suits a softmax: its output is the same for any of them.
func Max32(s []float32) float32 {
	if m, ok := max32(s); ok {
		return m
	}
	return MaxOrdered32(s)
}

// NarrowToFloat32 sets dst[i] = float32(b[i]) for i < len(dst) (b at least as long;
// SIMD, the same rounding).
func NarrowToFloat32(dst []float32, b []float64) {
	b = b[:len(dst)]
	n := narrow32(dst, nil, b)
	for i, v := range b[n:] {
		dst[n+i] = float32(v)
	}
}

// MulNarrow sets dst[i] = g[i]·float32(b[i]) for i < len(dst) (g and b at least as
// long; SIMD, the same bits).
func MulNarrow(dst, g []float32, b []float64) {
	g, b = g[:len(dst)], b[:len(dst)]
	n := narrow32(dst, g, b)
	for i, v := range b[n:] {
		dst[n+i] = g[n+i] * float32(v)
	}
}

// ShiftToFloat64 sets b[i] = float64(s[i] − m) for i < len(b), the subtraction rounded in
// float32 (SIMD, the same bits); s must be at least as long.
func ShiftToFloat64(b []float64, s []float32, m float32) {
	s = s[:len(b)]
	n := shiftF64_32(b, s, m)
	for i, v := range s[n:] {
		b[n+i] = float64(v - m)
	}
}

// ScaledDiff sets d[i] = k·(x[i] − y[i]) for i < len(d) (x and y at least as long),
// rounding after the subtraction and after the product (SIMD for float32, same bits).
func ScaledDiff[F Float](k F, x, y, d []F) {
	x, y = x[:len(d)], y[:len(d)]
	if d32, ok := any(d).([]float32); ok && scaledDiff32(any(k).(float32), any(x).([]float32), any(y).([]float32), d32) {
		return
	}
	for i, v := range x {
		d[i] = k * (v - y[i])
	}
}

// SumSqDiffStore8 is SumSqDiff8 that also writes d[i] = x[i] − y[i] for the elements it
// uses (the same bits); d must be at least len(x) &^ 7 long.
func SumSqDiffStore8[F Float](x, y, d []F, acc *[8]F) int {
	n := len(x) &^ 7
	y, d = y[:n], d[:n]
	if x32, ok := any(x).([]float32); ok && sumSqDiffStore8_32(x32, any(y).([]float32), any(d).([]float32), any(acc).(*[8]float32)) {
		return n
	}
	for i := 0; i < n; i += 8 {
		for k := range acc {
			v := x[i+k] - y[i+k]
			d[i+k] = v
			acc[k] += v * v
		}
	}
	return n
}

// Scale sets y[i] = k·y[i] (SIMD for float32, the same bits).
func Scale[F Float](k F, y []F) {
	if y32, ok := any(y).([]float32); ok {
		y = y[scale32(any(k).(float32), y32):]
	}
	for i, v := range y {
		y[i] = k * v
	}
}

// copyRows sets dst[r·dstStride+j] = src[r·srcStride+j] for r < rows, j < width (the
// compact and wide layouts of the direct convolution), with SIMD moves for float32
// instead of one copy call per short row.
func copyRows[F Float](dst, src []F, rows, width, dstStride, srcStride int) {
	if d32, ok := any(dst).([]float32); ok && copyRows32(d32, any(src).([]float32), rows, width, dstStride, srcStride) {
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
	}
}

// AddRowSums adds the rows of the row-major matrix m (len(m) a multiple of len(dst))
// to dst, rows in order: dst[j] += Σ_r m[r·len(dst)+j]. It is the bias gradient of a
// dense layer. Large matrices are shared out by columns among the Workers, each column
// still summed over the rows in order, so the bits do not depend on the split.
func AddRowSums[F Float](dst, m []F) {
	n := len(dst)
	if n == 0 {
		return
	}
	rows := len(m) / n
	Parallel(n, max(16, (rowWork+rows-1)/max(rows, 1)), func(lo, hi int) {
		d := dst[lo:hi]
		if d32, ok := any(d).([]float32); ok && addRows32(d32, any(m[lo:]).([]float32), rows, n) {
			return
		}
		for r := 0; r < rows; r++ {
			for j, v := range m[r*n+lo : r*n+hi] {
				d[j] += v
			}
		}
	})
}

// FillRows copies row into every row of the row-major matrix dst (len(dst) a multiple of
// len(row)): the bias a dense layer's product then adds to. Large matrices are shared
// out by rows among the Workers.
func FillRows[F Float](dst, row []F) {
	n := len(row)
	if n == 0 {
		return
	}
	rows := len(dst) / n
	Parallel(rows, max(1, rowWork/n), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			copy(dst[r*n:(r+1)*n], row)
		}
	})
}

// rowWork is the number of elements worth a goroutine in AddRowSums and FillRows (64 Ki
// floats: well above the cost of starting one).
const rowWork = 1 << 16

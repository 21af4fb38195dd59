package nn

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/tensor"
)

// SoftmaxRows writes softmax(src) into dst row by row for row-major matrices with cols
// columns. The row maximum is subtracted before exponentiating, so large logits do not
// overflow; sums are accumulated in float64. dst and src may be the same slice.
func SoftmaxRows[F tensor.Float](dst, src []F, cols int) {
	checkSoftmaxRows("nn.SoftmaxRows", len(dst), len(src), cols)
	if s32, ok := any(src).([]float32); ok {
		softmaxRows32(any(dst).([]float32), s32, cols)
		return
	}
	for r := 0; r+cols <= len(src); r += cols {
		s, d := src[r:r+cols], dst[r:r+cols]
		m := s[0]
		for _, v := range s[1:] {
			m = max(m, v)
		}
		var sum float64
		for j, v := range s {
			e := math.Exp(float64(v - m))
			d[j] = F(e)
			sum += e
		}
		inv := 1 / sum
		for j := range d {
			d[j] = F(float64(d[j]) * inv)
		}
	}
}

// softmaxRows32 is SoftmaxRows for float32: the same algorithm with tensor.ExpNeg (relative
// error 1e-8, far below float32 resolution) on values converted to float64 first, about
// three times faster than math.Exp element by element (see geluForward32). Short rows (the
// 65 tokens of an attention row) go in batches that fill softmaxBlock, so that one
// ExpNegInPlace call serves many rows and four rows' sums run side by side; each row's sum
// still adds its terms in column order, so the bits do not depend on the batching. The
// row maximum comes from tensor.Max32, which may return either zero of a ±0 tie or any
// NaN: x − max and so the output are the same for each choice (e^±0 = 1, and a NaN
// anywhere in a row makes the whole row NaN).
func softmaxRows32(dst, src []float32, cols int) {
	var buf [softmaxBlock]float64
	if cols > softmaxBlock {
		softmaxLongRows32(dst, src, cols, buf[:])
		return
	}
	rows := len(src) / cols
	batch := softmaxBlock / cols
	var sums [4]float64
	for r0 := 0; r0 < rows; r0 += batch {
		nr := min(batch, rows-r0)
		s, d := src[r0*cols:(r0+nr)*cols], dst[r0*cols:(r0+nr)*cols]
		b := buf[:nr*cols]
		for i := 0; i < nr; i++ {
			row := s[i*cols : (i+1)*cols]
			tensor.ShiftToFloat64(b[i*cols:(i+1)*cols], row, tensor.Max32(row))
		}
		tensor.ExpNegInPlace(b)
		i := 0
		for ; i+4 <= nr; i += 4 {
			sums = sumStore4(b[i*cols:], d[i*cols:], cols)
			for q, sum := range sums {
				tensor.Scale(float32(1/sum), d[(i+q)*cols:(i+q+1)*cols])
			}
		}
		for ; i < nr; i++ {
			out := d[i*cols : (i+1)*cols]
			tensor.Scale(float32(1/sumStore(0, b[i*cols:(i+1)*cols], out)), out)
		}
	}
}

// softmaxBlock is the float64 buffer of softmaxRows32 (8 KiB, on the stack).
const softmaxBlock = 1024

// sumStore stores b into d as float32 and returns sum plus b's values, added in order.
func sumStore(sum float64, b []float64, d []float32) float64 {
	for j, v := range b {
		sum += v
		d[j] = float32(v)
	}
	return sum
}

// sumStore4 stores four consecutive rows of b (cols each) into d as float32 and returns
// the rows' float64 sums, each added in column order (four independent chains).
func sumStore4(b []float64, d []float32, cols int) [4]float64 {
	b0, b1, b2, b3 := b[:cols], b[cols:2*cols], b[2*cols:3*cols], b[3*cols:4*cols]
	d0, d1, d2, d3 := d[:cols], d[cols:2*cols], d[2*cols:3*cols], d[3*cols:4*cols]
	var s0, s1, s2, s3 float64
	for j := range b0 {
		v0, v1, v2, v3 := b0[j], b1[j], b2[j], b3[j]
		s0 += v0
		s1 += v1
		s2 += v2
		s3 += v3
		d0[j], d1[j], d2[j], d3[j] = float32(v0), float32(v1), float32(v2), float32(v3)
	}
	return [4]float64{s0, s1, s2, s3}
}

// softmaxLongRows32 is softmaxRows32 for rows longer than the buffer: one row at a time,
// in blocks of len(buf).
func softmaxLongRows32(dst, src []float32, cols int, buf []float64) {
	for r := 0; r+cols <= len(src); r += cols {
		s, d := src[r:r+cols], dst[r:r+cols]
		m := tensor.MaxOrdered32(s) // ±0 ties may differ in sign: v − m is then ±0, eᵛ⁻ᵐ is 1 either way
		var sum float64
		for lo := 0; lo < cols; lo += len(buf) {
			hi := min(lo+len(buf), cols)
			b := buf[:hi-lo]
			tensor.ShiftToFloat64(b, s[lo:hi], m)
			tensor.ExpNegInPlace(b)
			sum = sumStore(sum, b, d[lo:hi])
		}
		tensor.Scale(float32(1/sum), d)
	}
}

// LogSoftmaxRows writes log softmax(src) into dst row by row (stable: x − max − log Σ e^(x−max)).
// dst and src may be the same slice.
func LogSoftmaxRows[F tensor.Float](dst, src []F, cols int) {
	checkSoftmaxRows("nn.LogSoftmaxRows", len(dst), len(src), cols)
	for r := 0; r+cols <= len(src); r += cols {
		s, d := src[r:r+cols], dst[r:r+cols]
		m := float64(s[0])
		for _, v := range s[1:] {
			m = max(m, float64(v))
		}
		var sum float64
		for _, v := range s {
			sum += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(sum)
		for j, v := range s {
			d[j] = F(float64(v) - lse)
		}
	}
}

// SoftmaxRowsBackward writes the input gradient of a row softmax into dx, given the
// softmax output y and the output gradient dy: dx = y ⊙ (dy − Σ_j dy_j y_j) per row.
// dx may alias dy.
func SoftmaxRowsBackward[F tensor.Float](dx, dy, y []F, cols int) {
	checkSoftmaxRows("nn.SoftmaxRowsBackward", len(dx), len(y), cols)
	checkSoftmaxRows("nn.SoftmaxRowsBackward", len(dy), len(y), cols)
	if y32, ok := any(y).([]float32); ok {
		softmaxRowsBackward32(any(dx).([]float32), any(dy).([]float32), y32, cols)
		return
	}
	for r := 0; r+cols <= len(y); r += cols {
		softmaxRowBackward(dx[r:r+cols], dy[r:r+cols], y[r:r+cols])
	}
}

// softmaxRowBackward is SoftmaxRowsBackward on one row.
func softmaxRowBackward[F tensor.Float](dx, dy, y []F) {
	var dot float64
	for j, v := range y {
		dot += float64(v) * float64(dy[j])
	}
	d := F(dot)
	for j, v := range y {
		dx[j] = v * (dy[j] - d)
	}
}

// softmaxRowsBackward32 is SoftmaxRowsBackward for float32, four rows side by side: each
// row's float64 dot product still adds its (exact) products in column order, so the bits
// are those of the row-at-a-time loop.
func softmaxRowsBackward32(dx, dy, y []float32, cols int) {
	rows := len(y) / cols
	r := 0
	for ; r+4 <= rows; r += 4 {
		o := r * cols
		y0, y1, y2, y3 := y[o:o+cols], y[o+cols:o+2*cols], y[o+2*cols:o+3*cols], y[o+3*cols:o+4*cols]
		g0, g1, g2, g3 := dy[o:o+cols], dy[o+cols:o+2*cols], dy[o+2*cols:o+3*cols], dy[o+3*cols:o+4*cols]
		var s0, s1, s2, s3 float64
		for j := range y0 {
			s0 += float64(y0[j]) * float64(g0[j])
			s1 += float64(y1[j]) * float64(g1[j])
			s2 += float64(y2[j]) * float64(g2[j])
			s3 += float64(y3[j]) * float64(g3[j])
		}
		d0, d1, d2, d3 := float32(s0), float32(s1), float32(s2), float32(s3)
		x0, x1, x2, x3 := dx[o:o+cols], dx[o+cols:o+2*cols], dx[o+2*cols:o+3*cols], dx[o+3*cols:o+4*cols]
		for j := range y0 {
			x0[j] = y0[j] * (g0[j] - d0)
			x1[j] = y1[j] * (g1[j] - d1)
			x2[j] = y2[j] * (g2[j] - d2)
			x3[j] = y3[j] * (g3[j] - d3)
		}
	}
	for ; r < rows; r++ {
		softmaxRowBackward(dx[r*cols:(r+1)*cols], dy[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols])
	}
}

func checkSoftmaxRows(op string, ld, ls, cols int) {
	if cols <= 0 || ld != ls || ls%cols != 0 {
		panic(fmt.Sprintf("%s: lengths %d and %d with %d columns", op, ld, ls, cols))
	}
}

// Softmax is a softmax over the last dimension as a module.
type Softmax[F tensor.Float] struct {
	y, dx *tensor.T[F]
}

// NewSoftmax returns a softmax over the last dimension.
func NewSoftmax[F tensor.Float]() *Softmax[F] { return &Softmax[F]{} }

// Forward computes softmax(x) along the last dimension.
func (s *Softmax[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	s.y = tensor.Ensure(s.y, x.Shape...)
	SoftmaxRows(s.y.Data, x.Data, x.Dim(-1))
	return s.y
}

// Backward returns y ⊙ (dy − Σ dy ⊙ y) along the last dimension.
func (s *Softmax[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.Softmax.Backward", dy, s.y)
	s.dx = tensor.Ensure(s.dx, dy.Shape...)
	SoftmaxRowsBackward(s.dx.Data, dy.Data, s.y.Data, dy.Dim(-1))
	return s.dx
}

// Params returns nothing: Softmax has no parameters.
func (s *Softmax[F]) Params() []Named[F] { return nil }

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecKernels checks the SIMD axpy and dot against plain loops on every length 0…130
// (all tails of the 32/8/1-wide loops) and on unaligned sub-slices.
func TestVecKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for n := 0; n <= 130; n++ {
		for _, off := range []int{0, 1, 3} {
			x := make([]float32, n+off+5)
			y := make([]float32, n+off)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			for i := range y {
				y[i] = float32(rng.NormFloat64())
			}
			yv := y[off:]
			want := append([]float32(nil), yv...)
			axpyGo(float32(0.7), x[off:], want)
			got := append([]float32(nil), yv...)
			axpy(float32(0.7), x[off:], got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("axpy n=%d off=%d: [%d] %g want %g", n, off, i, got[i], want[i])
				}
			}
			var ref float64
			for i := range yv {
				ref += float64(x[off+i]) * float64(yv[i])
			}
			if d := dot(x[off:], yv); math.Abs(float64(d)-ref) > 1e-5*(1+math.Sqrt(float64(n))) {
				t.Fatalf("dot n=%d off=%d: %g want %g", n, off, d, ref)
			}
		}
	}
}

// TestConvWideFloat32 runs the float32 direct convolution (SIMD path) against the
// float64 reference on odd sizes, and its backward through the adjoint identities.
func TestConvWideFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, s := range []ConvShape{
		{N: 3, Cin: 1, H: 28, W: 28, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 2, Cin: 3, H: 12, W: 12, Cout: 3, KH: 5, KW: 5, Stride: 1},
		{N: 5, Cin: 2, H: 13, W: 7, Cout: 4, KH: 3, KW: 2, Stride: 1},
		{N: 1, Cin: 3, H: 9, W: 35, Cout: 2, KH: 1, KW: 1, Stride: 1},
	} {
		ho, wo := s.OutSize()
		x, w, b := randSlice(rng, s.N*s.Cin*s.H*s.W), randSlice(rng, s.Cout*s.Cin*s.KH*s.KW), randSlice(rng, s.Cout)
		f := func(v []float64) []float32 {
			o := make([]float32, len(v))
			for i := range v {
				o[i] = float32(v[i])
			}
			return o
		}
		x32, w32, b32 := f(x), f(w), f(b)
		// Round the inputs so the float64 reference sees exactly the float32 values.
		for i := range x {
			x[i] = float64(x32[i])
		}
		for i := range w {
			w[i] = float64(w32[i])
		}
		for i := range b {
			b[i] = float64(b32[i])
		}
		y := make([]float32, s.N*s.Cout*ho*wo)
		Conv2dForward(s, x32, w32, b32, y)
		want := refConv(s, x, w, b)
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-4*(1+math.Abs(want[i])) {
				t.Fatalf("%+v: y[%d]=%v want %v", s, i, y[i], want[i])
			}
		}
		g := randSlice(rng, len(y))
		g32 := f(g)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
		Conv2dBackward(s, x32, w32, g32, dx, dw, db)
		dx64, dw64, db64 := make([]float64, len(x)), make([]float64, len(w)), make([]float64, len(b))
		for i := range g {
			g[i] = float64(g32[i])
		}
		Conv2dBackward(s, x, w, g, dx64, dw64, db64) // float64 Go path, checked by TestConvPathsMatchReference
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"dx", dx, dx64}, {"dw", dw, dw64}, {"db", db, db64}} {
			for i := range c.got {
				if math.Abs(float64(c.got[i])-c.want[i]) > 1e-3*(1+math.Abs(c.want[i])) {
					t.Fatalf("%+v: %s[%d]=%v want %v", s, c.name, i, c.got[i], c.want[i])
				}
			}
		}
	}
}

// Axpy splits long vectors over the workers and gives the same result as the serial
// kernel, with one and two workers, on lengths around the split threshold.
func TestAxpySplitMatchesSerial(t *testing.T) {
	old := Workers
	defer func() { Workers = old }()
	for _, n := range []int{5, 2*axpyGrain - 1, 2*axpyGrain + 3, 5*axpyGrain + 7} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(i%97)-48, float32(i%13)
		}
		want := append([]float32(nil), y...)
		axpyGo(float32(0.5), x, want)
		for _, w := range []int{1, 2} {
			Workers = w
			got := append([]float32(nil), y...)
			Axpy(float32(0.5), x, got)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("n=%d workers=%d: y[%d] = %v, want %v", n, w, i, got[i], want[i])
				}
			}
		}
	}
}

// SumSqDiff8, SumSqDiffStore8, ScaledDiff and Scale (SIMD for float32) give the bits of
// their plain loops for every length 0–80, with zeros, negative zeros and large values
// mixed in.
func TestSumSqDiff8AndScaledDiffSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	val := func() float32 {
		switch rng.IntN(6) {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		case 2:
			return float32(rng.NormFloat64() * 1e18)
		}
		return float32(rng.NormFloat64())
	}
	for n := 0; n <= 80; n++ {
		x, y := make([]float32, n), make([]float32, n+3)
		for i := range x {
			x[i] = val()
		}
		for i := range y {
			y[i] = val()
		}
		var acc, want [8]float32
		for k := range acc {
			acc[k] = val()
		}
		want = acc
		for i := 0; i < n&^7; i += 8 {
			for k := range want {
				d := x[i+k] - y[i+k]
				want[k] += d * d
			}
		}
		if used := SumSqDiff8(x, y, &acc); used != n&^7 {
			t.Fatalf("len %d: used %d", n, used)
		}
		for k := range acc {
			if math.Float32bits(acc[k]) != math.Float32bits(want[k]) {
				t.Fatalf("len %d: acc[%d]=%v, loop gives %v", n, k, acc[k], want[k])
			}
		}
		var acc2 [8]float32
		for k := range acc2 {
			acc2[k] = want[k] - 1 // any start
		}
		want2 := acc2
		for i := 0; i < n&^7; i += 8 {
			for k := range want2 {
				d := x[i+k] - y[i+k]
				want2[k] += d * d
			}
		}
		diff := make([]float32, n)
		for i := range diff {
			diff[i] = 5 // only the first n &^ 7 are written
		}
		SumSqDiffStore8(x, y, diff, &acc2)
		for k := range acc2 {
			if math.Float32bits(acc2[k]) != math.Float32bits(want2[k]) {
				t.Fatalf("len %d: store acc[%d]=%v, loop gives %v", n, k, acc2[k], want2[k])
			}
		}
		for i := range diff {
			w := float32(5)
			if i < n&^7 {
				w = x[i] - y[i]
			}
			if math.Float32bits(diff[i]) != math.Float32bits(w) {
				t.Fatalf("len %d: diff[%d]=%v, want %v", n, i, diff[i], w)
			}
		}
		k := val()
		d := make([]float32, n)
		ScaledDiff(k, x, y, d)
		sc := make([]float32, n)
		for i := range sc {
			sc[i] = x[i] - y[i]
		}
		Scale(k, sc)
		for i := range sc {
			if w := k * (x[i] - y[i]); math.Float32bits(sc[i]) != math.Float32bits(w) {
				t.Fatalf("len %d: Scale gives %v at %d, k·(x−y) is %v", n, sc[i], i, w)
			}
		}
		for i := range d {
			if w := k * (x[i] - y[i]); math.Float32bits(d[i]) != math.Float32bits(w) {
				t.Fatalf("len %d: d[%d]=%v, loop gives %v", n, i, d[i], w)
			}
		}
	}
}

// dotTaps32 (AVX-512, 13 taps at a time, partial groups padded) gives the bits of one
// dot32 per tap, for 1–30 taps and every length 0–140 of g (blocks of 32 and 8 and the
// scalar tail), with the last tap reading up to the end of x.
func TestDotTapsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for taps := 1; taps <= 30; taps++ {
		for n := 0; n <= 140; n += 1 + rng.IntN(3) {
			offs := make([]int32, taps)
			maxOff := 0
			for i := range offs {
				offs[i] = int32(rng.IntN(50))
				maxOff = max(maxOff, int(offs[i]))
			}
			x := make([]float32, maxOff+n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			g := make([]float32, n)
			for i := range g {
				g[i] = float32(rng.NormFloat64())
			}
			out := make([]float32, taps)
			dotTaps32(x, offs, g, out)
			for i, o := range offs {
				var want float32
				if n > 0 {
					want = dot32(x[o:], g)
				}
				if math.Float32bits(out[i]) != math.Float32bits(want) {
					t.Fatalf("%d taps, len %d: out[%d]=%v, dot32 gives %v", taps, n, i, out[i], want)
				}
			}
		}
	}
}

// copyRows (SIMD for float32: full and masked blocks) copies exactly the rows' first
// width values between strided layouts and leaves the gaps alone, every width 0–40.
func TestCopyRows(t *testing.T) {
	for width := 0; width <= 40; width++ {
		for _, c := range []struct{ rows, ds, ss int }{{1, 0, 0}, {3, width + 5, width}, {4, width, width + 7}, {2, width + 1, width + 1}} {
			rows := c.rows
			ds, ss := max(c.ds, width), max(c.ss, width)
			src := make([]float32, rows*ss)
			for i := range src {
				src[i] = float32(i + 1)
			}
			dst := make([]float32, rows*ds)
			for i := range dst {
				dst[i] = -1
			}
			copyRows(dst, src, rows, width, ds, ss)
			for r := 0; r < rows; r++ {
				for j := 0; j < ds; j++ {
					want := float32(-1)
					if j < width {
						want = src[r*ss+j]
					}
					if got := dst[r*ds+j]; got != want {
						t.Fatalf("width %d %+v: dst[%d][%d]=%v, want %v", width, c, r, j, got, want)
					}
				}
			}
		}
	}
}

// ShiftedSums8 and DotShifted8 give the bits of their scalar loops (eight interleaved
// partial sums, each operation rounded on its own) on every length up to 70, with
// special values among the inputs; a kernel that fused the multiply-add or summed in
// another order fails.
func TestBatchNormSums8SameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), 1e-40, 3e38, float32(math.NaN())}
	gen := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 3)
			if rng.IntN(10) == 0 {
				v[i] = special[rng.IntN(len(special))]
			}
		}
		return v
	}
	same := func(what string, n int, got, want *[8]float32) {
		t.Helper()
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("%s, length %d: lane %d is %v, the scalar loop gives %v", what, n, k, got[k], want[k])
			}
		}
	}
	for n := 0; n <= 70; n++ {
		v, x := gen(n), gen(n)
		s, m := float32(rng.NormFloat64()), float32(rng.NormFloat64())
		a0, q0 := [8]float32{0.5, -1, 2, 0, 1e-3, 7, -3, 1}, [8]float32{1, 2, 3, 4, 5, 6, 7, 8}
		a, q, wa, wq := a0, q0, a0, q0
		if got := ShiftedSums8(v, s, &a, &q); got != n&^7 {
			t.Fatalf("ShiftedSums8 used %d of %d values", got, n)
		}
		for i := 0; i < n&^7; i++ {
			d := v[i] - s
			wa[i%8] += d
			wq[i%8] += d * d
		}
		same("ShiftedSums8 Σd", n, &a, &wa)
		same("ShiftedSums8 Σd²", n, &q, &wq)
		a, q, wa, wq = a0, q0, a0, q0
		if got := DotShifted8(v, x, m, &a, &q); got != n&^7 {
			t.Fatalf("DotShifted8 used %d of %d values", got, n)
		}
		for i := 0; i < n&^7; i++ {
			wa[i%8] += v[i]
			wq[i%8] += v[i] * (x[i] - m)
		}
		same("DotShifted8 Σg", n, &a, &wa)
		same("DotShifted8 Σg(x−m)", n, &q, &wq)
	}
}

// MaxOrdered32 equals its scalar loop (NaN only from s[0], ±0 ties in either sign), and
// ShiftToFloat64 and Scale give the bits of theirs, on every length up to 70 with NaN,
// ±0 and ±Inf among the values.
func TestSoftmaxPartsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40}
	for n := 1; n <= 70; n++ {
		for trial := 0; trial < 4; trial++ {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64() * 4)
				if rng.IntN(8) == 0 {
					s[i] = special[rng.IntN(len(special))]
				}
			}
			want := s[0]
			for _, v := range s[1:] {
				if v > want {
					want = v
				}
			}
			got := MaxOrdered32(s)
			if !(got == want || math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				t.Fatalf("length %d: MaxOrdered32 %v, the scalar loop %v (input %v)", n, got, want, s)
			}
			m := float32(rng.NormFloat64())
			b := make([]float64, n)
			ShiftToFloat64(b, s, m)
			for i, v := range s {
				if w := float64(v - m); math.Float64bits(b[i]) != math.Float64bits(w) && !(math.IsNaN(b[i]) && math.IsNaN(w)) {
					t.Fatalf("length %d: ShiftToFloat64[%d] = %v, want %v", n, i, b[i], w)
				}
			}
			y := append([]float32(nil), s...)
			Scale(m, y)
			for i, v := range s {
				if w := m * v; math.Float32bits(y[i]) != math.Float32bits(w) && !(math.IsNaN(float64(y[i])) && math.IsNaN(float64(w))) {
					t.Fatalf("length %d: Scale[%d] = %v, want %v", n, i, y[i], w)
				}
			}
		}
	}
}

// AddRowSums gives the bits of the plain row-by-row loop (each column summed over the
// rows in order) whether or not it splits the columns among goroutines, and FillRows puts
// the row into every row; float32 and float64, with 1, 2 and 3 Workers.
func TestAddRowSumsFillRows(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	rng := rand.New(rand.NewPCG(8, 9))
	for _, w := range []int{1, 2, 3} {
		Workers = w
		for _, s := range [][2]int{{1, 1}, {3, 7}, {4160, 192}, {700, 577}, {65536, 1}} {
			rows, cols := s[0], s[1]
			m := make([]float32, rows*cols)
			for i := range m {
				m[i] = float32(rng.NormFloat64())
			}
			want := make([]float32, cols)
			for j := range want {
				want[j] = float32(j) * 0.1
			}
			got := append([]float32(nil), want...)
			got64 := to64(want)
			for r := 0; r < rows; r++ {
				for j := range want {
					want[j] += m[r*cols+j]
				}
			}
			AddRowSums(got, m)
			m64 := to64(m)
			AddRowSums(got64, m64)
			for j := range want {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("Workers %d, %d×%d: column %d sums to %v, row by row %v", w, rows, cols, j, got[j], want[j])
				}
			}
			var want64 = to64(make([]float32, cols))
			for j := range want64 {
				want64[j] = float64(float32(j) * 0.1)
			}
			for r := 0; r < rows; r++ {
				for j := range want64 {
					want64[j] += m64[r*cols+j]
				}
			}
			for j := range want64 {
				if got64[j] != want64[j] {
					t.Fatalf("float64, Workers %d, %d×%d: column %d sums to %v, row by row %v", w, rows, cols, j, got64[j], want64[j])
				}
			}
			fill := make([]float32, rows*cols)
			FillRows(fill, want)
			for i, v := range fill {
				if v != want[i%cols] {
					t.Fatalf("FillRows, Workers %d, %d×%d: element %d = %v, want %v", w, rows, cols, i, v, want[i%cols])
				}
			}
		}
	}
}

// Add split among goroutines covers every element once, including the last, ragged
// chunk: lengths around the split's grain, 1 to 3 Workers.
func TestAddParallelSplit(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	rng := rand.New(rand.NewPCG(10, 11))
	for _, w := range []int{1, 2, 3} {
		Workers = w
		for _, n := range []int{2*addSplit - 1, 2 * addSplit, 2*addSplit + 17, 5*addSplit + 3} {
			x, y := make([]float32, n+2), make([]float32, n+2)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			d := make([]float32, n)
			Add(x, y, d)
			for i := range d {
				if d[i] != x[i]+y[i] {
					t.Fatalf("Workers %d, n %d: d[%d] = %v, want %v", w, n, i, d[i], x[i]+y[i])
				}
			}
		}
	}
}

// Max32 finds the largest value at every length 1 … 100 and offset (every tail of the
// 32/16-wide loops), wherever the maximum sits; with NaNs it returns a NaN or the largest
// other value, and among ±0 either zero.
func TestMax32(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for n := 1; n <= 100; n++ {
		for _, off := range []int{0, 1, 5} {
			buf := make([]float32, n+off)
			s := buf[off:]
			for i := range s {
				s[i] = float32(rng.NormFloat64())
			}
			at := rng.IntN(n)
			s[at] = 10
			if got := Max32(s); got != 10 {
				t.Fatalf("n %d offset %d: Max32 = %v, want 10 (at %d)", n, off, got, at)
			}
			for i := range s {
				s[i] = -float32(i + 1)
			}
			s[at] = float32(math.Copysign(0, -1))
			if n > 1 {
				s[(at+1)%n] = 0
			}
			if got := Max32(s); got != 0 {
				t.Fatalf("n %d offset %d: Max32 = %v among zeros of both signs, want ±0", n, off, got)
			}
			s[at] = float32(math.NaN())
			if got := Max32(s); !(math.IsNaN(float64(got)) || (n > 1 && got == 0) || (n == 1 && math.IsNaN(float64(got)))) {
				t.Fatalf("n %d offset %d: Max32 = %v with a NaN", n, off, got)
			}
		}
	}
}

// NarrowToFloat32 and MulNarrow give the bits of Go's conversion (round to nearest even,
// ±0, ±Inf, values past float32's range, denormals) at every length 0 … 40.
func TestNarrowSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), 1e39, -1e39, 1e-40, 1 + 0x1p-24, 1 + 0x3p-24}
	for n := 0; n <= 40; n++ {
		b, g := make([]float64, n), make([]float32, n)
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = special[rng.IntN(len(special))]
			} else {
				b[i] = rng.NormFloat64()
			}
			g[i] = float32(rng.NormFloat64())
		}
		got, gotMul := make([]float32, n), make([]float32, n)
		NarrowToFloat32(got, b)
		MulNarrow(gotMul, g, b)
		for i := range b {
			if want := float32(b[i]); math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("n %d: NarrowToFloat32(%v) = %v, want %v", n, b[i], got[i], want)
			}
			if want := g[i] * float32(b[i]); math.Float32bits(gotMul[i]) != math.Float32bits(want) && !(want != want && gotMul[i] != gotMul[i]) {
				t.Fatalf("n %d: MulNarrow(%v, %v) = %v, want %v", n, g[i], b[i], gotMul[i], want)
			}
		}
	}
}

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

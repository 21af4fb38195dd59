package tensor

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// naiveRealDFT2 is the O((hw)²) half spectrum of x (h×w).
func naiveRealDFT2(x []float64, h, w int) []complex128 {
	wf := w/2 + 1
	out := make([]complex128, h*wf)
	for k1 := 0; k1 < h; k1++ {
		for k2 := 0; k2 < wf; k2++ {
			var s complex128
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					ang := -2 * math.Pi * (float64(k1*i%h)/float64(h) + float64(k2*j%w)/float64(w))
					s += complex(x[i*w+j], 0) * cmplx.Exp(complex(0, ang))
				}
			}
			out[k1*wf+k2] = s
		}
	}
	return out
}

// naiveRealIDFT2 is the inverse real 2-D DFT by definition: inverse DFT of every column,
// then per row the real inverse DFT of the half row (weights 1 on the self-conjugate bins,
// whose imaginary parts drop out, 2 elsewhere), normalised by 1/(hw).
func naiveRealIDFT2(spec []complex128, h, w int) []float64 {
	wf := w/2 + 1
	cols := make([]complex128, h*wf)
	for i := 0; i < h; i++ {
		for k2 := 0; k2 < wf; k2++ {
			var s complex128
			for k1 := 0; k1 < h; k1++ {
				s += spec[k1*wf+k2] * cmplx.Exp(complex(0, 2*math.Pi*float64(k1*i%h)/float64(h)))
			}
			cols[i*wf+k2] = s
		}
	}
	out := make([]float64, h*w)
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			s := 0.0
			for k2 := 0; k2 < wf; k2++ {
				c := 2.0
				if k2 == 0 || 2*k2 == w {
					c = 1
				}
				s += c * real(cols[i*wf+k2]*cmplx.Exp(complex(0, 2*math.Pi*float64(k2*j%w)/float64(w))))
			}
			out[i*w+j] = s / float64(h*w)
		}
	}
	return out
}

var fftSizes = [][2]int{
	{1, 1}, {1, 2}, {2, 1}, {1, 7}, {2, 2}, {3, 3}, {4, 4}, {5, 6}, {7, 9}, {8, 8}, {9, 7},
	{11, 13}, {12, 10}, {16, 16}, {17, 4}, {18, 18}, {20, 15}, {25, 14}, {32, 32}, {6, 49},
	{3, 64}, {22, 33},
}

func TestRealFFT2MatchesNaiveDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range fftSizes {
		h, w := sz[0], sz[1]
		x := make([]float64, h*w)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		ft := NewRealFFT2(h, w)
		got := make([]complex128, ft.SpectrumLen())
		ft.Forward(got, x)
		want := naiveRealDFT2(x, h, w)
		scale := math.Sqrt(float64(h * w))
		for i := range want {
			if d := cmplx.Abs(got[i] - want[i]); d > 1e-12*scale*float64(h+w) {
				t.Fatalf("%d×%d: coefficient %d is %v, want %v", h, w, i, got[i], want[i])
			}
		}
		// Running twice gives the same answer (no state leaks between calls).
		again := make([]complex128, len(got))
		ft.Forward(again, x)
		for i := range got {
			if got[i] != again[i] {
				t.Fatalf("%d×%d: second call differs at %d", h, w, i)
			}
		}
	}
}

func TestRealFFT2RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range append(fftSizes, [2]int{64, 64}, [2]int{128, 96}, [2]int{27, 125}) {
		h, w := sz[0], sz[1]
		x := make([]float64, h*w)
		for i := range x {
			x[i] = rng.Float64()*2 - 1
		}
		ft := NewRealFFT2(h, w)
		spec := make([]complex128, ft.SpectrumLen())
		ft.Forward(spec, x)
		back := make([]float64, h*w)
		ft.Inverse(back, spec)
		for i := range x {
			if math.Abs(back[i]-x[i]) > 1e-13*math.Log2(float64(2*h*w)) {
				t.Fatalf("%d×%d: round trip moved value %d from %g to %g", h, w, i, x[i], back[i])
			}
		}
	}
}

// TestRealFFT2InverseOfAnySpectrum checks the inverse on half spectra that no real array
// has (random self-conjugate bins), where the discarded imaginary parts matter.
func TestRealFFT2InverseOfAnySpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range fftSizes {
		h, w := sz[0], sz[1]
		ft := NewRealFFT2(h, w)
		spec := make([]complex128, ft.SpectrumLen())
		for i := range spec {
			spec[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := naiveRealIDFT2(spec, h, w)
		got := make([]float64, h*w)
		ft.Inverse(got, append([]complex128(nil), spec...))
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-13*float64(h+w) {
				t.Fatalf("%d×%d: value %d is %g, want %g", h, w, i, got[i], want[i])
			}
		}
	}
}

func TestRealFFT2PanicsOnWrongLengths(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a spectrum of the wrong length")
		}
	}()
	NewRealFFT2(4, 4).Forward(make([]complex128, 4*4), make([]float64, 16))
}

func BenchmarkFFT2(b *testing.B) {
	for _, n := range []int{16, 18, 32, 64, 128, 256} {
		ft := NewRealFFT2(n, n)
		x := make([]float64, n*n)
		for i := range x {
			x[i] = float64(i%7) - 3
		}
		spec := make([]complex128, ft.SpectrumLen())
		b.Run(fmt.Sprintf("forward/%d", n), func(b *testing.B) {
			for b.Loop() {
				ft.Forward(spec, x)
			}
			reportFlops(b, n)
		})
		ft.Forward(spec, x)
		work := make([]complex128, len(spec))
		b.Run(fmt.Sprintf("inverse/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(work, spec) // Inverse overwrites its input
				ft.Inverse(x, work)
			}
			reportFlops(b, n)
		})
	}
}

// reportFlops reports the conventional 2.5·N·log₂N real flops of an N-point real FFT.
func reportFlops(b *testing.B, n int) {
	flops := 2.5 * float64(n*n) * math.Log2(float64(n*n))
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

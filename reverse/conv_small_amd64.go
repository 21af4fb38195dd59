package reverse

import "golang.org/x/sys/cpu"

// hasCorr5 reports whether corr5 (AVX2 and FMA) can run.
var hasCorr5 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// corr5 sets out[j] = Σ_p Σ_kx wts[5p+kx]·src[base+offs[p]+j+kx] for j < len(out)
// rounded down to a multiple of four, eight (then four) outputs per pass with one
// accumulator per tap column. The caller checks every index: the assembly does not.
//
//go:noescape
func corr5(out, src []float64, base int, offs []int, wts []float64)

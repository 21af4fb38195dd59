//go:build !amd64

package reverse

// hasCorr5 is false: there is no vector kernel for this architecture.
var hasCorr5 = false

// corr5 is never called without hasCorr5.
func corr5(out, src []float64, base int, offs []int, wts []float64) {
	panic("reverse: corr5 without AVX2")
}

//go:build (!amd64 || purego) && !openblas

package tensor

// Without the amd64 assembly kernels (gemm_amd64.go) or OpenBLAS (gemm_openblas.go),
// Sgemm runs the pure-Go sgemmGo.
func init() { sgemmImpl = sgemmGo }

//go:build !amd64 || purego || openblas

package tensor

// sgemmPaths: without the assembly kernels, the active Sgemm and the pure-Go sgemmGo.
func sgemmPaths() []sgemmPath {
	return []sgemmPath{{"active", Sgemm}, {"go", sgemmGo}}
}

// Package tensor holds frpt's dense arrays and the compute kernels the layers run on.
//
// A T is a contiguous row-major float32 array with a shape (NCHW for images). The package
// owns the hot kernels (SGEMM, convolution, pooling, reductions) behind small function
// signatures so that a faster backend can replace one without touching package nn.
// It is written by hand rather than taken from gonum because gonum's pure-Go SGEMM reaches
// about a tenth of what this machine can do, and training loops need pooled buffers and
// fused kernels that a general matrix library does not offer. Dense float64 linear algebra
// (solvers) is gonum's job, not this package's.
//
// RealFFT2 is a planned, allocation-free real 2-D FFT for the frequency-domain reverses.
//
// Programmer errors (mismatched shapes) panic with the shapes in the message.
package tensor

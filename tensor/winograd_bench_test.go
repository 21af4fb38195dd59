package tensor

import (
	"fmt"
	"testing"
)

// BenchmarkConv3x3Pass times each pass (fwd, dx, dw) of the 3×3 stride-1 convolutions of
// ResNet-18 on CIFAR (batch 64) and of smaller batches, on the default kernels and on
// Winograd F(4×4, 3×3) and F(2×2, 3×3): the figures behind conv3x3Rule.
func BenchmarkConv3x3Pass(b *testing.B) {
	shapes := []ConvShape{
		{N: 64, Cin: 64, H: 32, W: 32, Cout: 64},
		{N: 64, Cin: 128, H: 16, W: 16, Cout: 128},
		{N: 64, Cin: 256, H: 8, W: 8, Cout: 256},
		{N: 64, Cin: 512, H: 4, W: 4, Cout: 512},
		{N: 8, Cin: 64, H: 32, W: 32, Cout: 64},
		{N: 8, Cin: 512, H: 4, W: 4, Cout: 512},
		{N: 64, Cin: 16, H: 32, W: 32, Cout: 16},
		{N: 64, Cin: 32, H: 28, W: 28, Cout: 32},
	}
	for _, s := range shapes {
		s.KH, s.KW, s.Stride, s.Pad = 3, 3, 1, 1
		x := make([]float32, s.N*s.Cin*s.H*s.W)
		w := make([]float32, s.Cout*s.Cin*9)
		ho, wo := s.OutSize()
		y := make([]float32, s.N*s.Cout*ho*wo)
		for i := range x {
			x[i] = float32(i%13) - 6
		}
		for i := range w {
			w[i] = float32(i%7) * 0.01
		}
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		for _, path := range []string{Conv3x3Default, Conv3x3Winograd, Conv3x3Winograd2} {
			for pass, name := range []string{"fwd", "dx", "dw"} {
				b.Run(fmt.Sprintf("%dx%d-%dx%d-b%d/%s/%s", s.Cin, s.Cout, s.H, s.W, s.N, name, path), func(b *testing.B) {
					prev, _ := SetConv3x3Path(path)
					defer SetConv3x3Path(prev)
					for i := 0; i < b.N; i++ {
						switch pass {
						case 0:
							Conv2dForward(s, x, w, nil, y)
						case 1:
							Conv2dBackward(s, x, w, y, dx, nil, nil)
						case 2:
							Conv2dBackward(s, x, w, y, nil, dw, nil)
						}
					}
				})
			}
		}
	}
}

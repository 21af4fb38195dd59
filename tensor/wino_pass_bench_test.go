package tensor

import "testing"

func benchPass(b *testing.B, path string, pass int) {
	s := ConvShape{N: 64, Cin: 64, H: 32, W: 32, Cout: 64, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x := make([]float32, s.N*s.Cin*s.H*s.W)
	w := make([]float32, s.Cout*s.Cin*9)
	y := make([]float32, s.N*s.Cout*s.H*s.W)
	for i := range x {
		x[i] = float32(i%13) - 6
	}
	for i := range w {
		w[i] = float32(i%7) * 0.01
	}
	dx := make([]float32, len(x))
	dw := make([]float32, len(w))
	prev, _ := SetConv3x3Path(path)
	defer SetConv3x3Path(prev)
	b.ResetTimer()
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
}

func BenchmarkPassFwdDefault(b *testing.B) { benchPass(b, "default", 0) }
func BenchmarkPassFwdWino(b *testing.B)    { benchPass(b, "winograd", 0) }
func BenchmarkPassDxDefault(b *testing.B)  { benchPass(b, "default", 1) }
func BenchmarkPassDxWino(b *testing.B)     { benchPass(b, "winograd", 1) }
func BenchmarkPassDwDefault(b *testing.B)  { benchPass(b, "default", 2) }
func BenchmarkPassDwWino(b *testing.B)     { benchPass(b, "winograd", 2) }

package reverse

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/tensor"
)

// BenchmarkGramSmall times one AᵀA application on one sample with the small-map kernels
// and with the tensor ops: the bench layers (Cin 2, Cout 4, 5×5), a stability-grid layer
// and a strided layer with many channels (where useSmallConv picks the tensor ops).
func BenchmarkGramSmall(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sc := range []smallCase{{2, 4, 5, 5, 1, 0, 16, 16}, {2, 4, 5, 5, 1, 0, 64, 64}, {8, 8, 5, 5, 1, 1, 64, 64}, {16, 32, 3, 3, 2, 1, 32, 32}} {
		w := randSlice(rng, sc.cout*sc.cin*sc.kh*sc.kw, 1)
		k := newSmallConv(w, sc.cout, sc.cin, sc.kh, sc.kw, sc.stride, sc.pad, sc.h, sc.w)
		x := randSlice(rng, sc.cin*sc.h*sc.w, 1)
		y := make([]float64, sc.cout*k.ho*k.wo)
		for _, vec := range []bool{false, true} {
			if vec && !hasCorr5 {
				continue
			}
			name := "small-scalar/"
			if vec {
				name = "small-vector/"
			}
			b.Run(name+sc.String(), func(b *testing.B) {
				defer func(v bool) { hasCorr5 = v }(hasCorr5)
				hasCorr5 = vec
				wk := k.work()
				for b.Loop() {
					k.fwd(x, y, wk)
					k.adj(y, x, wk)
				}
			})
		}
		s := tensor.ConvShape{N: 1, Cin: sc.cin, H: sc.h, W: sc.w, Cout: sc.cout, KH: sc.kh, KW: sc.kw, Stride: sc.stride, Pad: sc.pad}
		b.Run(fmt.Sprint("tensor/", sc), func(b *testing.B) {
			for b.Loop() {
				tensor.Conv2dForward(s, x, w, nil, y)
				tensor.Conv2dBackward(s, x, w, y, x, nil, nil)
			}
		})
	}
}

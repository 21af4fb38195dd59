package tensor

import (
	"math/rand/v2"
	"testing"
)

// TestMaxPool2x2MatchesGeneral checks the 2×2/2 fast path against the window loop written
// out (first arg-max in row-major order), odd sizes and many ties included.
func TestMaxPool2x2MatchesGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, sz := range [][3]int{{3, 8, 8}, {2, 7, 9}, {1, 24, 24}, {4, 5, 4}} {
		planes, h, w := sz[0], sz[1], sz[2]
		x := make([]float32, planes*h*w)
		for i := range x {
			x[i] = float32(rng.IntN(4)) // many ties
		}
		ho, wo := h/2, w/2
		y, idx := make([]float32, planes*ho*wo), make([]int32, planes*ho*wo)
		MaxPool2dForward(planes, h, w, 2, 2, 0, x, y, idx)
		for p := 0; p < planes; p++ {
			for oy := 0; oy < ho; oy++ {
				for ox := 0; ox < wo; ox++ {
					best, bi := float32(0), int32(-1)
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							j := int32((2*oy+dy)*w + 2*ox + dx)
							if v := x[p*h*w+int(j)]; bi < 0 || v > best {
								best, bi = v, j
							}
						}
					}
					o := p*ho*wo + oy*wo + ox
					if y[o] != best || idx[o] != bi {
						t.Fatalf("%v plane %d (%d,%d): got %v@%d want %v@%d", sz, p, oy, ox, y[o], idx[o], best, bi)
					}
				}
			}
		}
	}
}

package explain

import (
	"fmt"
	"math"
)

// Grid says how one sample's feature at a tap is read as C channels over an H×W grid.
type Grid struct {
	C, H, W int
	// Tokens: a SimpleViT token map [1 + H·W, C]; row 0 (the class token) is dropped and
	// row 1 + y·W + x is patch (y, x), the order of the patch embedding.
	Tokens bool
	// Vector: a feature without spatial extent ([C]: logits, pooled or class-token
	// vectors), read as C channels over one cell.
	Vector bool
}

// GridOf returns the grid of a per-sample feature shape (without the batch dimension):
// [C, h, w] conv maps, [1 + g², D] token maps, [K] vectors.
func GridOf(shape []int) (Grid, error) {
	switch len(shape) {
	case 3:
		return Grid{C: shape[0], H: shape[1], W: shape[2]}, nil
	case 2:
		g := int(math.Round(math.Sqrt(float64(shape[0] - 1))))
		if shape[0] < 2 || g*g != shape[0]-1 {
			return Grid{}, fmt.Errorf("token map of shape %v: want 1 class token + a square patch grid", shape)
		}
		return Grid{C: shape[1], H: g, W: g, Tokens: true}, nil
	case 1:
		return Grid{C: shape[0], H: 1, W: 1, Vector: true}, nil
	}
	return Grid{}, fmt.Errorf("feature of shape %v has no channel/grid reading", shape)
}

// String describes the reading, e.g. "map: 3 channels over 8×8".
func (g Grid) String() string {
	switch {
	case g.Tokens:
		return fmt.Sprintf("tokens: %d channels over the %d×%d patch grid (class token dropped)", g.C, g.H, g.W)
	case g.Vector:
		return fmt.Sprintf("vector: %d channels over one cell", g.C)
	}
	return fmt.Sprintf("map: %d channels over %d×%d", g.C, g.H, g.W)
}

// Spatial reports whether the grid has more than one cell (a map Grad-CAM and the
// faithfulness curves can use).
func (g Grid) Spatial() bool { return g.H*g.W > 1 }

// Size is the number of values of one sample's feature.
func (g Grid) Size() int {
	if g.Tokens {
		return (1 + g.H*g.W) * g.C
	}
	return g.C * g.H * g.W
}

// Channels copies one sample's feature (Size values in the tap's layout) into dst as
// float64 channel-major rows: dst[c·H·W + y·W + x]. dst is grown if needed and returned.
func (g Grid) Channels(dst []float64, sample []float32) []float64 {
	hw := g.H * g.W
	dst = grow(dst, g.C*hw)
	if !g.Tokens {
		for i, v := range sample[:g.C*hw] {
			dst[i] = float64(v)
		}
		return dst
	}
	for p := 0; p < hw; p++ {
		row := sample[(1+p)*g.C : (2+p)*g.C]
		for c, v := range row {
			dst[c*hw+p] = float64(v)
		}
	}
	return dst
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

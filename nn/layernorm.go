package nn

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/tensor"
)

// LayerNorm normalises over the last dimension with biased variance, then applies the
// elementwise affine map: y = (x − mean)/√(var + Eps) · weight + bias (PyTorch
// nn.LayerNorm(d, eps), weight initialised to 1 and bias to 0).
type LayerNorm[F tensor.Float] struct {
	Weight, Bias *Param[F]
	D            int
	Eps          float64

	x          *tensor.T[F] // saved input
	mean, rstd []float64    // per-row statistics saved for Backward
	y, dx      *tensor.T[F]
}

// NewLayerNorm returns a LayerNorm over a last dimension of size d (PyTorch's default eps
// is 1e-5; SimpleViT v2 uses 1e-6).
func NewLayerNorm[F tensor.Float](d int, eps float64) *LayerNorm[F] {
	if d <= 0 {
		panic(fmt.Sprintf("nn.NewLayerNorm: dimension %d", d))
	}
	l := &LayerNorm[F]{Weight: NewParam[F](d), Bias: NewParam[F](d), D: d, Eps: eps}
	l.Weight.Value.Fill(1)
	l.Weight.NoDecay = true
	l.Bias.NoDecay = true
	return l
}

// Forward normalises each row of the last dimension and records mean and 1/std.
func (l *LayerNorm[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if x.Dim(-1) != l.D {
		panic(fmt.Sprintf("nn.LayerNorm: input shape %v, want last dimension %d", x.Shape, l.D))
	}
	d := l.D
	rows := x.Numel() / d
	l.x = x
	l.y = tensor.Ensure(l.y, x.Shape...)
	if cap(l.mean) < rows {
		l.mean, l.rstd = make([]float64, rows), make([]float64, rows)
	}
	l.mean, l.rstd = l.mean[:rows], l.rstd[:rows]
	w, b := l.Weight.Value.Data, l.Bias.Value.Data
	xs, ys := x.Data, l.y.Data
	tensor.Parallel(rows, max(1, 4096/d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := xs[r*d:(r+1)*d], ys[r*d:(r+1)*d]
			var m float64
			for _, v := range xr {
				m += float64(v)
			}
			m /= float64(d)
			var v2 float64
			for _, v := range xr {
				c := float64(v) - m
				v2 += c * c
			}
			rs := 1 / math.Sqrt(v2/float64(d)+l.Eps)
			l.mean[r], l.rstd[r] = m, rs
			for j, v := range xr {
				yr[j] = F((float64(v)-m)*rs)*w[j] + b[j]
			}
		}
	})
	return l.y
}

// Backward adds dweight = Σ dy ⊙ x̂ and dbias = Σ dy over rows and returns
// dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ weight.
func (l *LayerNorm[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.LayerNorm.Backward", dy, l.y)
	d := l.D
	rows := dy.Numel() / d
	w := l.Weight.Value.Data
	xs, dys := l.x.Data, dy.Data
	// Parameter gradients: workers take disjoint column ranges, so no reduction is needed.
	if !l.Weight.Frozen {
		gw := l.Weight.Grad.Data
		tensor.Parallel(d, 32, func(lo, hi int) {
			for r := 0; r < rows; r++ {
				m, rs := l.mean[r], l.rstd[r]
				xr, gr := xs[r*d+lo:r*d+hi], dys[r*d+lo:r*d+hi]
				g := gw[lo:hi]
				for j, v := range xr {
					g[j] += gr[j] * F((float64(v)-m)*rs)
				}
			}
		})
	}
	if !l.Bias.Frozen {
		gb := l.Bias.Grad.Data
		for r := 0; r < rows; r++ {
			for j, v := range dys[r*d : (r+1)*d] {
				gb[j] += v
			}
		}
	}
	l.dx = ensureGrad(l.dx, dy.Shape...)
	dxs := l.dx.Data
	tensor.Parallel(rows, max(1, 4096/d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			m, rs := l.mean[r], l.rstd[r]
			xr, gr, dr := xs[r*d:(r+1)*d], dys[r*d:(r+1)*d], dxs[r*d:(r+1)*d]
			var mg, mgx float64
			for j, v := range xr {
				g := float64(gr[j]) * float64(w[j])
				mg += g
				mgx += g * (float64(v) - m) * rs
			}
			mg /= float64(d)
			mgx /= float64(d)
			for j, v := range xr {
				g := float64(gr[j]) * float64(w[j])
				dr[j] = F(rs * (g - mg - (float64(v)-m)*rs*mgx))
			}
		}
	})
	return l.dx
}

// ReleaseGrad hands the input-gradient buffer of the last Backward to a shared free list,
// from which the next Backward of any layer may take it: the gradient Backward returned
// must not be used afterwards.
func (l *LayerNorm[F]) ReleaseGrad() { releaseGrad(&l.dx) }

// Params returns weight and bias.
func (l *LayerNorm[F]) Params() []Named[F] {
	return []Named[F]{{"weight", l.Weight}, {"bias", l.Bias}}
}

package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// PatchEmbed is a ViT patch embedding: a convolution with kernel = stride = Patch from
// [N, C, H, W] images to D channels, returned as tokens [N, L, D] in the order of
// PyTorch's conv(x).flatten(2).transpose(1, 2), i.e. token i·(W/p) + j is patch (i, j).
// It is computed as patchify + one Gemm. Like PyTorch, trailing rows and columns that do
// not fill a whole patch are ignored (and receive zero gradient).
type PatchEmbed[F tensor.Float] struct {
	Weight, Bias   *Param[F] // weight [D, C, p, p], bias [D]
	InCh, D, Patch int
	NoGrad         bool // when true Backward skips the input gradient (first layer)

	xShape []int
	cols   []F // [N·L, C·p·p] patches of the last Forward
	dcols  []F
	y, dx  *tensor.T[F]
}

// NewPatchEmbed returns a patch embedding with PyTorch's default Conv2d initialisation
// (weight and bias U(±1/√(C·p·p))).
func NewPatchEmbed[F tensor.Float](inCh, d, patch int, rng *rand.Rand) *PatchEmbed[F] {
	if inCh <= 0 || d <= 0 || patch <= 0 {
		panic(fmt.Sprintf("nn.NewPatchEmbed: in %d, width %d, patch %d", inCh, d, patch))
	}
	e := &PatchEmbed[F]{Weight: NewParam[F](d, inCh, patch, patch), Bias: NewParam[F](d), InCh: inCh, D: d, Patch: patch}
	fanIn := inCh * patch * patch
	KaimingUniform(e.Weight.Value, fanIn, rng)
	KaimingUniform(e.Bias.Value, fanIn, rng)
	e.Bias.NoDecay = true
	return e
}

// Forward turns images [N, C, H, W] into tokens [N, (H/p)·(W/p), D].
func (e *PatchEmbed[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 4 || x.Shape[1] != e.InCh || x.Shape[2] < e.Patch || x.Shape[3] < e.Patch {
		panic(fmt.Sprintf("nn.PatchEmbed: input shape %v, want [N, %d, ≥%d, ≥%d]", x.Shape, e.InCh, e.Patch, e.Patch))
	}
	n, c, hgt, wid, p := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], e.Patch
	hp, wp := hgt/p, wid/p
	l, k := hp*wp, c*p*p
	e.xShape = append(e.xShape[:0], x.Shape...)
	e.cols = reuseSlice(e.cols, n*l*k)
	cols, xs := e.cols, x.Data
	tensor.Parallel(n*l, 64, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, i, j := t/l, (t%l)/wp, t%wp
			row := cols[t*k : (t+1)*k]
			for ch := 0; ch < c; ch++ {
				for ki := 0; ki < p; ki++ {
					src := ((b*c+ch)*hgt+i*p+ki)*wid + j*p
					copy(row[(ch*p+ki)*p:(ch*p+ki+1)*p], xs[src:src+p])
				}
			}
		}
	})
	e.y = tensor.Ensure(e.y, n, l, e.D)
	tensor.GemmBias(false, true, n*l, e.D, k, cols, k, e.Weight.Value.Data, k, e.Bias.Value.Data, e.y.Data, e.D)
	return e.y
}

// Backward adds dW = dyᵀ·patches and db = Σ dy and returns the image gradient.
func (e *PatchEmbed[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.PatchEmbed.Backward", dy, e.y)
	n, c, hgt, wid, p := e.xShape[0], e.xShape[1], e.xShape[2], e.xShape[3], e.Patch
	hp, wp := hgt/p, wid/p
	l, k, rows := hp*wp, c*p*p, n*hp*wp
	if !e.Weight.Frozen {
		tensor.Gemm(true, false, e.D, k, rows, 1, dy.Data, e.D, e.cols, k, 1, e.Weight.Grad.Data, k)
	}
	if !e.Bias.Frozen {
		g := e.Bias.Grad.Data
		for t := 0; t < rows; t++ {
			for j, v := range dy.Data[t*e.D : (t+1)*e.D] {
				g[j] += v
			}
		}
	}
	if e.NoGrad {
		return nil
	}
	e.dcols = reuseSlice(e.dcols, rows*k)
	tensor.Gemm(false, false, rows, k, e.D, 1, dy.Data, e.D, e.Weight.Value.Data, k, 0, e.dcols, k)
	e.dx = tensor.Ensure(e.dx, e.xShape...)
	if hp*p != hgt || wp*p != wid {
		e.dx.Zero() // pixels outside every patch
	}
	dcols, dxs := e.dcols, e.dx.Data
	tensor.Parallel(rows, 64, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			b, i, j := t/l, (t%l)/wp, t%wp
			row := dcols[t*k : (t+1)*k]
			for ch := 0; ch < c; ch++ {
				for ki := 0; ki < p; ki++ {
					dst := ((b*c+ch)*hgt+i*p+ki)*wid + j*p
					copy(dxs[dst:dst+p], row[(ch*p+ki)*p:(ch*p+ki+1)*p])
				}
			}
		}
	})
	return e.dx
}

// Params returns weight and bias.
func (e *PatchEmbed[F]) Params() []Named[F] {
	return []Named[F]{{"weight", e.Weight}, {"bias", e.Bias}}
}

// ClsPos prepends a learned CLS token to tokens [N, L, D] and adds a learned positional
// embedding: y[n, 0] = cls + pos[0], y[n, 1+l] = x[n, l] + pos[1+l]; output [N, L+1, D].
type ClsPos[F tensor.Float] struct {
	ClsToken, PosEmbed *Param[F] // cls_token [1, 1, D], pos_embed [1, L+1, D]
	Tokens, D          int

	y, dx *tensor.T[F]
}

// NewClsPos returns a CLS/position embedding for the given number of patch tokens and
// width, with cls_token and pos_embed drawn from N(0, 0.02²).
func NewClsPos[F tensor.Float](tokens, d int, rng *rand.Rand) *ClsPos[F] {
	if tokens <= 0 || d <= 0 {
		panic(fmt.Sprintf("nn.NewClsPos: %d tokens of width %d", tokens, d))
	}
	e := &ClsPos[F]{ClsToken: NewParam[F](1, 1, d), PosEmbed: NewParam[F](1, tokens+1, d), Tokens: tokens, D: d}
	Normal(e.ClsToken.Value, 0.02, rng)
	Normal(e.PosEmbed.Value, 0.02, rng)
	return e
}

// Forward returns [cls; x] + pos.
func (e *ClsPos[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 3 || x.Shape[1] != e.Tokens || x.Shape[2] != e.D {
		panic(fmt.Sprintf("nn.ClsPos: input shape %v, want [N, %d, %d]", x.Shape, e.Tokens, e.D))
	}
	n, l, d := x.Shape[0], e.Tokens, e.D
	e.y = tensor.Ensure(e.y, n, l+1, d)
	pos, cls := e.PosEmbed.Value.Data, e.ClsToken.Value.Data
	for b := 0; b < n; b++ {
		out := e.y.Data[b*(l+1)*d : (b+1)*(l+1)*d]
		for j := 0; j < d; j++ {
			out[j] = cls[j] + pos[j]
		}
		in := x.Data[b*l*d : (b+1)*l*d]
		for i, v := range in {
			out[d+i] = v + pos[d+i]
		}
	}
	return e.y
}

// Backward adds dcls = Σₙ dy[n, 0] and dpos = Σₙ dy[n] and returns dy[:, 1:].
func (e *ClsPos[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.ClsPos.Backward", dy, e.y)
	n, l, d := dy.Shape[0], e.Tokens, e.D
	e.dx = tensor.Ensure(e.dx, n, l, d)
	for b := 0; b < n; b++ {
		g := dy.Data[b*(l+1)*d : (b+1)*(l+1)*d]
		if !e.ClsToken.Frozen {
			for j, v := range g[:d] {
				e.ClsToken.Grad.Data[j] += v
			}
		}
		if !e.PosEmbed.Frozen {
			for j, v := range g {
				e.PosEmbed.Grad.Data[j] += v
			}
		}
		copy(e.dx.Data[b*l*d:(b+1)*l*d], g[d:])
	}
	return e.dx
}

// Params returns cls_token and pos_embed.
func (e *ClsPos[F]) Params() []Named[F] {
	return []Named[F]{{"cls_token", e.ClsToken}, {"pos_embed", e.PosEmbed}}
}

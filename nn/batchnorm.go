package nn

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/tensor"
)

// BatchNorm2d normalises each channel of NCHW data. In training it uses the batch's
// statistics (biased variance) and updates the running statistics with momentum 0.1
// (unbiased variance), as PyTorch does; in evaluation it uses the running statistics.
// It keeps the input of the last Forward (not a normalised copy): Backward recomputes
// x̂ from it, so the input must not be modified in place in between.
type BatchNorm2d[F tensor.Float] struct {
	Weight, Bias            *Param[F]
	RunningMean, RunningVar *Param[F]
	NumBatchesTracked       *Param[F]
	Eps, Momentum           float64
	Training                bool
	x, y, dx                *tensor.T[F]
	mean, invStd            []float64 // per channel, as used by the last Forward
}

// NewBatchNorm2d returns BatchNorm2d(c) with weight 1, bias 0, eps 1e-5, momentum 0.1.
func NewBatchNorm2d[F tensor.Float](c int) *BatchNorm2d[F] {
	b := &BatchNorm2d[F]{Weight: NewParam[F](c), Bias: NewParam[F](c), RunningMean: NewBuffer[F](c), RunningVar: NewBuffer[F](c),
		NumBatchesTracked: NewBuffer[F](), Eps: 1e-5, Momentum: 0.1}
	b.NumBatchesTracked.Int = true
	b.Weight.Value.Fill(1)
	b.RunningVar.Value.Fill(1)
	b.Weight.NoDecay, b.Bias.NoDecay = true, true
	return b
}

// SetTraining switches between batch and running statistics.
func (b *BatchNorm2d[F]) SetTraining(on bool) { b.Training = on }

// Forward normalises x [N, C, H, W]. In training the batch statistics take one pass over
// x: per plane, Σ(x−s) and Σ(x−s)² in F partial sums (s, the channel's first value, keeps
// the second sum free of cancellation), merged in float64; a second pass writes
// y = (x − μ)·γ/σ + β.
func (b *BatchNorm2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] { return b.forward(x, nil) }

// ForwardReLU is relu.Forward(b.Forward(x)) in one pass over the planes: each plane is
// rectified right after it is normalised, while it is in cache. Both layers end in the
// state (and the bits) of the two calls.
func (b *BatchNorm2d[F]) ForwardReLU(x *tensor.T[F], relu *ReLU[F]) *tensor.T[F] {
	b.forward(x, relu)
	return relu.y
}

func (b *BatchNorm2d[F]) forward(x *tensor.T[F], relu *ReLU[F]) *tensor.T[F] {
	c := b.Weight.Value.Numel()
	if len(x.Shape) != 4 || x.Shape[1] != c {
		panic(fmt.Sprintf("nn.BatchNorm2d: input shape %v, want [N %d H W]", x.Shape, c))
	}
	n, hw := x.Shape[0], x.Shape[2]*x.Shape[3]
	b.y = tensor.Ensure(b.y, x.Shape...)
	var r []F
	if relu != nil {
		relu.x = b.y
		relu.y = tensor.Ensure(relu.y, x.Shape...)
		r = relu.y.Data
	}
	if len(b.invStd) != c {
		b.invStd = make([]float64, c)
		b.mean = make([]float64, c)
	}
	tensor.Parallel(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var mean, variance float64
			if b.Training && n*hw > 0 {
				shift := x.Data[ch*hw]
				var s, ss float64
				for i := 0; i < n; i++ {
					ps, pss := sumSqShifted(x.Data[(i*c+ch)*hw:(i*c+ch+1)*hw], shift)
					s += float64(ps)
					ss += float64(pss)
				}
				cnt := float64(n * hw)
				d := s / cnt // mean − shift
				mean = float64(shift) + d
				sq := max(ss-s*d, 0) // Σ (x − mean)²
				variance = sq / cnt
				unbiased := variance
				if cnt > 1 {
					unbiased = sq / (cnt - 1)
				}
				rm, rv := b.RunningMean.Value.Data, b.RunningVar.Value.Data
				rm[ch] = F((1-b.Momentum)*float64(rm[ch]) + b.Momentum*mean)
				rv[ch] = F((1-b.Momentum)*float64(rv[ch]) + b.Momentum*unbiased)
			} else {
				mean, variance = float64(b.RunningMean.Value.Data[ch]), float64(b.RunningVar.Value.Data[ch])
			}
			inv := 1 / math.Sqrt(variance+b.Eps)
			b.mean[ch], b.invStd[ch] = mean, inv
			scale := float64(b.Weight.Value.Data[ch]) * inv
			mf, sf, bf := F(mean), F(scale), b.Bias.Value.Data[ch]
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				tensor.Affine(x.Data[off:off+hw], b.y.Data[off:off+hw], mf, sf, bf)
				if r != nil {
					tensor.ReLU(b.y.Data[off:off+hw], r[off:off+hw])
				}
			}
		}
	})
	if b.Training {
		b.NumBatchesTracked.Value.Data[0]++
	}
	b.x = x
	return b.y
}

// Backward returns dx and adds dγ = Σ dy·x̂, dβ = Σ dy. In training mode the batch
// statistics depend on x: dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); in eval mode
// dx = γ/σ·dy. x̂ = (x − μ)/σ is recomputed from the saved input: one pass gathers Σ dy
// and Σ dy·(x − μ), a second writes dx, which is affine in dy and x − μ.
func (b *BatchNorm2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return b.backward(dy, nil) }

// BackwardReLU is b.Backward(relu.Backward(dy)) in one pass over the planes: each plane
// of the gradient is masked by relu's output right before BatchNorm sums it, while it is
// in cache. relu may be any ReLU of the batch's shape (the one after this BatchNorm, or
// one after a residual sum); it returns relu's input gradient too, for a shortcut that
// also needs it. Both layers end in the state (and the bits) of the two calls.
func (b *BatchNorm2d[F]) BackwardReLU(dy *tensor.T[F], relu *ReLU[F]) (dx, drelu *tensor.T[F]) {
	dx = b.backward(dy, relu)
	return dx, relu.dx
}

// backward is Backward, or with relu non-nil BackwardReLU: dy is then the gradient of
// relu's output, masked plane by plane into relu.dx, which BatchNorm's passes read.
func (b *BatchNorm2d[F]) backward(dy *tensor.T[F], relu *ReLU[F]) *tensor.T[F] {
	g := dy.Data
	if relu != nil {
		if relu.y == nil {
			panic("nn.ReLU.Backward: called before Forward")
		}
		tensor.MustSameShape("nn.ReLU.Backward", dy, relu.y)
		relu.dx = ensureGrad(relu.dx, dy.Shape...)
		g = relu.dx.Data
	}
	tensor.MustSameShape("nn.BatchNorm2d.Backward", dy, b.y)
	c := b.Weight.Value.Numel()
	n, hw := dy.Shape[0], dy.Shape[2]*dy.Shape[3]
	b.dx = tensor.Ensure(b.dx, dy.Shape...)
	x := b.x.Data
	tensor.Parallel(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			mean, inv := b.mean[ch], b.invStd[ch]
			mf := F(mean)
			var sdy, sdxm float64 // Σ dy, Σ dy·(x − μ)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				if relu != nil {
					tensor.ReLUMask(g[off:off+hw], dy.Data[off:off+hw], relu.y.Data[off:off+hw])
				}
				p, q := sumDot(g[off:off+hw], x[off:off+hw], mf)
				sdy += float64(p)
				sdxm += float64(q)
			}
			sdyx := sdxm * inv // Σ dy·x̂
			if !b.Weight.Frozen {
				b.Weight.Grad.Data[ch] += F(sdyx)
			}
			if !b.Bias.Frozen {
				b.Bias.Grad.Data[ch] += F(sdy)
			}
			k := float64(b.Weight.Value.Data[ch]) * inv
			// dx = k·dy + cx·(x − μ) + c0 with cx = −k·mean(dy·x̂)/σ, c0 = −k·mean(dy).
			var cx, c0 float64
			if b.Training {
				cnt := float64(n * hw)
				cx = -k * sdyx / cnt * inv
				c0 = -k * sdy / cnt
			}
			kf, cxf, c0f := F(k), F(cx), F(c0)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				gs, xs, dx := g[off:off+hw], x[off:off+hw], b.dx.Data[off:off+hw]
				xs = xs[:len(gs)]
				dx = dx[:len(gs)]
				if !b.Training {
					for j, v := range gs {
						dx[j] = kf * v
					}
					continue
				}
				tensor.Affine2(gs, xs, dx, kf, cxf, mf, c0f)
			}
		}
	})
	return b.dx
}

// Params returns weight, bias, running_mean, running_var, num_batches_tracked.
func (b *BatchNorm2d[F]) Params() []Named[F] {
	return []Named[F]{{"weight", b.Weight}, {"bias", b.Bias}, {"running_mean", b.RunningMean}, {"running_var", b.RunningVar}, {"num_batches_tracked", b.NumBatchesTracked}}
}

// sumSqShifted returns Σ (v − s) and Σ (v − s)² in F, each accumulated in eight
// interleaved partial sums (tensor.ShiftedSums8, one SIMD register for float32; short runs:
// one feature-map plane), which the callers add up in float64.
func sumSqShifted[F tensor.Float](v []F, s F) (F, F) {
	var a, q [8]F
	i := tensor.ShiftedSums8(v, s, &a, &q)
	for ; i < len(v); i++ {
		d := v[i] - s
		a[0] += d
		q[0] += d * d
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])),
		((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]))
}

// sumDot returns Σ g and Σ g·(x − m) in F, as sumSqShifted.
func sumDot[F tensor.Float](g, x []F, m F) (F, F) {
	var a, q [8]F
	x = x[:len(g)]
	i := tensor.DotShifted8(g, x, m, &a, &q)
	for ; i < len(g); i++ {
		a[0] += g[i]
		q[0] += g[i] * (x[i] - m)
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])),
		((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]))
}

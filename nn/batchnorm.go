package nn

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/tensor"
)

// BatchNorm2d normalises each channel of NCHW data. In training it uses the batch's
// statistics (biased variance) and updates the running statistics with momentum 0.1
// (unbiased variance), as PyTorch does; in evaluation it uses the running statistics.
type BatchNorm2d[F tensor.Float] struct {
	Weight, Bias            *Param[F]
	RunningMean, RunningVar *Param[F]
	NumBatchesTracked       *Param[F]
	Eps, Momentum           float64
	Training                bool
	x, y, dx                *tensor.T[F]
	xhat                    []F
	invStd                  []float64
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

// Forward normalises x [N, C, H, W].
func (b *BatchNorm2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	c := b.Weight.Value.Numel()
	if len(x.Shape) != 4 || x.Shape[1] != c {
		panic(fmt.Sprintf("nn.BatchNorm2d: input shape %v, want [N %d H W]", x.Shape, c))
	}
	n, hw := x.Shape[0], x.Shape[2]*x.Shape[3]
	b.y = tensor.Ensure(b.y, x.Shape...)
	if cap(b.xhat) < x.Numel() {
		b.xhat = make([]F, x.Numel())
	}
	b.xhat = b.xhat[:x.Numel()]
	if len(b.invStd) != c {
		b.invStd = make([]float64, c)
	}
	tensor.Parallel(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var mean, variance float64
			if b.Training {
				var s, ss float64
				for i := 0; i < n; i++ {
					s += float64(sum32(x.Data[(i*c+ch)*hw : (i*c+ch+1)*hw]))
				}
				cnt := float64(n * hw)
				mean = s / cnt
				for i := 0; i < n; i++ {
					ss += float64(sumSqDev32(x.Data[(i*c+ch)*hw:(i*c+ch+1)*hw], F(mean)))
				}
				variance = ss / cnt
				unbiased := variance
				if cnt > 1 {
					unbiased = ss / (cnt - 1)
				}
				rm, rv := b.RunningMean.Value.Data, b.RunningVar.Value.Data
				rm[ch] = F((1-b.Momentum)*float64(rm[ch]) + b.Momentum*mean)
				rv[ch] = F((1-b.Momentum)*float64(rv[ch]) + b.Momentum*unbiased)
			} else {
				mean, variance = float64(b.RunningMean.Value.Data[ch]), float64(b.RunningVar.Value.Data[ch])
			}
			inv := 1 / math.Sqrt(variance+b.Eps)
			b.invStd[ch] = inv
			g, be, m, iv := b.Weight.Value.Data[ch], b.Bias.Value.Data[ch], F(mean), F(inv)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				xh, y := b.xhat[off:off+hw], b.y.Data[off:off+hw]
				for j, v := range x.Data[off : off+hw] {
					h := (v - m) * iv
					xh[j] = h
					y[j] = h*g + be
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
// dx = γ/σ·dy.
func (b *BatchNorm2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.BatchNorm2d.Backward", dy, b.y)
	c := b.Weight.Value.Numel()
	n, hw := dy.Shape[0], dy.Shape[2]*dy.Shape[3]
	b.dx = tensor.Ensure(b.dx, dy.Shape...)
	tensor.Parallel(c, 1, func(lo, hi int) {
		for ch := lo; ch < hi; ch++ {
			var sdy, sdyx float64
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				g := dy.Data[off : off+hw]
				sdy += float64(sum32(g))
				sdyx += float64(dot32(g, b.xhat[off:off+hw]))
			}
			if !b.Weight.Frozen {
				b.Weight.Grad.Data[ch] += F(sdyx)
			}
			if !b.Bias.Frozen {
				b.Bias.Grad.Data[ch] += F(sdy)
			}
			k := float64(b.Weight.Value.Data[ch]) * b.invStd[ch]
			cnt := float64(n * hw)
			kf, mdy, mdyx := F(k), F(sdy/cnt), F(sdyx/cnt)
			for i := 0; i < n; i++ {
				off := (i*c + ch) * hw
				xh, dx := b.xhat[off:off+hw], b.dx.Data[off:off+hw]
				for j, g := range dy.Data[off : off+hw] {
					if b.Training {
						dx[j] = kf * (g - mdy - xh[j]*mdyx)
					} else {
						dx[j] = kf * g
					}
				}
			}
		}
	})
	return b.dx
}

// Params returns weight, bias, running_mean, running_var, num_batches_tracked.
func (b *BatchNorm2d[F]) Params() []Named[F] {
	return []Named[F]{{"weight", b.Weight}, {"bias", b.Bias}, {"running_mean", b.RunningMean}, {"running_var", b.RunningVar}, {"num_batches_tracked", b.NumBatchesTracked}}
}

// sum32 is Σ v in F, accumulated in eight interleaved partial sums (short runs: one
// feature-map plane), which the callers add up in float64.
func sum32[F tensor.Float](v []F) F {
	var a [8]F
	i := 0
	for ; i+8 <= len(v); i += 8 {
		for k := range a {
			a[k] += v[i+k]
		}
	}
	for ; i < len(v); i++ {
		a[0] += v[i]
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// sumSqDev32 is Σ (v − m)² in F, as sum32.
func sumSqDev32[F tensor.Float](v []F, m F) F {
	var a [8]F
	i := 0
	for ; i+8 <= len(v); i += 8 {
		for k := range a {
			d := v[i+k] - m
			a[k] += d * d
		}
	}
	for ; i < len(v); i++ {
		d := v[i] - m
		a[0] += d * d
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// dot32 is Σ x·y in F, as sum32.
func dot32[F tensor.Float](x, y []F) F {
	var a [8]F
	y = y[:len(x)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for k := range a {
			a[k] += x[i+k] * y[i+k]
		}
	}
	for ; i < len(x); i++ {
		a[0] += x[i] * y[i]
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

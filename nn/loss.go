package nn

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/tensor"
)

// CrossEntropy is PyTorch's F.cross_entropy(logits, labels, label_smoothing=s) with mean
// reduction for logits [N, K]:
//
//	loss = 1/N Σₙ [ (1−s)·(−log pₙ[yₙ]) + s·(1/K)·Σₖ −log pₙ[k] ],  p = softmax(logits)
//
// It returns the loss and its gradient with respect to the logits,
// dlogits = (p − q)/N with q = (1−s)·onehot(y) + s/K. A label outside [0, K) panics.
func CrossEntropy[F tensor.Float](logits *tensor.T[F], labels []int, smoothing float64) (float64, *tensor.T[F]) {
	return CrossEntropyInto(nil, logits, labels, smoothing)
}

// CrossEntropyInto is CrossEntropy writing the gradient into dst when it has the shape of
// logits (a new tensor is allocated otherwise), so a training loop can reuse it.
func CrossEntropyInto[F tensor.Float](dst, logits *tensor.T[F], labels []int, smoothing float64) (float64, *tensor.T[F]) {
	if len(logits.Shape) != 2 {
		panic(fmt.Sprintf("nn.CrossEntropy: logits shape %v, want [N, K]", logits.Shape))
	}
	n, k := logits.Shape[0], logits.Shape[1]
	if len(labels) != n {
		panic(fmt.Sprintf("nn.CrossEntropy: %d labels for logits %v", len(labels), logits.Shape))
	}
	if smoothing < 0 || smoothing > 1 {
		panic(fmt.Sprintf("nn.CrossEntropy: label smoothing %g outside [0, 1]", smoothing))
	}
	for i, y := range labels {
		if y < 0 || y >= k {
			panic(fmt.Sprintf("nn.CrossEntropy: label %d of sample %d outside [0, %d)", y, i, k))
		}
	}
	dst = tensor.Ensure(dst, n, k)
	var total float64
	inv := 1 / float64(n)
	for i, y := range labels {
		row := logits.Data[i*k : (i+1)*k]
		g := dst.Data[i*k : (i+1)*k]
		m := float64(row[0])
		for _, v := range row[1:] {
			m = max(m, float64(v))
		}
		var sum, sumLogits float64
		for _, v := range row {
			sum += math.Exp(float64(v) - m)
			sumLogits += float64(v)
		}
		lse := m + math.Log(sum)
		nll := lse - float64(row[y])
		smooth := lse - sumLogits/float64(k) // mean over classes of −log p
		total += (1-smoothing)*nll + smoothing*smooth
		for j, v := range row {
			q := smoothing / float64(k)
			if j == y {
				q += 1 - smoothing
			}
			g[j] = F((math.Exp(float64(v)-lse) - q) * inv)
		}
	}
	return total * inv, dst
}

// MSE is the mean squared error mean((x − target)²) over all elements, with its gradient
// 2(x − target)/numel.
func MSE[F tensor.Float](x, target *tensor.T[F]) (float64, *tensor.T[F]) {
	return MSEInto(nil, x, target)
}

// MSEInto is MSE writing the gradient into dst when it has the shape of x.
func MSEInto[F tensor.Float](dst, x, target *tensor.T[F]) (float64, *tensor.T[F]) {
	mse := MSEValue(x, target)
	return mse, MSEGradInto(dst, x, target, 1)
}

// mseGrain is the number of elements per parallel chunk of the MSE kernels (MSEValue sums
// fixed chunks, so its result does not depend on the number of workers).
const mseGrain = 1 << 14

// MSEValue is mean((x − target)²), accumulated in float64 over chunks spread across
// tensor.Workers.
func MSEValue[F tensor.Float](x, target *tensor.T[F]) float64 {
	tensor.MustSameShape("nn.MSE", x, target)
	n := len(x.Data)
	if n == 0 {
		return 0
	}
	chunks := (n + mseGrain - 1) / mseGrain
	partial := make([]float64, chunks)
	tensor.Parallel(chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			a, b := c*mseGrain, min((c+1)*mseGrain, n)
			partial[c] = float64(sumSqDiff(x.Data[a:b], target.Data[a:b]))
		}
	})
	var s float64
	for _, v := range partial {
		s += v
	}
	return s / float64(n)
}

// MSEGradInto writes scale·∂MSE/∂x = scale·2(x − target)/numel into dst (reused when it
// has the shape of x), so a weighted MSE term costs one pass.
func MSEGradInto[F tensor.Float](dst, x, target *tensor.T[F], scale float64) *tensor.T[F] {
	tensor.MustSameShape("nn.MSE", x, target)
	dst = tensor.Ensure(dst, x.Shape...)
	n := len(x.Data)
	if n == 0 {
		return dst
	}
	k := F(2 * scale / float64(n))
	tensor.Parallel(n, mseGrain, func(lo, hi int) {
		xs, ts, ds := x.Data[lo:hi], target.Data[lo:hi], dst.Data[lo:hi]
		ts, ds = ts[:len(xs)], ds[:len(xs)]
		for i, v := range xs {
			ds[i] = k * (v - ts[i])
		}
	})
	return dst
}

// sumSqDiff is Σ (x − y)² in F over eight interleaved partial sums (one chunk).
func sumSqDiff[F tensor.Float](x, y []F) F {
	var a [8]F
	y = y[:len(x)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for k := range a {
			d := x[i+k] - y[i+k]
			a[k] += d * d
		}
	}
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		a[0] += d * d
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

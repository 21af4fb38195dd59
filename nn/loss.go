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
	return chunkedMean(n, func(a, b int) float64 { return float64(sumSqDiff(x.Data[a:b], target.Data[a:b])) })
}

// chunkedMean is Σ_c sum(a_c, b_c) / n over the fixed chunks [a_c, b_c) of mseGrain
// elements of 0 … n−1, computed across tensor.Workers and added in chunk order, so the
// result does not depend on the number of workers.
func chunkedMean(n int, sum func(a, b int) float64) float64 {
	chunks := (n + mseGrain - 1) / mseGrain
	partial := make([]float64, chunks)
	tensor.Parallel(chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			partial[c] = sum(c*mseGrain, min((c+1)*mseGrain, n))
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
		tensor.ScaledDiff(k, x.Data[lo:hi], target.Data[lo:hi], dst.Data[lo:hi])
	})
	return dst
}

// sumSqDiff is Σ (x − y)² in F over eight interleaved partial sums (one chunk).
func sumSqDiff[F tensor.Float](x, y []F) F {
	var a [8]F
	y = y[:len(x)]
	i := tensor.SumSqDiff8(x, y, &a)
	for ; i < len(x); i++ {
		d := x[i] - y[i]
		a[0] += d * d
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// checkRows panics unless x holds len(idx) samples of size values each and every row
// idx[i] lies inside src; it returns size.
func checkRows[F tensor.Float](op string, x *tensor.T[F], src []F, idx []int) int {
	if len(idx) == 0 || len(x.Data)%len(idx) != 0 {
		panic(fmt.Sprintf("nn.%s: %d values of x do not split into %d rows", op, len(x.Data), len(idx)))
	}
	size := len(x.Data) / len(idx)
	for _, r := range idx {
		if r < 0 || (r+1)*size > len(src) {
			panic(fmt.Sprintf("nn.%s: row %d of size %d outside the %d target values", op, r, size, len(src)))
		}
	}
	return size
}

// sumSqDiffRows is sumSqDiff(x, y) for y = the values lo … lo+len(x)−1 of the row-gathered
// target (row idx[r] of src, rows of size values, for sample r): element j of the chunk
// goes to accumulator j mod 8 below the last full block of eight and to accumulator 0
// after it, in order, exactly as in sumSqDiff. d (as long as x) gets the differences
// x − y.
func sumSqDiffRows[F tensor.Float](x, d []F, lo int, src []F, size int, idx []int) F {
	var a [8]F
	n := len(x)
	full := n &^ 7
	one := func(j int, xv, tv F) {
		v := xv - tv
		d[j] = v
		if j < full {
			a[j&7] += v * v
		} else {
			a[0] += v * v
		}
	}
	for j := 0; j < n; {
		g := lo + j
		r := g / size
		off := g - r*size
		t := src[idx[r]*size+off : (idx[r]+1)*size]
		m := min(len(t), n-j)
		t, xs := t[:m], x[j:j+m]
		i := 0
		for ; i < m && (j+i)&7 != 0; i++ { // up to an 8-aligned position of the chunk
			one(j+i, xs[i], t[i])
		}
		if end := min(m, full-j); end > i { // i and j+i are 8-aligned here
			i += tensor.SumSqDiffStore8(xs[i:end], t[i:end], d[j+i:j+end], &a)
		}
		for ; i < m; i++ {
			one(j+i, xs[i], t[i])
		}
		j += m
	}
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// MSEDiffRowsInto is MSEValue(x, target) for the target whose sample i is row idx[i] of
// src (rows of numel(x)/len(idx) values, such as a cache of per-sample feature maps),
// read in place instead of gathered into a batch first, and also writes the differences
// d = x − target into dst (reused when it has the shape of x), reading each target row
// once; MSEGradFromDiff then turns d into the gradient. The chunks and their summation
// order are those of MSEValue, so the value has the same bits.
func MSEDiffRowsInto[F tensor.Float](dst, x *tensor.T[F], src []F, idx []int) (float64, *tensor.T[F]) {
	dst = tensor.Ensure(dst, x.Shape...)
	n := len(x.Data)
	if n == 0 {
		return 0, dst
	}
	size := checkRows("MSEDiffRowsInto", x, src, idx)
	return chunkedMean(n, func(a, b int) float64 {
		return float64(sumSqDiffRows(x.Data[a:b], dst.Data[a:b], a, src, size, idx))
	}), dst
}

// MSEGradFromDiff scales the differences d = x − target of MSEDiffRowsInto in place into
// scale·∂MSE/∂x = (2·scale/numel)·d and returns d: the bits of MSEGradInto.
func MSEGradFromDiff[F tensor.Float](d *tensor.T[F], scale float64) *tensor.T[F] {
	n := len(d.Data)
	if n == 0 {
		return d
	}
	k := F(2 * scale / float64(n))
	tensor.Parallel(n, mseGrain, func(lo, hi int) { tensor.Scale(k, d.Data[lo:hi]) })
	return d
}

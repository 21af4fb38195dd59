package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Row is one measured figure.
type Row struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Note  string  `json:"note,omitempty"`
	// Memory of the row (Run fills them): the process's peak resident set while the row
	// ran, and the heap allocations per measured call (after the warm-up call).
	PeakRSSMiB        float64 `json:"peak_rss_mib,omitempty"`
	AllocsPerCall     float64 `json:"allocs_per_call,omitempty"`
	AllocBytesPerCall float64 `json:"alloc_bytes_per_call,omitempty"`
}

// Spec names a benchmark row and how to measure it.
type Spec struct {
	Name string
	Run  func(budget time.Duration) (Row, error)
}

// Specs are the rows of issue 3, in the order the README table shows them.
func Specs() []Spec {
	return []Spec{
		{"train/simplecnn-v2-mnist/b256", func(d time.Duration) (Row, error) { return TrainStep("simplecnn-v2", "mnist", 256, d) }},
		{"epoch/simplecnn-v2-mnist/b256", func(d time.Duration) (Row, error) { return TrainEpoch("simplecnn-v2", "mnist", 256) }},
		{"train/simplecnn-v2-mnist.onnx/b256", func(d time.Duration) (Row, error) { return TrainStepImported("simplecnn-v2", "mnist", 256, d) }},
		{"train/resnet18-cifar10/b64", func(d time.Duration) (Row, error) { return TrainStep("resnet18", "cifar10", 64, d) }},
		{"train/resnet18-cifar10.onnx/b64", func(d time.Duration) (Row, error) { return TrainStepImported("resnet18", "cifar10", 64, d) }},
		{"train/simplevit-cifar100/b64", func(d time.Duration) (Row, error) { return TrainStep("simplevit", "cifar100", 64, d) }},
		{"conv/64x64-3x3-32x32/b64/fwd+bwd", func(d time.Duration) (Row, error) { return Conv(64, 64, 3, 32, 64, d) }},
		{"reverse/resnet18-mnist/b64", func(d time.Duration) (Row, error) { return ReverseChain("resnet18", "mnist", 64, d) }},
		{"reverse/resnet18-mnist.onnx/b64", func(d time.Duration) (Row, error) { return ReverseChainImported("resnet18", "mnist", 64, d) }},
		{"reverse/simplecnn-v2-mnist.onnx/b256", func(d time.Duration) (Row, error) {
			return ReverseChainImported("simplecnn-v2", "mnist", 256, d)
		}},
		{"reverse/simplevit/b64", func(d time.Duration) (Row, error) { return ReverseChain("simplevit", "fashion-mnist", 64, d) }},
		{"sgemm/256", func(d time.Duration) (Row, error) { return Sgemm(256, d) }},
		{"sgemm/512", func(d time.Duration) (Row, error) { return Sgemm(512, d) }},
		{"sgemm/1024", func(d time.Duration) (Row, error) { return Sgemm(1024, d) }},
	}
}

// measured is what measure found: the median seconds per call and the heap
// allocations (count and bytes) per timed call.
type measured struct {
	sec, allocs, bytes float64
}

// measure calls step until budget is spent (at least 3 times after one warm-up call) and
// returns the median seconds per call with the allocations per timed call.
func measure(budget time.Duration, step func()) measured {
	step()
	var ts []float64
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	for len(ts) < 3 || (time.Since(start) < budget && len(ts) < 1000) {
		t0 := time.Now()
		step()
		ts = append(ts, time.Since(t0).Seconds())
	}
	runtime.ReadMemStats(&m1)
	n := float64(len(ts))
	return measured{sec: median(ts), allocs: float64(m1.Mallocs-m0.Mallocs) / n, bytes: float64(m1.TotalAlloc-m0.TotalAlloc) / n}
}

// median sorts ts and returns its middle value (the upper one of an even count).
func median(ts []float64) float64 {
	sort.Float64s(ts)
	return ts[len(ts)/2]
}

// row is a Row of a measured call.
func (m measured) row(name string, value float64, unit, note string) Row {
	return Row{Name: name, Value: value, Unit: unit, Note: note, AllocsPerCall: m.allocs, AllocBytesPerCall: m.bytes}
}

// TrainStep measures images/s of a full training step (forward, cross-entropy,
// backward, AdamW) of a zoo model on random inputs of the dataset's shape.
func TrainStep(model, dataset string, batch int, budget time.Duration) (Row, error) {
	m, err := models.New[float32](model, dataset, 0)
	if err != nil {
		return Row{}, err
	}
	step, err := trainStep(m, dataset, batch)
	if err != nil {
		return Row{}, err
	}
	ms := measure(budget, step)
	return ms.row(fmt.Sprintf("train/%s-%s/b%d", model, dataset, batch), float64(batch)/ms.sec, "images/s", ""), nil
}

// trainStep returns one training step of m (training mode, AdamW) on a fixed batch of
// seeded random inputs of the dataset's shape, with random labels drawn on the first call.
func trainStep(m models.Model[float32], dataset string, batch int) (func(), error) {
	shape, err := data.InputShape(dataset)
	if err != nil {
		return nil, err
	}
	nn.SetTraining[float32](m, true)
	x := tensor.New[float32](append([]int{batch}, shape...)...)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	k := 0
	labels := make([]int, batch)
	opt := nn.NewAdamW(nn.Group[float32]{Params: m.Params(), LR: 1e-4, WeightDecay: 0.01})
	return func() {
		logits := m.Forward(x)
		if k == 0 {
			k = logits.Dim(-1)
			for i := range labels {
				labels[i] = rng.IntN(k)
			}
		}
		_, d := nn.CrossEntropy(logits, labels, 0)
		opt.ZeroGrad()
		m.Backward(d)
		opt.Step()
	}, nil
}

// TrainEpoch measures images/s of one whole training epoch on the real training set:
// the seeded shuffling loader with the dataset's training transform (prefetching the next
// batch while the current one trains), forward, cross-entropy, backward and AdamW, as
// frpt train runs it (without the test evaluation). The row is skipped when the dataset
// is not on the machine.
func TrainEpoch(model, dataset string, batch int) (Row, error) {
	ds, m, err := openTrainAndModel(model, dataset)
	if err != nil {
		return Row{}, err
	}
	nn.SetTraining[float32](m, true)
	c, h, w := ds.Shape()
	opt := nn.NewAdamW(nn.Group[float32]{Params: m.Params(), LR: 1e-3, WeightDecay: 0.01})
	loader := data.NewLoader(ds, data.TrainTransform(dataset), batch, true, 0, false)
	defer loader.Close()
	var d *tensor.T[float32]
	run := func(epoch int) {
		for b := range loader.Epoch(epoch) {
			logits := m.Forward(tensor.FromData(b.X, len(b.Labels), c, h, w))
			_, d = nn.CrossEntropyInto(d, logits, b.Labels, 0)
			opt.ZeroGrad()
			m.Backward(d)
			opt.Step()
			loader.Release(b)
		}
	}
	run(0) // warm-up epoch (buffers, pools)
	t0 := time.Now()
	run(1)
	sec := time.Since(t0).Seconds()
	return Row{Name: fmt.Sprintf("epoch/%s-%s/b%d", model, dataset, batch), Value: float64(ds.Len()) / sec, Unit: "images/s",
		Note: fmt.Sprintf("%.2f s/epoch", sec)}, nil
}

// Conv measures forward + backward (input, weight and bias gradients) of a cin→cout
// k×k convolution with padding k/2 on size×size images.
func Conv(cin, cout, k, size, batch int, budget time.Duration) (Row, error) {
	rng := nn.NewRand(1)
	c := nn.NewConv2d[float32](cin, cout, k, 1, k/2, true, rng)
	x := tensor.New[float32](batch, cin, size, size)
	nn.Normal(x, 1, rng)
	var dy *tensor.T[float32]
	ms := measure(budget, func() {
		y := c.Forward(x)
		if dy == nil {
			dy = tensor.New[float32](y.Shape...)
			nn.Normal(dy, 1, rng)
		}
		c.Backward(dy)
	})
	flops := 3 * 2 * float64(batch*cout*size*size*cin*k*k)
	return ms.row(fmt.Sprintf("conv/%dx%d-%dx%d-%dx%d/b%d/fwd+bwd", cin, cout, k, k, size, size, batch), float64(batch)/ms.sec, "images/s",
		fmt.Sprintf("%.1f GFLOP/s", flops/ms.sec/1e9)), nil
}

// Sgemm measures GFLOP/s of an n×n×n float32 matrix product.
func Sgemm(n int, budget time.Duration) (Row, error) {
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range a {
		a[i], b[i] = rng.Float32(), rng.Float32()
	}
	ms := measure(budget, func() { tensor.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) })
	return ms.row(fmt.Sprintf("sgemm/%d", n), 2*float64(n)*float64(n)*float64(n)/ms.sec/1e9, "GFLOP/s", ""), nil
}

// openTrainAndModel opens a dataset's training split and the seed-0 zoo model for it.
func openTrainAndModel(model, dataset string) (data.Dataset, models.Model[float32], error) {
	ds, err := openTrain(dataset)
	if err != nil {
		return nil, nil, err
	}
	m, err := models.New[float32](model, dataset, 0)
	if err != nil {
		return nil, nil, err
	}
	return ds, m, nil
}

// openTrain opens a dataset's training split from its default folder.
func openTrain(dataset string) (data.Dataset, error) { return data.Open(dataset, "train", "") }

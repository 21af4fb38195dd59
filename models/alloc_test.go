package models

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Once warm, a training step (forward, cross-entropy, backward, AdamW) reuses its buffers:
// what it still allocates is only the small bookkeeping of the goroutines that split
// kernels over the cores (closures, wait groups), never a feature-map-sized buffer (a
// ResNet-18 batch of 8 has megabytes of activations; the limits are kilobytes).
func TestTrainStepAllocations(t *testing.T) {
	cases := []struct {
		model, dataset string
		batch          int
		maxAllocs      float64
		maxBytes       uint64
	}{
		{"simplecnn-v2", "mnist", 64, 200, 64 << 10},
		{"resnet18", "cifar10", 8, 2000, 256 << 10},
		{"simplevit", "cifar100", 8, 2000, 256 << 10},
	}
	for _, c := range cases {
		m, err := New[float32](c.model, c.dataset, 0)
		if err != nil {
			t.Fatal(err)
		}
		nn.SetTraining[float32](m, true)
		shape := map[string][]int{"mnist": {1, 28, 28}, "cifar10": {3, 32, 32}, "cifar100": {3, 32, 32}}[c.dataset]
		x := tensor.New[float32](append([]int{c.batch}, shape...)...)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		labels := make([]int, c.batch)
		opt := nn.NewAdamW(nn.Group[float32]{Params: m.Params(), LR: 1e-4, WeightDecay: 0.01})
		var d *tensor.T[float32]
		step := func() {
			logits := m.Forward(x)
			_, d = nn.CrossEntropyInto(d, logits, labels, 0)
			opt.ZeroGrad()
			m.Backward(d)
			opt.Step()
		}
		step()
		step()
		if a := testing.AllocsPerRun(3, step); a > c.maxAllocs {
			t.Errorf("%s: %v allocations per warm training step, want ≤ %v", c.model, a, c.maxAllocs)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		step()
		runtime.ReadMemStats(&after)
		if b := after.TotalAlloc - before.TotalAlloc; b > c.maxBytes {
			t.Errorf("%s: %d bytes allocated by a warm training step, want ≤ %d", c.model, b, c.maxBytes)
		} else {
			t.Logf("%s: %d bytes allocated by a warm training step", c.model, b)
		}
	}
}

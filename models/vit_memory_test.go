package models

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapAlloc
}

// The backward pass of a SimpleViT keeps only two token-sized gradients per block (the
// residual sums du and dx); the layers' other gradient buffers (MLP, attention scores,
// QKV) are released after use and shared by all blocks. Before, every block kept its own,
// as much memory as the forward activations: post-training a depth-9 ViT at batch 256
// held 1.2 GB of gradient buffers next to 1.3 GB of activations. The test bounds what a
// backward pass adds to the live heap by half of what the forward pass keeps (the shared
// buffers and the per-block pair are about a quarter here).
func TestViTBackwardKeepsLittle(t *testing.T) {
	for _, preLN := range []bool{false, true} {
		cfg := ViTConfig{Dataset: "cifar10", InCh: 3, Size: 32, Patch: 4, D: 48, Depth: 6, Heads: 4, Hidden: 96, Classes: 10, PreLN: preLN}
		m := NewSimpleViT[float32](cfg, 1)
		nn.SetTraining[float32](m, true)
		const batch = 16
		x := tensor.New[float32](batch, cfg.InCh, cfg.Size, cfg.Size)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range x.Data {
			x.Data[i] = float32(rng.NormFloat64())
		}
		labels := make([]int, batch)
		h0 := liveHeap()
		logits := m.Forward(x)
		h1 := liveHeap()
		_, d := nn.CrossEntropy(logits, labels, 0)
		h1d := liveHeap() // the logits' gradient is the caller's
		m.Backward(d)
		h2 := liveHeap()
		fwd, bwd := int64(h1)-int64(h0), int64(h2)-int64(h1d)
		t.Logf("preLN %v: forward keeps %d bytes, backward %d", preLN, fwd, bwd)
		if fwd <= 0 || 2*bwd > fwd {
			t.Errorf("preLN %v: the backward pass keeps %d bytes, want ≤ half of the forward pass's %d", preLN, bwd, fwd)
		}
		runtime.KeepAlive(m)
		runtime.KeepAlive(d)
	}
}

package reverse

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

func randBatch(rng *rand.Rand, shape ...int) *tensor.T[float32] {
	x := tensor.New[float32](shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		num += float64(a[i]-b[i]) * float64(a[i]-b[i])
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / math.Max(den, 1e-30))
}

// TestChainSimpleCNN runs the MNIST SimpleCNN v2 chain and checks every step by running
// the forward layers on the reconstructed maps: the head maps ẑ2 to ô exactly (closest
// point solves), relu→pool→conv2 maps ẑ1 to ẑ2 up to the FFT systems that took the
// Tikhonov fallback, and the output target puts the label on top.
func TestChainSimpleCNN(t *testing.T) {
	cfg, err := models.SimpleCNNFor("mnist", 2)
	if err != nil {
		t.Fatal(err)
	}
	m := models.NewSimpleCNN[float32](cfg, 1)
	ch, err := NewChain(m, DefaultChainOptions())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	n := 16
	x := randBatch(rng, n, 1, 28, 28)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	rec, err := ch.Run(x, labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, tap := range []string{"out", "z2", "z1"} {
		if rec.Targets[tap] == nil || rec.Diags[tap] == nil || len(rec.Diags[tap].Gap) != n {
			t.Fatalf("tap %s missing", tap)
		}
	}
	o := rec.Targets["out"]
	for i := 0; i < n; i++ {
		row := o.Data[i*10 : (i+1)*10]
		for k, v := range row {
			if k != labels[i] && v > row[labels[i]]+1e-4 {
				t.Fatalf("sample %d: out target does not put label %d on top: %v", i, labels[i], row)
			}
		}
	}
	// Independent route: solve each step directly and compare with what the chain's taps
	// give after relu → pool. The ReLU rule maps a target onto relu's range, so
	// pool(relu(ẑ)) must equal max(p̂, 0) where p̂ is the reverse of the next layer.
	relu, pool := nn.NewReLU[float32](), nn.NewMaxPool2d[float32](2, 2, 0)
	m.Forward(x)
	fc1 := linearOf(m.FC1)
	p2, d2, err := Linear(fc1.w, fc1.b, fc1.m, fc1.n, toF64(m.FlatOut.Data), toF64(o.Data), DefaultOptions())
	if err != nil || d2.RelResid > 1e-9 {
		t.Fatalf("fc1 reverse: %v %+v", err, d2)
	}
	got := pool.Forward(relu.Forward(rec.Targets["z2"]))
	for i, v := range p2 {
		if math.Abs(float64(got.Data[i])-max(v, 0)) > 1e-5 {
			t.Fatalf("pool(relu(ẑ2))[%d] = %g, want max(p̂2, 0) = %g", i, got.Data[i], max(v, 0))
		}
	}
	conv2 := ch.convs[1]
	p1, d1, err := conv2.Reverse(toF64(m.P[0].Data), n, 12, 12, toF64(rec.Targets["z2"].Data), DefaultOptions())
	if err != nil || (d1.Fallbacks == 0 && d1.RelResid > 1e-9) {
		t.Fatalf("conv2 reverse: %v %+v", err, d1)
	}
	got = pool.Forward(relu.Forward(rec.Targets["z1"]))
	for i, v := range p1 {
		if math.Abs(float64(got.Data[i])-max(v, 0)) > 1e-4 {
			t.Fatalf("pool(relu(ẑ1))[%d] = %g, want max(p̂1, 0) = %g", i, got.Data[i], max(v, 0))
		}
	}
	if cd := rec.Diags["z1"]; cd.Method != "conv-fft-square+maxpool+act" || (cd.Fallbacks == 0 && cd.RelResid > 1e-9) {
		t.Errorf("z1 diagnostics: %+v", cd)
	}
	t.Logf("mean gaps: out %.3g z2 %.3g z1 %.3g", mean(rec.Diags["out"].Gap), mean(rec.Diags["z2"].Gap), mean(rec.Diags["z1"].Gap))
	// Running again on the same batch gives the same answer (caches are pure).
	rec2, _ := ch.Run(x, labels)
	if relDiff(rec2.Targets["z1"].Data, rec.Targets["z1"].Data) != 0 {
		t.Error("second run differs")
	}
}

// TestChainResNetAndViT checks the composite chains on small ResNet and (pre-LN) ViT
// models: every tap is produced, finite, and each composite solve lowers the block's
// output mismatch (its error history ends below where it starts).
func TestChainResNetAndViT(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	r := models.NewResNet[float32](models.ResNetConfig{Name: "resnet18", Dataset: "cifar10", Layers: [4]int{2, 2, 2, 2}, Width: 4, InCh: 3, CIFARStem: true, Classes: 10}, 3)
	v := models.NewSimpleViT[float32](models.ViTConfig{Dataset: "cifar10", InCh: 3, Size: 16, Patch: 4, D: 12, Depth: 2, Heads: 3, Hidden: 24, Classes: 10}, 4)
	vp := models.NewSimpleViT[float32](models.ViTConfig{Dataset: "cifar10", InCh: 3, Size: 16, Patch: 4, D: 12, Depth: 2, Heads: 3, Hidden: 24, Classes: 10, PreLN: true}, 5)
	vp8 := models.NewSimpleViT[float32](models.ViTConfig{Dataset: "cifar10", InCh: 3, Size: 8, Patch: 4, D: 12, Depth: 2, Heads: 3, Hidden: 24, Classes: 10, PreLN: true}, 6)
	for _, tc := range []struct {
		name   string
		m      models.Model[float32]
		size   int
		method string
		taps   []string
	}{{"resnet", r, 16, "vjp", []string{"out", "z5", "z4", "z3", "z2", "z1", "z0"}},
		{"vit", v, 16, "vjp", []string{"out", "z3", "z2", "z1", "z0"}},
		{"vit-preln", vp, 16, "vjp", []string{"out", "z3", "z2", "z1", "z0"}},
		{"vit-preln-gn", vp8, 8, "linearized", []string{"out", "z3", "z2", "z1", "z0"}}} {
		opt := DefaultChainOptions()
		opt.CompositeMethod = tc.method
		ch, err := NewChain(tc.m, opt)
		if err != nil {
			t.Fatal(err)
		}
		n := 4
		x := randBatch(rng, n, 3, tc.size, tc.size)
		labels := []int{1, 2, 3, 4}
		rec, err := ch.Run(x, labels)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, tap := range tc.taps {
			tg, d := rec.Targets[tap], rec.Diags[tap]
			if tg == nil || d == nil {
				t.Fatalf("%s: tap %s missing", tc.name, tap)
			}
			for _, val := range tg.Data {
				if math.IsNaN(float64(val)) || math.IsInf(float64(val), 0) {
					t.Fatalf("%s: tap %s not finite", tc.name, tap)
				}
			}
			if h := d.History; len(h) > 1 && !d.Guarded && h[len(h)-1] >= h[0] {
				t.Errorf("%s: composite at %s did not lower the mismatch: %v", tc.name, tap, h)
			}
		}
	}
}

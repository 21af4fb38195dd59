package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Parity of the Go zoo with its PyTorch twins (bench/torch_models.py).
//
// Committed fixtures in testdata (written by testdata/make_fixtures.py committed): for
// each TAG, TAG.safetensors holds PyTorch weights (metadata: arch, dataset and config
// overrides for small models) and TAG.io.safetensors the inputs with PyTorch's float32
// and float64 eval-mode logits. The weights go through the normal loading path
// (models.New, checkpoint.LoadInto, eval mode) in float32 and float64 and the logits are
// compared: float32 within 1e-4 relative, float64 within 1e-9 relative, which is tight
// enough to see a BatchNorm/LayerNorm eps off by a factor of ten. TestTorchParityMutations
// shows on the same fixtures that the comparison fails when one layer is changed.
//
// When /usr/bin/python3 can import torch (Debian's python3-torch), the same comparison
// runs on fixtures generated on the fly for the full-size zoo models, the reverse
// direction (Go-initialised weights saved with checkpoint.Save, loaded by PyTorch with
// load_state_dict(strict=True)) is checked, and the state_dict key sets and shapes of
// every zoo model × dataset are compared. Without torch those tests skip.

const (
	torchPython  = "/usr/bin/python3"
	parityRel32  = 1e-4 // float32 Go vs PyTorch, relative to the largest |logit| (at least 1)
	parityRel64  = 1e-9 // float64 Go vs PyTorch float64
	fixtureBatch = 4
)

// fixtureOverrides are the configuration changes of the small fixture models (JSON keys
// as in bench/torch_models.py config).
type fixtureOverrides struct {
	Width  int   `json:"width,omitempty"`
	Layers []int `json:"layers,omitempty"`
	D      int   `json:"d,omitempty"`
	Depth  int   `json:"depth,omitempty"`
	Heads  int   `json:"heads,omitempty"`
	Hidden int   `json:"hidden,omitempty"`
	Patch  int   `json:"patch,omitempty"`
}

func parseOverrides(s string) (fixtureOverrides, error) {
	var ov fixtureOverrides
	if s == "" {
		return ov, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	err := dec.Decode(&ov)
	return ov, err
}

// buildWith is models.New with the overrides applied (models.New itself when there are none).
func buildWith[F tensor.Float](name, dataset string, ov fixtureOverrides, seed uint64) (Model[F], error) {
	if ov.Width == 0 && ov.Layers == nil && ov.D == 0 && ov.Depth == 0 && ov.Heads == 0 && ov.Hidden == 0 && ov.Patch == 0 {
		return New[F](name, dataset, seed)
	}
	switch name {
	case "resnet18", "resnet34":
		cfg, err := ResNetFor(name, dataset)
		if err != nil {
			return nil, err
		}
		if ov.Width > 0 {
			cfg.Width = ov.Width
		}
		if ov.Layers != nil {
			if len(ov.Layers) != 4 {
				return nil, fmt.Errorf("layers %v: want 4 stages", ov.Layers)
			}
			copy(cfg.Layers[:], ov.Layers)
		}
		return NewResNet[F](cfg, seed), nil
	case "simplevit", "simplevit-preln":
		cfg, err := ViTFor(dataset, name == "simplevit-preln")
		if err != nil {
			return nil, err
		}
		for _, o := range []struct {
			dst *int
			v   int
		}{{&cfg.D, ov.D}, {&cfg.Depth, ov.Depth}, {&cfg.Heads, ov.Heads}, {&cfg.Hidden, ov.Hidden}, {&cfg.Patch, ov.Patch}} {
			if o.v > 0 {
				*o.dst = o.v
			}
		}
		return NewSimpleViT[F](cfg, seed), nil
	}
	return nil, fmt.Errorf("model %s takes no overrides (%+v)", name, ov)
}

// parityFixture is one weights file with its inputs and reference logits.
type parityFixture struct {
	Tag, Weights  string
	Arch, Dataset string
	Ov            fixtureOverrides
	Input         []float32
	InShape       []int
	Ref32         []float32 // PyTorch float32 logits (nil when not yet known)
	Ref64         []float64 // PyTorch float64 logits
	RefName       string    // file the references came from
	GoRef32       []float32 // Go's own logits (reverse direction)
	GoRef64       []float64
	NumOut, Batch int
}

func readTensorFile(t *testing.T, path string) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func lookupF32(t *testing.T, f *checkpoint.File, path, name string) ([]float32, []int) {
	t.Helper()
	ts, ok := f.Lookup(name)
	if !ok {
		t.Fatalf("%s: no tensor %q", path, name)
	}
	v, err := ts.Float32s()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v, ts.Shape
}

func lookupF64(t *testing.T, f *checkpoint.File, path, name string) []float64 {
	t.Helper()
	ts, ok := f.Lookup(name)
	if !ok {
		t.Fatalf("%s: no tensor %q", path, name)
	}
	v, err := ts.Float64s()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// readFixture reads dir/tag.safetensors' metadata and dir/tag.io.safetensors (input and,
// when refFile is non-empty, the float32/float64 reference logits from that file).
func readFixture(t *testing.T, dir, tag, refFile string) *parityFixture {
	t.Helper()
	fx := &parityFixture{Tag: tag, Weights: filepath.Join(dir, tag+".safetensors")}
	r, err := checkpoint.Open(fx.Weights)
	if err != nil {
		t.Fatal(err)
	}
	meta := r.Meta
	r.Close()
	fx.Arch, fx.Dataset = meta["arch"], meta["dataset"]
	if fx.Arch == "" || fx.Dataset == "" {
		t.Fatalf("%s: metadata %v lacks arch or dataset", fx.Weights, meta)
	}
	if fx.Ov, err = parseOverrides(meta["overrides"]); err != nil {
		t.Fatalf("%s: overrides %q: %v", fx.Weights, meta["overrides"], err)
	}
	ioPath := filepath.Join(dir, tag+".io.safetensors")
	io := readTensorFile(t, ioPath)
	fx.Input, fx.InShape = lookupF32(t, io, ioPath, "input")
	if refFile != "" {
		refPath := filepath.Join(dir, refFile)
		ref := io
		if refPath != ioPath {
			ref = readTensorFile(t, refPath)
		}
		var shape []int
		fx.Ref32, shape = lookupF32(t, ref, refPath, "logits32")
		fx.Ref64 = lookupF64(t, ref, refPath, "logits64")
		fx.RefName = refFile
		if len(shape) != 2 || shape[0] != fx.InShape[0] || len(fx.Ref64) != len(fx.Ref32) {
			t.Fatalf("%s: logits shape %v for input %v", refPath, shape, fx.InShape)
		}
		fx.Batch, fx.NumOut = shape[0], shape[1]
	}
	return fx
}

// goLogits builds the fixture's model in F, loads the weights with checkpoint.LoadInto
// (strict), switches to eval mode, applies mutate (if any) and returns the logits.
func goLogits[F tensor.Float](t *testing.T, fx *parityFixture, mutate func(Model[F])) []F {
	t.Helper()
	m, err := buildWith[F](fx.Arch, fx.Dataset, fx.Ov, 12345)
	if err != nil {
		t.Fatalf("%s: %v", fx.Tag, err)
	}
	if _, err := checkpoint.LoadInto(fx.Weights, m.Params()); err != nil {
		t.Fatalf("%s: %v", fx.Tag, err)
	}
	nn.SetTraining[F](m, false)
	if mutate != nil {
		mutate(m)
	}
	x := tensor.FromData(convertSlice[F](fx.Input), fx.InShape...)
	out := m.Forward(x)
	if len(out.Shape) != 2 || out.Shape[0] != fx.InShape[0] {
		t.Fatalf("%s: Go logits have shape %v for input %v", fx.Tag, out.Shape, fx.InShape)
	}
	if fx.NumOut > 0 && out.Shape[1] != fx.NumOut {
		t.Fatalf("%s: Go logits have %d classes, PyTorch %d", fx.Tag, out.Shape[1], fx.NumOut)
	}
	return slices.Clone(out.Data)
}

func convertSlice[F, G tensor.Float](s []G) []F {
	out := make([]F, len(s))
	for i, v := range s {
		out[i] = F(v)
	}
	return out
}

// logitDiff returns max |got − want| and the scale it is judged against (max |want|, at
// least 1).
func logitDiff[F, G tensor.Float](got []F, want []G) (maxAbs, scale float64) {
	scale = 1
	for i := range want {
		scale = max(scale, math.Abs(float64(want[i])))
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1), scale
		}
		maxAbs = max(maxAbs, d)
	}
	return maxAbs, scale
}

// parityResult is the outcome of one fixture's comparison.
type parityResult struct {
	d32, d32vs64, d64, scale float64
}

func (r parityResult) ok32() bool {
	return r.d32 <= parityRel32*r.scale && r.d32vs64 <= parityRel32*r.scale
}
func (r parityResult) ok64() bool { return r.d64 <= parityRel64*r.scale }

func (r parityResult) String() string {
	return fmt.Sprintf("max|Δlogit| float32 %.3g (vs torch float64 %.3g), float64 %.3g; max|logit| %.3g", r.d32, r.d32vs64, r.d64, r.scale)
}

// compareFixture runs the Go model in float32 and float64 on the fixture (mutated when
// mutate32/mutate64 are given) and compares with the PyTorch logits.
func compareFixture(t *testing.T, fx *parityFixture, mutate32 func(Model[float32]), mutate64 func(Model[float64])) parityResult {
	t.Helper()
	g32 := goLogits(t, fx, mutate32)
	g64 := goLogits(t, fx, mutate64)
	var r parityResult
	r.d32, r.scale = logitDiff(g32, fx.Ref32)
	r.d32vs64, _ = logitDiff(g32, fx.Ref64)
	r.d64, _ = logitDiff(g64, fx.Ref64)
	return r
}

// checkParity compares a fixture and reports failures.
func checkParity(t *testing.T, fx *parityFixture) {
	t.Helper()
	r := compareFixture(t, fx, nil, nil)
	t.Logf("%s (%s on %s, %d×%d logits): %v", fx.Tag, fx.Arch, fx.Dataset, fx.Batch, fx.NumOut, r)
	if !r.ok32() {
		t.Errorf("%s: float32 Go logits differ from PyTorch by %.3g (vs float64 %.3g), tolerance %.3g", fx.Tag, r.d32, r.d32vs64, parityRel32*r.scale)
	}
	if !r.ok64() {
		t.Errorf("%s: float64 Go logits differ from PyTorch by %.3g, tolerance %.3g", fx.Tag, r.d64, parityRel64*r.scale)
	}
}

func committedTags(t *testing.T) []string {
	t.Helper()
	ios, err := filepath.Glob(filepath.Join("testdata", "*.io.safetensors"))
	if err != nil || len(ios) == 0 {
		t.Fatalf("no committed parity fixtures in testdata (%v); regenerate with /usr/bin/python3 testdata/make_fixtures.py committed", err)
	}
	var tags []string
	for _, p := range ios {
		tags = append(tags, strings.TrimSuffix(filepath.Base(p), ".io.safetensors"))
	}
	return tags
}

// TestTorchParityCommitted compares the Go forward with PyTorch's on the committed
// fixtures (no PyTorch needed).
func TestTorchParityCommitted(t *testing.T) {
	tags := committedTags(t)
	for _, want := range []string{"simplecnn-v2-mnist", "resnet-tiny-cifar10", "resnet-tiny-mnist", "vit-tiny-cifar10", "vit-preln-tiny-mnist"} {
		if !slices.Contains(tags, want) {
			t.Errorf("committed fixture %s missing from testdata", want)
		}
	}
	for _, tag := range tags {
		t.Run(tag, func(t *testing.T) {
			checkParity(t, readFixture(t, "testdata", tag, tag+".io.safetensors"))
		})
	}
}

// TestTorchParityMutations changes one layer of a Go model at a time and requires the
// float64 comparison with the committed PyTorch logits to fail: the parity tests would
// see a wrong flatten order, BatchNorm or LayerNorm eps, attention head split, token
// order or stem.
func TestTorchParityMutations(t *testing.T) {
	type mutation struct {
		tag, what string
		apply     func(m any)
	}
	muts := []mutation{
		{"simplecnn-v2-mnist", "flatten in HWC instead of CHW order", func(m any) {
			switch mm := m.(type) {
			case *SimpleCNN[float32]:
				permuteFlattenHWC(mm.FC1.Weight.Value, mm.Cfg.Convs[len(mm.Cfg.Convs)-1].Out)
			case *SimpleCNN[float64]:
				permuteFlattenHWC(mm.FC1.Weight.Value, mm.Cfg.Convs[len(mm.Cfg.Convs)-1].Out)
			}
		}},
		{"resnet-tiny-cifar10", "BatchNorm eps 1e-6 in layer4.0.bn2", func(m any) {
			switch mm := m.(type) {
			case *ResNet[float32]:
				mm.Stages[3].Children[0].(*nn.BasicBlock[float32]).BN2.Eps = 1e-6
			case *ResNet[float64]:
				mm.Stages[3].Children[0].(*nn.BasicBlock[float64]).BN2.Eps = 1e-6
			}
		}},
		{"resnet-tiny-cifar10", "BatchNorm eps 1e-6 in the stem bn1", func(m any) {
			switch mm := m.(type) {
			case *ResNet[float32]:
				mm.BN1.Eps = 1e-6
			case *ResNet[float64]:
				mm.BN1.Eps = 1e-6
			}
		}},
		{"resnet-tiny-mnist", "standard stem without max-pool", func(m any) {
			switch mm := m.(type) {
			case *ResNet[float32]:
				mm.MaxPool = identity[float32]{}
			case *ResNet[float64]:
				mm.MaxPool = identity[float64]{}
			}
		}},
		{"vit-tiny-cifar10", "attention head split 2 instead of 4 heads in block1", func(m any) {
			switch mm := m.(type) {
			case *SimpleViT[float32]:
				mm.Blocks[0].Attn.Heads = 2
			case *SimpleViT[float64]:
				mm.Blocks[0].Attn.Heads = 2
			}
		}},
		{"vit-tiny-cifar10", "patch tokens in column-major order", func(m any) {
			switch mm := m.(type) {
			case *SimpleViT[float32]:
				transposeTokenGrid(mm.Embed.ClsPos.PosEmbed.Value, mm.Cfg.Size/mm.Cfg.Patch)
			case *SimpleViT[float64]:
				transposeTokenGrid(mm.Embed.ClsPos.PosEmbed.Value, mm.Cfg.Size/mm.Cfg.Patch)
			}
		}},
		{"vit-preln-tiny-mnist", "LayerNorm eps 1e-5 instead of 1e-6", func(m any) {
			switch mm := m.(type) {
			case *SimpleViT[float32]:
				for _, b := range mm.Blocks {
					b.LN1.Eps, b.LN2.Eps = 1e-5, 1e-5
				}
			case *SimpleViT[float64]:
				for _, b := range mm.Blocks {
					b.LN1.Eps, b.LN2.Eps = 1e-5, 1e-5
				}
			}
		}},
	}
	for _, mu := range muts {
		fx := readFixture(t, "testdata", mu.tag, mu.tag+".io.safetensors")
		r := compareFixture(t, fx, func(m Model[float32]) { mu.apply(m) }, func(m Model[float64]) { mu.apply(m) })
		t.Logf("%s with %s: %v (float32 check fails: %v)", mu.tag, mu.what, r, !r.ok32())
		if r.ok64() {
			t.Errorf("%s with %s: float64 logits still match PyTorch (max|Δ| %.3g): the parity test cannot see this change", mu.tag, mu.what, r.d64)
		}
	}
}

// permuteFlattenHWC rearranges the columns of a Linear weight [K, C·H·W] so that the layer
// computes on an HWC-flattened input what the original did on the CHW one's positions:
// the effect of a flatten in the wrong order.
func permuteFlattenHWC[F tensor.Float](w *tensor.T[F], c int) {
	k, in := w.Shape[0], w.Shape[1]
	hw := in / c
	old := slices.Clone(w.Data)
	for r := 0; r < k; r++ {
		for ch := 0; ch < c; ch++ {
			for p := 0; p < hw; p++ {
				w.Data[r*in+p*c+ch] = old[r*in+ch*hw+p]
			}
		}
	}
}

// transposeTokenGrid swaps pos_embed rows 1+i·g+j and 1+j·g+i: the same as patch tokens
// produced in column-major order (attention is otherwise permutation-equivariant).
func transposeTokenGrid[F tensor.Float](pos *tensor.T[F], g int) {
	d := pos.Shape[2]
	old := slices.Clone(pos.Data)
	for i := 0; i < g; i++ {
		for j := 0; j < g; j++ {
			copy(pos.Data[(1+i*g+j)*d:(2+i*g+j)*d], old[(1+j*g+i)*d:(2+j*g+i)*d])
		}
	}
}

var (
	torchOnce sync.Once
	torchErr  error
)

// requireTorch skips the test unless /usr/bin/python3 can import torch (and in -short
// mode, as the PyTorch tests take about a minute).
func requireTorch(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the comparison with fixtures generated by PyTorch")
	}
	torchOnce.Do(func() {
		out, err := exec.Command(torchPython, "-c", "import torch").CombinedOutput()
		if err != nil {
			torchErr = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
	})
	if torchErr != nil {
		t.Skipf("PyTorch not available (%s cannot import torch: %v); install Debian's python3-torch to run this test", torchPython, torchErr)
	}
}

// runFixtures runs testdata/make_fixtures.py with args.
func runFixtures(t *testing.T, args ...string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "make_fixtures.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(torchPython, append([]string{script}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", torchPython, strings.Join(append([]string{script}, args...), " "), err, out.String())
	}
	if s := strings.TrimSpace(out.String()); s != "" {
		t.Logf("make_fixtures.py %s:\n%s", args[0], s)
	}
}

// zooParitySpecs are the full-size models compared when PyTorch is available.
var zooParitySpecs = []struct{ tag, model, dataset string }{
	{"simplecnn-v2-mnist", "simplecnn-v2", "mnist"},
	{"simplecnn-v2-cifar10", "simplecnn-v2", "cifar10"},
	{"resnet18-cifar10", "resnet18", "cifar10"},
	{"resnet18-mnist", "resnet18", "mnist"},
	{"simplevit-cifar10", "simplevit", "cifar10"},
	{"simplevit-preln-cifar100", "simplevit-preln", "cifar100"},
}

// TestTorchParityGenerated has PyTorch initialise the full-size zoo models (fixed seed,
// non-trivial BatchNorm statistics and biases) and compares the Go forward on them.
func TestTorchParityGenerated(t *testing.T) {
	requireTorch(t)
	dir := t.TempDir()
	args := []string{"gen", "--out", dir, "--n", fmt.Sprint(fixtureBatch)}
	for _, s := range zooParitySpecs {
		args = append(args, s.tag+"="+s.model+":"+s.dataset)
	}
	runFixtures(t, args...)
	for _, s := range zooParitySpecs {
		t.Run(s.tag, func(t *testing.T) {
			checkParity(t, readFixture(t, dir, s.tag, s.tag+".io.safetensors"))
		})
	}
}

// perturbGo gives a Go model the non-trivial parameters make_fixtures.py's perturb gives
// the PyTorch twins: BatchNorm statistics of a train-mode pass over a random batch
// (momentum 1) scaled and shifted at random, norm weights U(0.5, 1.5), biases N(0, 0.1²),
// cls_token and pos_embed N(0, 0.5²), num_batches_tracked 7.
func perturbGo[F tensor.Float](t *testing.T, m Model[F], dataset string, rng *rand.Rand) {
	t.Helper()
	if r, ok := m.(*ResNet[F]); ok {
		bns := []*nn.BatchNorm2d[F]{r.BN1}
		for _, st := range r.Stages {
			for _, c := range st.Children {
				b := c.(*nn.BasicBlock[F])
				bns = append(bns, b.BN1, b.BN2)
				if b.Downsample != nil {
					bns = append(bns, b.Downsample.Children[1].(*nn.BatchNorm2d[F]))
				}
			}
		}
		shape, err := data.InputShape(dataset)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New[F](append([]int{8}, shape...)...)
		nn.Normal(x, 1, rng)
		for _, b := range bns {
			b.Momentum = 1
		}
		nn.SetTraining[F](m, true)
		m.Forward(x)
		nn.SetTraining[F](m, false)
		for _, b := range bns {
			b.Momentum = 0.1
		}
	}
	for _, p := range m.Params() {
		v := p.P.Value.Data
		switch {
		case strings.HasSuffix(p.Name, "num_batches_tracked"):
			v[0] = 7
		case strings.HasSuffix(p.Name, "running_var"):
			for i := range v {
				v[i] *= F(math.Exp(rng.Float64()*1.4 - 0.7))
			}
		case strings.HasSuffix(p.Name, "running_mean"):
			for i := range v {
				v[i] += F(0.1 * rng.NormFloat64())
			}
		case strings.HasSuffix(p.Name, ".weight") && len(p.P.Value.Shape) == 1: // BatchNorm / LayerNorm
			for i := range v {
				v[i] = F(0.5 + rng.Float64())
			}
		case strings.HasSuffix(p.Name, "bias"):
			nn.Normal(p.P.Value, 0.1, rng)
		case strings.HasSuffix(p.Name, "cls_token") || strings.HasSuffix(p.Name, "pos_embed"):
			nn.Normal(p.P.Value, 0.5, rng)
		}
	}
}

// TestTorchParityReverse saves Go-initialised zoo models with checkpoint.Save, has PyTorch
// load them strictly into the twins and compares PyTorch's logits with Go's.
func TestTorchParityReverse(t *testing.T) {
	requireTorch(t)
	dir := t.TempDir()
	var fxs []*parityFixture
	for i, s := range zooParitySpecs {
		rng := nn.NewRand(uint64(1000 + i))
		m, err := New[float32](s.model, s.dataset, uint64(7+i))
		if err != nil {
			t.Fatal(err)
		}
		perturbGo(t, m, s.dataset, rng)
		path := filepath.Join(dir, s.tag+".safetensors")
		meta := map[string]string{"format": "frpt/v1", "arch": s.model, "dataset": s.dataset, "overrides": "{}"}
		if err := checkpoint.Save(path, m.Params(), meta); err != nil {
			t.Fatal(err)
		}
		shape, _ := data.InputShape(s.dataset)
		x := tensor.New[float32](append([]int{fixtureBatch}, shape...)...)
		nn.Normal(x, 1, rng)
		ts := []checkpoint.Tensor{checkpoint.FromFloat32("input", x.Shape, x.Data)}
		if err := checkpoint.WriteTensors(filepath.Join(dir, s.tag+".io.safetensors"), ts, nil); err != nil {
			t.Fatal(err)
		}
		fx := readFixture(t, dir, s.tag, "")
		// Go's logits through the normal loading path, float32 and float64.
		fx.GoRef32 = goLogits[float32](t, fx, nil)
		fx.GoRef64 = goLogits[float64](t, fx, nil)
		// The model that wrote the file gives the same float32 logits.
		nn.SetTraining[float32](m, false)
		if d, _ := logitDiff(m.Forward(x).Data, fx.GoRef32); d != 0 {
			t.Errorf("%s: reloaded Go model differs from the saved one by %.3g", s.tag, d)
		}
		fxs = append(fxs, fx)
	}
	args := []string{"forward", "--dir", dir}
	for _, s := range zooParitySpecs {
		args = append(args, s.tag)
	}
	runFixtures(t, args...)
	for _, fx := range fxs {
		t.Run(fx.Tag, func(t *testing.T) {
			torchPath := filepath.Join(dir, fx.Tag+".torch.safetensors")
			tf := readTensorFile(t, torchPath)
			ref32, _ := lookupF32(t, tf, torchPath, "logits32")
			ref64 := lookupF64(t, tf, torchPath, "logits64")
			if len(ref32) != len(fx.GoRef32) || len(ref64) != len(fx.GoRef64) {
				t.Fatalf("PyTorch gives %d logits, Go %d", len(ref32), len(fx.GoRef32))
			}
			var r parityResult
			r.d32, r.scale = logitDiff(fx.GoRef32, ref32)
			r.d32vs64, _ = logitDiff(fx.GoRef32, ref64)
			r.d64, _ = logitDiff(fx.GoRef64, ref64)
			t.Logf("%s (Go weights → PyTorch, %s on %s): %v", fx.Tag, fx.Arch, fx.Dataset, r)
			if !r.ok32() {
				t.Errorf("float32: PyTorch logits differ from Go's by %.3g (vs float64 %.3g), tolerance %.3g", r.d32, r.d32vs64, parityRel32*r.scale)
			}
			if !r.ok64() {
				t.Errorf("float64: PyTorch logits differ from Go's by %.3g, tolerance %.3g", r.d64, parityRel64*r.scale)
			}
		})
	}
}

// readStateDictKeys reads make_fixtures.py keys' output: "model/dataset" → [[key, shape], …].
func readStateDictKeys(t *testing.T, path string) map[string]map[string][]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string][][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]map[string][]int{}
	for combo, entries := range raw {
		m := map[string][]int{}
		for _, e := range entries {
			var name string
			var shape []int
			if len(e) != 2 || json.Unmarshal(e[0], &name) != nil || json.Unmarshal(e[1], &shape) != nil {
				t.Fatalf("%s: %s: bad entry %s", path, combo, e)
			}
			if shape == nil {
				shape = []int{}
			}
			m[name] = shape
		}
		out[combo] = m
	}
	return out
}

// compareKeys reports the differences between the Go model's parameters and a PyTorch
// state_dict's keys and shapes.
func compareKeys(t *testing.T, combo string, torchKeys map[string][]int) {
	t.Helper()
	name, ds, _ := strings.Cut(combo, "/")
	m, err := New[float32](name, ds, 0)
	if err != nil {
		t.Errorf("%s: PyTorch defines it, Go does not: %v", combo, err)
		return
	}
	goKeys := map[string][]int{}
	for _, p := range m.Params() {
		goKeys[p.Name] = slices.Clone(p.P.Value.Shape)
	}
	var problems []string
	for k, s := range goKeys {
		ts, ok := torchKeys[k]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s only in Go", k))
		case !slices.Equal(s, ts):
			problems = append(problems, fmt.Sprintf("%s: Go %v, PyTorch %v", k, s, ts))
		}
	}
	for k := range torchKeys {
		if _, ok := goKeys[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s only in PyTorch", k))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("%s: state_dict differs (%d Go, %d PyTorch entries): %s", combo, len(goKeys), len(torchKeys), strings.Join(problems, "; "))
	}
}

// TestTorchStateDictKeys compares the Go models' parameter names and shapes with the
// twins' state_dicts: the committed representative list always, every zoo model × every
// dataset it is defined for when PyTorch is available.
func TestTorchStateDictKeys(t *testing.T) {
	committed := readStateDictKeys(t, filepath.Join("testdata", "torch_state_dict_keys.json"))
	names := map[string]bool{}
	for combo, keys := range committed {
		compareKeys(t, combo, keys)
		names[strings.Split(combo, "/")[0]] = true
	}
	for _, n := range Names() {
		if !names[n] {
			t.Errorf("committed key list has no %s", n)
		}
	}
	t.Run("all", func(t *testing.T) {
		requireTorch(t)
		path := filepath.Join(t.TempDir(), "keys.json")
		runFixtures(t, "keys", "--all", "--out", path)
		all := readStateDictKeys(t, path)
		for _, n := range Names() {
			for _, ds := range data.Names() {
				combo := n + "/" + ds
				_, goErr := New[float32](n, ds, 0)
				if _, ok := all[combo]; ok != (goErr == nil) {
					t.Errorf("%s: defined in Go %v, in PyTorch %v", combo, goErr == nil, ok)
				}
			}
		}
		for combo, keys := range all {
			compareKeys(t, combo, keys)
		}
		for combo, keys := range committed {
			if fmt.Sprint(keys) != fmt.Sprint(all[combo]) {
				t.Errorf("%s: committed testdata/torch_state_dict_keys.json is stale; rerun make_fixtures.py committed", combo)
			}
		}
		t.Logf("compared %d model/dataset state_dicts", len(all))
	})
}

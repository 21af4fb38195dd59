package reverse

import (
	"math"
	"slices"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/onnx/onnxtest"
	"github.com/frpt/frpt/tensor"
)

// An imported zoo model gives the zoo model's reconstruction: SimpleCNN v2 and ResNet-18
// exported by PyTorch (bench/torch_models.py, random weights with randomised BatchNorm
// statistics, through onnx/testdata/fixtures.py), the fixture's state_dict loaded into
// the zoo model by name, and both reverse chains run on the same inputs and labels (half
// of them the prediction, half another class, so that targets change). The graph chain
// derives from the ONNX units the same operators the zoo's hand-written chains call
// (linear, max pool, activation and fft_pad convolution reverses for SimpleCNN;
// linear, global-pool projection and the composite solver per block for ResNet), on the
// same anchors, so every tap target must agree bit for bit.
//
// Two settings make the chains comparable: GraphSolveUnchanged, because the graph chain
// otherwise hands samples whose target equals their forward output their forward input
// (exact) where the zoo chains return the solvers' answer (equal up to rounding); and
// GlobalPoolProjection for the zoo ResNet, the pooling reverse imported models use by
// default (on 28×28 inputs ResNet-18's last stage is 1×1, where projection and the
// paper's broadcast coincide). Without GraphSolveUnchanged the test fails at z1 of
// SimpleCNN: the check compares values, not methods.
func TestImportedZooChainEqualsZooChain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		taps     map[string]string // imported tap → zoo tap
		solvedBy int               // taps reached through composite blocks
	}{
		{"simplecnn-v2", map[string]string{"z1": "z1", "z2": "z2", "out": "out"}, 0},
		{"resnet18", map[string]string{"z1": "z0", "z2": "z1", "z3": "z2", "z4": "z3", "z5": "z4", "z6": "z5", "out": "out"}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp, err := onnx.Load[float32](onnxtest.Path(t, tc.name, ".onnx"), "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			zoo, err := models.New[float32](tc.name, "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := checkpoint.LoadInto(onnxtest.Path(t, tc.name, ".state.safetensors"), zoo.Params()); err != nil {
				t.Fatal(err)
			}
			x, _ := onnxtest.IO(t, tc.name)
			nn.SetTraining[float32](zoo, false)
			logits := zoo.Forward(x.Clone())
			n, k := logits.Shape[0], logits.Dim(-1)
			labels := tensor.ArgmaxRows(logits.Data, k) // the prediction, or another class for odd samples
			for s := 1; s < n; s += 2 {
				labels[s] = (labels[s] + 1 + s%(k-1)) % k
			}
			zopt := DefaultChainOptions()
			zopt.GlobalPoolProjection = true
			iopt := zopt
			iopt.GraphSolveUnchanged = true
			zc, err := NewChain(zoo, zopt)
			if err != nil {
				t.Fatal(err)
			}
			ic, err := NewChain(imp, iopt)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zc.Run(x.Clone(), labels)
			if err != nil {
				t.Fatal(err)
			}
			ir, err := ic.Run(x.Clone(), labels)
			if err != nil {
				t.Fatal(err)
			}
			if len(ir.Taps) != len(tc.taps) || len(zr.Taps) != len(tc.taps) {
				t.Fatalf("taps: imported %v, zoo %v", ir.Taps, zr.Taps)
			}
			changed := 0
			for _, g := range zr.Diags["out"].Gap {
				if g > 0 {
					changed++
				}
			}
			if changed != n/2 {
				t.Fatalf("%d of %d output targets changed, want %d", changed, n, n/2)
			}
			solved := 0
			for it, zt := range tc.taps {
				a, b := ir.Targets[it], zr.Targets[zt]
				if a == nil || b == nil || len(a.Data) != len(b.Data) {
					t.Fatalf("tap %s (zoo %s): imported %v, zoo %v", it, zt, a, b)
				}
				diff, worst := 0, 0.0
				for j := range a.Data {
					if a.Data[j] != b.Data[j] {
						diff++
						worst = math.Max(worst, math.Abs(float64(a.Data[j]-b.Data[j]))/math.Max(math.Abs(float64(b.Data[j])), 1e-30))
					}
				}
				if diff > 0 {
					t.Errorf("tap %s (zoo %s): %d of %d values differ (max relative %.3g); methods imported %q, zoo %q",
						it, zt, diff, len(a.Data), worst, ir.Diags[it].Method, zr.Diags[zt].Method)
				}
				// The composite solvers took the same steps (ResNet's blocks).
				if hi, hz := ir.Diags[it].History, zr.Diags[zt].History; !slices.Equal(hi, hz) {
					t.Errorf("tap %s (zoo %s): composite error history %v, zoo %v", it, zt, hi, hz)
				}
				if len(zr.Diags[zt].History) > 0 {
					solved++
				}
			}
			if solved != tc.solvedBy {
				t.Errorf("%d taps reached through composite blocks, want %d", solved, tc.solvedBy)
			}
		})
	}
}

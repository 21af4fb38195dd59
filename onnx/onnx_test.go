package onnx_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/onnx/onnxpb"
	"github.com/frpt/frpt/onnx/onnxtest"
	"github.com/frpt/frpt/tensor"
	"google.golang.org/protobuf/proto"
)

var fixtures = []string{"byom", "byom-eval", "acts", "matmul", "simplecnn-v2", "resnet18"}

// relErr is max|a − b| / max|b|.
func relErr[F, G tensor.Float](a []F, b []G) float64 {
	var d, m float64
	for i := range b {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

// The imported models compute PyTorch's eval-mode logits, in float32 and float64, from
// the initializers and from the state_dict.
func TestForwardMatchesPyTorch(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			path := onnxtest.Path(t, name, ".onnx")
			x, want := onnxtest.IO(t, name)
			m, err := onnx.Load[float32](path, "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			nn.SetTraining[float32](m, false)
			got := m.Forward(x).Clone()
			if !tensor.SameShape(got, want) {
				t.Fatalf("logits %v, PyTorch %v", got.Shape, want.Shape)
			}
			if e := relErr(got.Data, want.Data); e > 1e-5 {
				t.Errorf("float32 logits differ from PyTorch's by %.3g (relative)", e)
			}
			m64, err := onnx.Load[float64](path, "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			nn.SetTraining[float64](m64, false)
			if e := relErr(m64.Forward(tensor.Convert[float64](x)).Data, want.Data); e > 1e-5 {
				t.Errorf("float64 logits differ from PyTorch's by %.3g (relative)", e)
			}
			// The state_dict (num_batches_tracked included) gives the same weights.
			if err := m.LoadWeights(onnxtest.Path(t, name, ".state.safetensors")); err != nil {
				t.Fatal(err)
			}
			again := m.Forward(x)
			for i := range again.Data {
				if again.Data[i] != got.Data[i] {
					t.Fatalf("logits from the state_dict differ from those of the initializers at %d", i)
				}
			}
		})
	}
}

// models.New builds an ONNX path like a zoo name.
func TestModelsNewAcceptsONNX(t *testing.T) {
	path := onnxtest.Path(t, "byom", ".onnx")
	if !models.Imported(path) || models.Imported("resnet18") {
		t.Fatal("models.Imported does not tell an ONNX path from a zoo name")
	}
	m, err := models.New[float32](path, "mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(models.Segmented[float32]); !ok {
		t.Fatal("an imported model is not Segmented")
	}
	if _, err := models.New[float32](path, "cifar10", 0); err == nil || !strings.Contains(err.Error(), "dataset") {
		t.Fatalf("an MNIST model built for CIFAR-10: %v", err)
	}
}

// The byom fixture gets the taps of the paper's rules: the residual block's input and
// output, the strided conv's BatchNorm output, the pooled vector, out.
func TestTaps(t *testing.T) {
	m, err := onnx.Load[float32](onnxtest.Path(t, "byom", ".onnx"), "mnist", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, tensor string
		shape        []int
	}{
		{"z1", "/Relu_output_0", []int{8, 28, 28}},
		{"z2", "/Relu_1_output_0", []int{8, 28, 28}},
		{"z3", "/b3/BatchNormalization_output_0", []int{16, 14, 14}},
		{"z4", "/Reshape_output_0", []int{16}},
		{"out", "logits", []int{10}},
	}
	got := m.TapList()
	if len(got) != len(want) {
		t.Fatalf("taps %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Tensor != w.tensor || !slicesEqual(got[i].Shape, w.shape) {
			t.Errorf("tap %d = %+v, want %+v", i, got[i], w)
		}
	}
	// SimpleCNN and ResNet get the zoo's taps.
	for name, n := range map[string]int{"simplecnn-v2": 3, "resnet18": 7} {
		m, err := onnx.Load[float32](onnxtest.Path(t, name, ".onnx"), "mnist", 0)
		if err != nil {
			t.Fatal(err)
		}
		zoo, _ := models.New[float32](name, "mnist", 0)
		if len(m.TapList()) != n || len(zoo.TapNames()) != n {
			t.Errorf("%s: %d taps imported, %d in the zoo, want %d", name, len(m.TapList()), len(zoo.TapNames()), n)
		}
		x := tensor.New[float32](1, 1, 28, 28)
		m.Forward(x)
		zoo.Forward(x)
		for i, tp := range m.TapList() {
			if !tensor.SameShape(m.Taps()[tp.Name], zoo.Taps()[zoo.TapNames()[i]]) {
				t.Errorf("%s tap %s %v, zoo tap %s %v", name, tp.Name, m.Taps()[tp.Name].Shape, zoo.TapNames()[i], zoo.Taps()[zoo.TapNames()[i]].Shape)
			}
		}
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The backward pass of imported models (training-mode BatchNorm, the residual block's
// gradient sum, GELU, BatchNorm1d, the transposed MatMul weight) agrees with central
// finite differences in float64.
func TestBackwardGradcheck(t *testing.T) {
	for _, name := range []string{"byom", "acts", "matmul", "simplecnn-v2"} {
		for _, training := range []bool{false, true} {
			m, err := onnx.Load[float64](onnxtest.Path(t, name, ".onnx"), "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			nn.SetTraining[float64](m, training)
			for _, u := range m.Units() {
				if d, ok := u.Module.(*onnx.Dropout[float64]); ok {
					d.Training = false // random masks are not differentiable between calls
				}
			}
			m.InputGrad(true)
			x, _ := onnxtest.IO(t, name)
			x64 := tensor.Convert[float64](x)
			x64 = tensor.FromData(x64.Data[:3*784], 3, 1, 28, 28)
			opt := gradcheck.Options{Samples: 12, Seed: 3, Eps: 1e-5}
			if name == "byom" {
				// A step of 1e-5 in a weight feeding ReLUs through BatchNorm moves thousands
				// of pre-activations; some cross 0 (kinks: the error falls with the step,
				// 7e-2 at 1e-4, 1e-3 at 1e-6). At 1e-7 the round-off of the difference is
				// ~1e-9, hence the floor.
				opt.Eps, opt.Floor = 1e-7, 1e-3
			}
			res := gradcheck.Check(m, x64, opt)
			if res.MaxRelErr > 1e-5 {
				t.Errorf("%s (training %v): %.3g at %s", name, training, res.MaxRelErr, res.Where)
			}
		}
	}
}

// Post-trained weights written as safetensors and as ONNX load back with the same values;
// the ONNX copy keeps the graph (it imports and computes the same logits).
func TestSaveWeightsAndONNX(t *testing.T) {
	for _, name := range []string{"byom-eval", "byom"} {
		m, err := onnx.Load[float32](onnxtest.Path(t, name, ".onnx"), "mnist", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range m.Params() { // new weights
			for j := range p.P.Value.Data {
				if !p.P.Int {
					p.P.Value.Data[j] += float32(0.01 * float64((i+j)%7-3))
				}
			}
		}
		nn.SetTraining[float32](m, false)
		x, _ := onnxtest.IO(t, name)
		want := m.Forward(x).Clone()
		dir := t.TempDir()
		st, ox := filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "w.onnx")
		if err := m.SaveWeights(st, nil); err != nil {
			t.Fatal(err)
		}
		if err := m.SaveONNX(ox); err != nil {
			t.Fatal(err)
		}
		f, err := checkpoint.Read(st)
		if err != nil {
			t.Fatal(err)
		}
		if nbt, ok := f.Lookup("b1.num_batches_tracked"); !ok || nbt.Dtype != checkpoint.I64 {
			t.Errorf("saved state_dict lacks an int64 b1.num_batches_tracked")
		}
		for _, src := range []string{st, ox} {
			m2, err := onnx.Load[float32](onnxtest.Path(t, name, ".onnx"), "mnist", 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := m2.LoadWeights(src); err != nil {
				t.Fatal(err)
			}
			nn.SetTraining[float32](m2, false)
			if e := relErr(m2.Forward(x).Data, want.Data); e != 0 {
				t.Errorf("%s: weights from %s give logits off by %.3g", name, filepath.Base(src), e)
			}
		}
		m3, err := onnx.Load[float32](ox, "mnist", 0)
		if err != nil {
			t.Fatal(err)
		}
		nn.SetTraining[float32](m3, false)
		if e := relErr(m3.Forward(x).Data, want.Data); e != 0 {
			t.Errorf("%s: the saved ONNX file gives logits off by %.3g", name, e)
		}
	}
}

// Malformed, truncated and unsupported files give errors naming the file, the node and
// the op type.
func TestLoadErrors(t *testing.T) {
	good, err := os.ReadFile(onnxtest.Path(t, "byom-eval", ".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(mp *onnxpb.ModelProto)) []byte {
		mp := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(good, mp); err != nil {
			t.Fatal(err)
		}
		f(mp)
		b, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	node := func(mp *onnxpb.ModelProto, op string) *onnxpb.NodeProto {
		for _, n := range mp.GetGraph().GetNode() {
			if n.GetOpType() == op {
				return n
			}
		}
		t.Fatalf("no %s node", op)
		return nil
	}
	cases := []struct {
		name        string
		data        []byte
		want        []string
		unsupported bool
	}{
		{"empty", nil, []string{"empty file"}, false},
		{"garbage", []byte("this is not a protobuf \x00\xff\xff\xff\xff"), []string{"not an ONNX model"}, false},
		{"truncated", good[:len(good)/2], []string{"bad.onnx"}, false},
		{"opset", edit(func(mp *onnxpb.ModelProto) { mp.OpsetImport[0].Version = proto.Int64(18) }), []string{"opset 18", "11–17"}, false},
		{"unsupported op", edit(func(mp *onnxpb.ModelProto) { node(mp, "Relu").OpType = proto.String("Selu") }), []string{`"/Relu"`, "Selu", "not supported"}, true},
		{"grouped conv", edit(func(mp *onnxpb.ModelProto) {
			for _, a := range node(mp, "Conv").Attribute {
				if a.GetName() == "group" {
					a.I = proto.Int64(2)
				}
			}
		}), []string{`"/c1/Conv"`, "Conv", "group 2"}, true},
		{"short initializer", edit(func(mp *onnxpb.ModelProto) {
			in := mp.Graph.Initializer[0]
			in.RawData = in.RawData[:len(in.RawData)-4]
		}), []string{"c1.weight", "truncated"}, false},
		{"huge dims", edit(func(mp *onnxpb.ModelProto) { mp.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 30} }), []string{"c1.weight"}, false},
		{"negative dim", edit(func(mp *onnxpb.ModelProto) { mp.Graph.Initializer[0].Dims[0] = -8 }), []string{"c1.weight"}, false},
		{"external data", edit(func(mp *onnxpb.ModelProto) {
			mp.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		}), []string{"c1.weight", "external"}, false},
		{"missing tensor", edit(func(mp *onnxpb.ModelProto) { node(mp, "Relu").Input[0] = "nowhere" }), []string{`"/Relu"`, "nowhere"}, false},
		{"two outputs", edit(func(mp *onnxpb.ModelProto) { mp.Graph.Output = append(mp.Graph.Output, mp.Graph.Output[0]) }), []string{"2 outputs"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := onnx.Decode[float32](c.data, "bad.onnx", []int{1, 28, 28}, 0)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			var oe *onnx.Error
			if !errors.As(err, &oe) || oe.Path != "bad.onnx" {
				t.Errorf("error %v is not an *onnx.Error for bad.onnx", err)
			}
			if c.unsupported && !strings.Contains(err.Error(), "frpt imports:") {
				t.Errorf("error %q does not list the supported ops", err)
			}
		})
	}
	// The graph input must match the dataset's images.
	if _, err := onnx.Decode[float32](good, "m.onnx", []int{3, 32, 32}, 0); err == nil || !strings.Contains(err.Error(), `input "x"`) {
		t.Errorf("MNIST model for 3×32×32 images: %v", err)
	}
}

package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/nn/gradcheck"
	"github.com/frpt/frpt/tensor"
)

func randT(seed uint64, shape ...int) *tensor.T[float64] {
	x := tensor.New[float64](shape...)
	nn.Normal(x, 1, nn.NewRand(seed))
	return x
}

func TestCNNLayerGradients(t *testing.T) {
	rng := nn.NewRand(3)
	cases := []struct {
		name string
		m    nn.Module[float64]
		x    *tensor.T[float64]
	}{
		{"conv5x5", nn.NewConv2d[float64](2, 3, 5, 1, 0, true, rng), randT(1, 2, 2, 9, 8)},
		{"conv3x3-s2-p1", nn.NewConv2d[float64](3, 4, 3, 2, 1, false, rng), randT(2, 2, 3, 7, 7)},
		{"conv-im2col", nn.NewConv2d[float64](8, 16, 3, 1, 1, true, rng), randT(3, 2, 8, 5, 5)},
		{"maxpool2", nn.NewMaxPool2d[float64](2, 2, 0), randT(4, 2, 3, 7, 6)},
		{"maxpool3-s2-p1", nn.NewMaxPool2d[float64](3, 2, 1), randT(5, 1, 2, 7, 7)},
		{"avgpool2", nn.NewAvgPool2d[float64](2, 2), randT(6, 2, 2, 6, 5)},
		{"gap", nn.NewGlobalAvgPool2d[float64](), randT(7, 2, 3, 4, 5)},
		{"flatten-linear", nn.NewSequential[float64](nn.NewFlatten[float64](), nn.NewLinear[float64](12, 5, true, rng)), randT(8, 2, 3, 2, 2)},
		{"block", nn.NewBasicBlock[float64](4, 4, 1, rng), randT(9, 2, 4, 5, 5)},
		{"block-down", nn.NewBasicBlock[float64](3, 6, 2, rng), randT(10, 2, 3, 6, 6)},
	}
	for _, c := range cases {
		for _, train := range []bool{false, true} {
			nn.SetTraining(c.m, train)
			if r := gradcheck.Check(c.m, c.x, gradcheck.Options{Samples: 60}); r.MaxRelErr > 1e-5 {
				t.Errorf("%s (training %v): %s (rel %.3g)", c.name, train, r.Where, r.MaxRelErr)
			}
		}
	}
}

func TestBatchNormGradientsAndStatistics(t *testing.T) {
	bn := nn.NewBatchNorm2d[float64](3)
	nn.Normal(bn.Weight.Value, 1, nn.NewRand(1))
	nn.Normal(bn.Bias.Value, 1, nn.NewRand(2))
	x := randT(11, 4, 3, 3, 2)
	for _, train := range []bool{false, true} {
		bn.SetTraining(train)
		if r := gradcheck.Check(bn, x, gradcheck.Options{}); r.MaxRelErr > 1e-5 {
			t.Errorf("training %v: %s", train, r.Where)
		}
	}
	// Running statistics after one training step from the initial (0, 1).
	b := nn.NewBatchNorm2d[float64](3)
	b.SetTraining(true)
	y := b.Forward(x)
	for ch := 0; ch < 3; ch++ {
		var vals []float64
		for n := 0; n < 4; n++ {
			vals = append(vals, x.Data[(n*3+ch)*6:(n*3+ch+1)*6]...)
		}
		m, ss := 0.0, 0.0
		for _, v := range vals {
			m += v
		}
		m /= float64(len(vals))
		for _, v := range vals {
			ss += (v - m) * (v - m)
		}
		if got := b.RunningMean.Value.Data[ch]; math.Abs(got-0.1*m) > 1e-12 {
			t.Errorf("running_mean[%d]=%v want %v", ch, got, 0.1*m)
		}
		if got := b.RunningVar.Value.Data[ch]; math.Abs(got-(0.9+0.1*ss/float64(len(vals)-1))) > 1e-12 {
			t.Errorf("running_var[%d]=%v", ch, got)
		}
		// Output of a channel has zero mean and unit (biased) variance.
		om, ov := 0.0, 0.0
		for n := 0; n < 4; n++ {
			for _, v := range y.Data[(n*3+ch)*6 : (n*3+ch+1)*6] {
				om += v
				ov += v * v
			}
		}
		if math.Abs(om/24) > 1e-9 || math.Abs(ov/24-ss/24/(ss/24+1e-5)) > 1e-6 {
			t.Errorf("channel %d not normalised: mean %v var %v", ch, om/24, ov/24)
		}
	}
	if b.NumBatchesTracked.Value.Data[0] != 1 {
		t.Errorf("num_batches_tracked = %v", b.NumBatchesTracked.Value.Data[0])
	}
	names := []string{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
	for i, p := range b.Params() {
		if p.Name != names[i] {
			t.Errorf("param %d named %s want %s", i, p.Name, names[i])
		}
	}
}

func TestBasicBlockNames(t *testing.T) {
	b := nn.NewBasicBlock[float32](3, 6, 2, nn.NewRand(1))
	var names []string
	for _, p := range b.Params() {
		names = append(names, p.Name)
	}
	want := []string{"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
		"conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
		"downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean", "downsample.1.running_var", "downsample.1.num_batches_tracked"}
	if len(names) != len(want) {
		t.Fatalf("names %v", names)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("names %v\nwant %v", names, want)
		}
	}
}

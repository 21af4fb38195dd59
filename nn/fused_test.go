package nn_test

import (
	"math"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// The fused passes of the residual block give the bits (and the layer state) of the
// separate layers: BatchNorm.ForwardReLU against BatchNorm.Forward then ReLU.Forward,
// ReLU.ForwardSum against the sum then ReLU.Forward, and BatchNorm.BackwardReLU against
// ReLU.Backward then BatchNorm.Backward, for the ReLU after the BatchNorm and for the one
// after a sum. Planes of 1, 7×9 and 32×32 values, more elements than one AddReLU chunk.
func TestFusedBlockPassesSameBits(t *testing.T) {
	same := func(what string, a, b *tensor.T[float32]) {
		t.Helper()
		for i := range a.Data {
			if math.Float32bits(a.Data[i]) != math.Float32bits(b.Data[i]) {
				t.Fatalf("%s: element %d is %v fused, %v separate", what, i, a.Data[i], b.Data[i])
			}
		}
	}
	for _, sh := range [][4]int{{3, 5, 1, 1}, {2, 4, 7, 9}, {4, 8, 32, 32}} {
		x := tensor.New[float32](sh[:]...)
		nn.Normal(x, 1, nn.NewRand(1))
		res := tensor.New[float32](sh[:]...)
		nn.Normal(res, 1, nn.NewRand(2))
		dy := tensor.New[float32](sh[:]...)
		nn.Normal(dy, 1, nn.NewRand(3))
		bnA, bnB := nn.NewBatchNorm2d[float32](sh[1]), nn.NewBatchNorm2d[float32](sh[1])
		nn.Normal(bnA.Weight.Value, 1, nn.NewRand(4))
		copy(bnB.Weight.Value.Data, bnA.Weight.Value.Data)
		bnA.SetTraining(true)
		bnB.SetTraining(true)
		reluA, reluB := nn.NewReLU[float32](), nn.NewReLU[float32]()
		got := bnA.ForwardReLU(x, reluA)
		want := reluB.Forward(bnB.Forward(x))
		same("BatchNorm+ReLU forward", got, want)
		same("BatchNorm running mean", bnA.RunningMean.Value, bnB.RunningMean.Value)
		same("BatchNorm running var", bnA.RunningVar.Value, bnB.RunningVar.Value)
		dxA, dreluA := bnA.BackwardReLU(dy, reluA)
		dreluB := reluB.Backward(dy)
		same("BatchNorm+ReLU backward, ReLU's input gradient", dreluA, dreluB)
		same("BatchNorm+ReLU backward", dxA, bnB.Backward(dreluB))
		same("BatchNorm+ReLU backward, dγ", bnA.Weight.Grad, bnB.Weight.Grad)
		same("BatchNorm+ReLU backward, dβ", bnA.Bias.Grad, bnB.Bias.Grad)

		sumA, sumB := nn.NewReLU[float32](), nn.NewReLU[float32]()
		s := tensor.New[float32](sh[:]...)
		tensor.Add(x.Data, res.Data, s.Data)
		same("Add+ReLU forward", sumA.ForwardSum(x, res), sumB.Forward(s))
		same("Add+ReLU backward", sumA.Backward(dy), sumB.Backward(dy))
		// the block's second BatchNorm takes the mask of the ReLU after the residual sum
		dxA, dreluA = bnA.BackwardReLU(dy, sumA)
		dreluB = sumB.Backward(dy)
		same("BatchNorm backward through the sum's ReLU, ReLU's input gradient", dreluA, dreluB)
		same("BatchNorm backward through the sum's ReLU", dxA, bnB.Backward(dreluB))
	}
}

package nn

import (
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// BasicBlock is torchvision's ResNet BasicBlock: conv3×3(stride)–BN–ReLU–conv3×3–BN, plus
// the shortcut (identity, or Downsample = conv1×1(stride)–BN when the shape changes),
// then ReLU.
type BasicBlock[F tensor.Float] struct {
	Conv1      *Conv2d[F]
	BN1        *BatchNorm2d[F]
	Relu1      *ReLU[F]
	Conv2      *Conv2d[F]
	BN2        *BatchNorm2d[F]
	Downsample *Sequential[F] // nil for the identity shortcut
	Relu2      *ReLU[F]
	dx         *tensor.T[F]
}

// NewBasicBlock returns a BasicBlock from in to out channels with torchvision's init
// (kaiming normal fan_out convs, BN weight 1 bias 0).
func NewBasicBlock[F tensor.Float](in, out, stride int, rng *rand.Rand) *BasicBlock[F] {
	b := &BasicBlock[F]{
		Conv1: NewConv2d[F](in, out, 3, stride, 1, false, rng), BN1: NewBatchNorm2d[F](out), Relu1: NewReLU[F](),
		Conv2: NewConv2d[F](out, out, 3, 1, 1, false, rng), BN2: NewBatchNorm2d[F](out), Relu2: NewReLU[F](),
	}
	KaimingNormalFanOut(b.Conv1.Weight.Value, out*9, rng)
	KaimingNormalFanOut(b.Conv2.Weight.Value, out*9, rng)
	if stride != 1 || in != out {
		ds := NewConv2d[F](in, out, 1, stride, 0, false, rng)
		KaimingNormalFanOut(ds.Weight.Value, out, rng)
		b.Downsample = NewSequential[F](ds, NewBatchNorm2d[F](out))
	}
	return b
}

// Forward computes relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).
func (b *BasicBlock[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	h := b.BN2.Forward(b.Conv2.Forward(b.BN1.ForwardReLU(b.Conv1.Forward(x), b.Relu1)))
	sc := x
	if b.Downsample != nil {
		sc = b.Downsample.Forward(x)
	}
	return b.Relu2.ForwardSum(h, sc)
}

// Backward runs the two branches backwards and adds their input gradients. With the
// identity shortcut, conv1's input gradient is added straight into the shortcut's
// gradient (Relu2's input gradient, which the block returns and which no longer holds
// that gradient alone); the bits are those of the separate sum.
func (b *BasicBlock[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	// The ReLUs' masks are taken inside the BatchNorms' passes (BackwardReLU).
	dbn2, ds := b.BN2.BackwardReLU(dy, b.Relu2)
	dbn1, _ := b.BN1.BackwardReLU(b.Conv2.Backward(dbn2), b.Relu1)
	if b.Downsample == nil {
		return b.Conv1.BackwardAdd(dbn1, ds)
	}
	dmain := b.Conv1.Backward(dbn1)
	dsc := b.Downsample.Backward(ds)
	b.dx = tensor.Ensure(b.dx, dmain.Shape...)
	dm, dc, dx := dmain.Data, dsc.Data, b.dx.Data
	tensor.Parallel(len(dx), actGrain, func(lo, hi int) { tensor.Add(dm[lo:hi], dc[lo:hi], dx[lo:hi]) })
	return b.dx
}

// Params returns conv1, bn1, conv2, bn2 and downsample.0/1 parameters.
func (b *BasicBlock[F]) Params() []Named[F] {
	ps := append(Prefix("conv1", b.Conv1.Params()), Prefix("bn1", b.BN1.Params())...)
	ps = append(ps, Prefix("conv2", b.Conv2.Params())...)
	ps = append(ps, Prefix("bn2", b.BN2.Params())...)
	if b.Downsample != nil {
		ps = append(ps, Prefix("downsample", b.Downsample.Params())...)
	}
	return ps
}

// SetTraining sets the mode of the block's BatchNorms.
func (b *BasicBlock[F]) SetTraining(on bool) {
	b.BN1.SetTraining(on)
	b.BN2.SetTraining(on)
	if b.Downsample != nil {
		b.Downsample.SetTraining(on)
	}
}

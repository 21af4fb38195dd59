package models

import (
	"strconv"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// ResNetConfig describes a torchvision-style ResNet with BasicBlocks (spec §5.2).
type ResNetConfig struct {
	Name      string // resnet18 or resnet34
	Dataset   string
	Layers    [4]int // blocks per stage: [2 2 2 2] or [3 4 6 3]
	Width     int    // channels of the first stage (64; smaller for tests)
	InCh      int
	CIFARStem bool // 3×3 s1 p1 conv and no max-pool, instead of 7×7 s2 p3 + max-pool
	Classes   int
}

// ResNetFor returns the spec's ResNet for a dataset: CIFAR stem for CIFAR-10/100,
// standard stem otherwise (1 input channel for MNIST / Fashion-MNIST).
func ResNetFor(name, dataset string) (ResNetConfig, error) {
	shape, err := data.InputShape(dataset)
	if err != nil {
		return ResNetConfig{}, err
	}
	k, _ := data.NumClasses(dataset)
	c := ResNetConfig{Name: name, Dataset: dataset, Layers: [4]int{2, 2, 2, 2}, Width: 64, InCh: shape[0], Classes: k,
		CIFARStem: dataset == "cifar10" || dataset == "cifar100"}
	if name == "resnet34" {
		c.Layers = [4]int{3, 4, 6, 3}
	}
	return c, nil
}

// identity is a parameter-free pass-through (the CIFAR stem's max-pool slot).
type identity[F tensor.Float] struct{}

func (identity[F]) Forward(x *tensor.T[F]) *tensor.T[F]  { return x }
func (identity[F]) Backward(d *tensor.T[F]) *tensor.T[F] { return d }
func (identity[F]) Params() []nn.Named[F]                { return nil }

// ResNet is ResNet-18/34. Taps: z0 stem output, z1…z4 stage outputs, z5 pooled vector
// [N, 512], out logits.
type ResNet[F tensor.Float] struct {
	Cfg     ResNetConfig
	Conv1   *nn.Conv2d[F]
	BN1     *nn.BatchNorm2d[F]
	Relu    *nn.ReLU[F]
	MaxPool nn.Module[F]
	Stages  [4]*nn.Sequential[F]
	AvgPool *nn.GlobalAvgPool2d[F]
	Flat    *nn.Flatten[F]
	FC      *nn.Linear[F]

	// Features of the last Forward: Z[0] stem, Z[1..4] stages, Z5 pooled, Out logits;
	// BlockIn[s][b] is the input of block b of stage s (the reverse anchors).
	Z       [5]*tensor.T[F]
	BlockIn [4][]*tensor.T[F]
	Z5, Out *tensor.T[F]

	seg []layerOp[F] // layers run by the last ForwardSegment, for BackwardSegment
}

// NewResNet builds a ResNet with torchvision's initialisation.
func NewResNet[F tensor.Float](cfg ResNetConfig, seed uint64) *ResNet[F] {
	rng := nn.NewRand(seed)
	w := cfg.Width
	m := &ResNet[F]{Cfg: cfg, Relu: nn.NewReLU[F](), AvgPool: nn.NewGlobalAvgPool2d[F](), Flat: nn.NewFlatten[F]()}
	if cfg.CIFARStem {
		m.Conv1 = nn.NewConv2d[F](cfg.InCh, w, 3, 1, 1, false, rng)
		m.MaxPool = identity[F]{}
	} else {
		m.Conv1 = nn.NewConv2d[F](cfg.InCh, w, 7, 2, 3, false, rng)
		m.MaxPool = nn.NewMaxPool2d[F](3, 2, 1)
	}
	nn.KaimingNormalFanOut(m.Conv1.Weight.Value, w*m.Conv1.K*m.Conv1.K, rng)
	m.Conv1.NoGrad = true
	m.BN1 = nn.NewBatchNorm2d[F](w)
	in := w
	for s := 0; s < 4; s++ {
		out := w << s
		var blocks []nn.Module[F]
		for b := 0; b < cfg.Layers[s]; b++ {
			stride := 1
			if b == 0 && s > 0 {
				stride = 2
			}
			blocks = append(blocks, nn.NewBasicBlock[F](in, out, stride, rng))
			in = out
		}
		m.Stages[s] = nn.NewSequential(blocks...)
	}
	m.FC = nn.NewLinear[F](in, cfg.Classes, true, rng)
	return m
}

// Forward computes the logits and records the taps and block inputs.
func (m *ResNet[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	out, _ := m.ForwardTo(x, "out") // "out" is always a tap
	return out
}

// Backward is BackwardTaps without tap gradients.
func (m *ResNet[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return m.BackwardTaps(dy, nil) }

// BackwardTaps backpropagates dOut with the tap gradients added at z5…z0; it stops below
// the lowest stage that has trainable parameters or a tap gradient.
//
// A nil dOut starts the pass at the highest tap gradient (after ForwardTo): the layers
// above it are skipped.
func (m *ResNet[F]) BackwardTaps(dOut *tensor.T[F], tg map[string]*tensor.T[F]) *tensor.T[F] {
	g := addGrad(dOut, tg["out"])
	if g != nil {
		g = m.FC.Backward(g)
	}
	if g = addGrad(g, tg["z5"]); g != nil {
		g = m.AvgPool.Backward(m.Flat.Backward(g))
	}
	for s := 3; s >= 0; s-- {
		g = addGrad(g, tg["z"+strconv.Itoa(s+1)])
		if !m.needBelow(s, tg) {
			return nil
		}
		if g != nil {
			g = m.Stages[s].Backward(g)
		}
	}
	g = addGrad(g, tg["z0"])
	if g == nil || (!trainable(m.Conv1.Params()) && !trainable(m.BN1.Params())) {
		return nil
	}
	return m.Conv1.Backward(m.BN1.Backward(m.Relu.Backward(m.MaxPool.Backward(g))))
}

// needBelow reports whether stage s or anything before it must receive a gradient.
func (m *ResNet[F]) needBelow(s int, tg map[string]*tensor.T[F]) bool {
	if trainable(m.Conv1.Params()) || trainable(m.BN1.Params()) || tg["z0"] != nil {
		return true
	}
	for k := 0; k <= s; k++ {
		if trainable(m.Stages[k].Params()) || (k < s && tg["z"+strconv.Itoa(k+1)] != nil) {
			return true
		}
	}
	return false
}

func trainable[F tensor.Float](ps []nn.Named[F]) bool {
	for _, p := range ps {
		if p.P.Trainable() {
			return true
		}
	}
	return false
}

// Taps returns z0…z5 and out.
func (m *ResNet[F]) Taps() map[string]*tensor.T[F] {
	t := map[string]*tensor.T[F]{"z5": m.Z5, "out": m.Out}
	for i, z := range m.Z {
		t["z"+strconv.Itoa(i)] = z
	}
	return t
}

// TapNames lists z0…z5, out.
func (m *ResNet[F]) TapNames() []string { return []string{"z0", "z1", "z2", "z3", "z4", "z5", "out"} }

// ChildNames is torchvision's top-level order.
func (m *ResNet[F]) ChildNames() []string {
	return []string{"conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"}
}

// Children in ChildNames order.
func (m *ResNet[F]) Children() []nn.Module[F] {
	return []nn.Module[F]{m.Conv1, m.BN1, m.Relu, m.MaxPool, m.Stages[0], m.Stages[1], m.Stages[2], m.Stages[3], m.AvgPool, m.FC}
}

// SplitIndex: out 10, z5 9, z4 8, z3 7, z2 6, z1 5, z0 4 (spec §5.2).
func (m *ResNet[F]) SplitIndex(tap string) (int, error) {
	return splitIndex(m.Arch(), map[string]int{"out": 10, "z5": 9, "z4": 8, "z3": 7, "z2": 6, "z1": 5, "z0": 4}, tap)
}

// Params lists the state_dict of torchvision's ResNet.
func (m *ResNet[F]) Params() []nn.Named[F] { return namedChildren(m.ChildNames(), m.Children()) }

// SetTraining switches every BatchNorm.
func (m *ResNet[F]) SetTraining(on bool) {
	m.BN1.SetTraining(on)
	for _, s := range m.Stages {
		s.SetTraining(on)
	}
}

// Arch is resnet18 or resnet34.
func (m *ResNet[F]) Arch() string { return m.Cfg.Name }

// Config describes the model for checkpoint metadata.
func (m *ResNet[F]) Config() map[string]string {
	return map[string]string{"dataset": m.Cfg.Dataset, "width": strconv.Itoa(m.Cfg.Width), "cifar_stem": strconv.FormatBool(m.Cfg.CIFARStem)}
}

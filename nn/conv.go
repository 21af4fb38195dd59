package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// Conv2d is a 2-D convolution with PyTorch's layout: Weight [out, in, k, k], Bias [out]
// (nil without bias), square kernel, equal stride and zero padding on both axes.
type Conv2d[F tensor.Float] struct {
	Weight, Bias *Param[F]
	In, Out, K   int
	Stride, Pad  int
	NoGrad       bool // skip the input gradient (first layer of a model)
	x, y, dx     *tensor.T[F]
	shape        tensor.ConvShape
}

// NewConv2d returns a convolution with PyTorch's default initialisation
// (kaiming_uniform(a=√5) weights: U(±1/√fanIn); bias U(±1/√fanIn)).
func NewConv2d[F tensor.Float](in, out, kernel, stride, pad int, bias bool, rng *rand.Rand) *Conv2d[F] {
	c := &Conv2d[F]{Weight: NewParam[F](out, in, kernel, kernel), In: in, Out: out, K: kernel, Stride: stride, Pad: pad}
	fanIn := in * kernel * kernel
	KaimingUniform(c.Weight.Value, fanIn, rng)
	if bias {
		c.Bias = NewParam[F](out)
		c.Bias.NoDecay = true
		KaimingUniform(c.Bias.Value, fanIn, rng)
	}
	return c
}

// Forward convolves x [N, In, H, W].
func (c *Conv2d[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	if len(x.Shape) != 4 || x.Shape[1] != c.In {
		panic(fmt.Sprintf("nn.Conv2d: input shape %v, want [N %d H W]", x.Shape, c.In))
	}
	c.shape = tensor.ConvShape{N: x.Shape[0], Cin: c.In, H: x.Shape[2], W: x.Shape[3], Cout: c.Out, KH: c.K, KW: c.K, Stride: c.Stride, Pad: c.Pad}
	ho, wo := c.shape.OutSize()
	c.y = tensor.Ensure(c.y, x.Shape[0], c.Out, ho, wo)
	var b []F
	if c.Bias != nil {
		b = c.Bias.Value.Data
	}
	tensor.Conv2dForward(c.shape, x.Data, c.Weight.Value.Data, b, c.y.Data)
	c.x = x
	return c.y
}

// Backward adds the weight and bias gradients and returns the input gradient.
func (c *Conv2d[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.Conv2d.Backward", dy, c.y)
	var dx, dw, db []F
	if !c.NoGrad {
		c.dx = tensor.Ensure(c.dx, c.x.Shape...)
		dx = c.dx.Data
	}
	if !c.Weight.Frozen {
		dw = c.Weight.Grad.Data
	}
	if c.Bias != nil && !c.Bias.Frozen {
		db = c.Bias.Grad.Data
	}
	tensor.Conv2dBackward(c.shape, c.x.Data, c.Weight.Value.Data, dy.Data, dx, dw, db)
	if c.NoGrad {
		return nil
	}
	return c.dx
}

// BackwardAdd is Backward with the input gradient added to into (a tensor of the
// input's shape) instead of stored in the layer's own: the bits of Backward followed by
// an element-wise sum, in one pass where the input gradient goes through Winograd. It
// returns into. A layer with NoGrad has no input gradient to add.
func (c *Conv2d[F]) BackwardAdd(dy, into *tensor.T[F]) *tensor.T[F] {
	tensor.MustSameShape("nn.Conv2d.BackwardAdd", dy, c.y)
	tensor.MustSameShape("nn.Conv2d.BackwardAdd", into, c.x)
	if c.NoGrad {
		panic("nn.Conv2d.BackwardAdd: the layer has NoGrad set, so no input gradient")
	}
	var dw, db []F
	if !c.Weight.Frozen {
		dw = c.Weight.Grad.Data
	}
	if c.Bias != nil && !c.Bias.Frozen {
		db = c.Bias.Grad.Data
	}
	tensor.Conv2dBackwardAdd(c.shape, c.x.Data, c.Weight.Value.Data, dy.Data, into.Data, dw, db)
	return into
}

// Params returns weight and bias.
func (c *Conv2d[F]) Params() []Named[F] {
	ps := []Named[F]{{"weight", c.Weight}}
	if c.Bias != nil {
		ps = append(ps, Named[F]{"bias", c.Bias})
	}
	return ps
}

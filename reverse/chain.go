package reverse

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/onnx"
	"github.com/frpt/frpt/tensor"
)

// Per-architecture reverse chains (spec §5): from a batch of inputs and labels, walk a
// pretrained zoo model backwards and return the reconstructed feature of every tap.

// ChainOptions configures a reverse chain.
type ChainOptions struct {
	Options
	Embedding Embedding // output target (default nearest)
	// Composite-solver damping per family (spec §4.8: ResNet 0.9, SimpleViT 0.8). Residual
	// blocks of imported models use ResNetDamping.
	ResNetDamping, ViTDamping float64
	// Imported (ONNX) models (graph.go): GraphPoolBroadcast reverses global average
	// pooling by the paper's broadcast instead of the projection used there by default;
	// GraphSolveUnchanged also runs the solvers on samples whose target equals their
	// forward output, which otherwise keep their forward input (the exact answer).
	GraphPoolBroadcast, GraphSolveUnchanged bool
}

// DefaultChainOptions returns the original code's chain settings.
func DefaultChainOptions() ChainOptions {
	return ChainOptions{Options: DefaultOptions(), Embedding: Nearest, ResNetDamping: 0.9, ViTDamping: 0.8}
}

// TapDiag is what happened at one tap of one batch.
type TapDiag struct {
	Tap       string    `json:"tap"`
	Method    string    `json:"method"`              // operator whose answer produced the tap
	RelResid  float64   `json:"rel_resid"`           // mean ‖g(x̂) − ŷ‖/‖ŷ‖ of that operator
	Fallbacks int       `json:"fallbacks"`           // Tikhonov fallbacks taken on the way
	Gap       []float64 `json:"gap"`                 // per sample ‖f − r‖/‖f‖ (f forward, r reconstructed)
	Seconds   float64   `json:"seconds"`             // time spent reversing down to this tap
	History   []float64 `json:"history,omitempty"`   // composite solver error history
	Guarded   bool      `json:"guarded,omitempty"`   // composite final guard returned the anchor
	Forward   []int     `json:"shape"`               // tap shape [N, ...]
	Extra     string    `json:"extra,omitempty"`     // free-form note
	Embedding string    `json:"embedding,omitempty"` // output embedding (out tap only)
}

// Reconstruction is the result of a chain on one batch: the reconstructed target of every
// tap (same shape as the forward tap), in the model's tap order (input side first).
type Reconstruction struct {
	Taps    []string
	Targets map[string]*tensor.T[float32]
	Diags   map[string]*TapDiag
	Logits  *tensor.T[float32]
	Forward map[string]*tensor.T[float32] // the forward feature of every tap (copies)
}

// Chain reverses one pretrained model. Build it once per weight (it caches per-weight
// factorisations) and call Run per batch. Not safe for concurrent Run calls.
type Chain struct {
	model models.Model[float32]
	opt   ChainOptions
	convs []*Conv2D // SimpleCNN convolutions (float64 copies)
	lins  map[string]linearF64
	graph *graphChain // imported models
}

type linearF64 struct {
	w, b []float64
	m, n int
}

func toF64(x []float32) []float64 { return tensor.ConvertSlice[float64](x) }

func toF32(x []float64) []float32 { return tensor.ConvertSlice[float32](x) }

func linearOf(l *nn.Linear[float32]) linearF64 {
	lf := linearF64{w: toF64(l.Weight.Value.Data), m: l.Out, n: l.In}
	if l.Bias != nil {
		lf.b = toF64(l.Bias.Value.Data)
	}
	return lf
}

// NewChain prepares the reverse chain of a zoo model (SimpleCNN, ResNet or SimpleViT) or
// of a model imported from ONNX (graph.go).
func NewChain(m models.Model[float32], opt ChainOptions) (*Chain, error) {
	if opt.Embedding == "" {
		opt.Embedding = Nearest
	}
	c := &Chain{model: m, opt: opt, lins: map[string]linearF64{}}
	switch mm := m.(type) {
	case *models.SimpleCNN[float32]:
		for _, cv := range mm.Convs {
			w := cv.Weight.Value
			rc := NewConv2D(toF64(w.Data), nil, cv.Out, cv.In, cv.K, cv.K)
			if cv.Bias != nil {
				rc.Bias = toF64(cv.Bias.Value.Data)
			}
			rc.Stride, rc.Pad = cv.Stride, cv.Pad
			c.convs = append(c.convs, rc)
		}
		c.lins["fc1"] = linearOf(mm.FC1)
		if mm.FC2 != nil {
			c.lins["fc2"] = linearOf(mm.FC2)
		}
	case *models.ResNet[float32]:
		c.lins["fc"] = linearOf(mm.FC)
	case *models.SimpleViT[float32]:
		c.lins["head"] = linearOf(mm.Head)
	case *onnx.Model[float32]:
		g, err := newGraphChain(mm, opt)
		if err != nil {
			return nil, err
		}
		c.graph = g
	default:
		return nil, fmt.Errorf("reverse.NewChain: no reverse chain for %s", m.Arch())
	}
	return c, nil
}

// Run does the forward pass (eval mode) on x [N, C, H, W] and reverses it for the labels.
func (c *Chain) Run(x *tensor.T[float32], labels []int) (*Reconstruction, error) {
	if len(labels) != x.Shape[0] {
		return nil, fmt.Errorf("reverse.Chain: %d labels for a batch of %d", len(labels), x.Shape[0])
	}
	nn.SetTraining[float32](c.model, false)
	logits := c.model.Forward(x)
	// The taps are the layers' own buffers and the composite solvers run forward passes:
	// keep copies.
	fwd := map[string]*tensor.T[float32]{}
	for k, v := range c.model.Taps() {
		if v != nil {
			fwd[k] = v.Clone()
		}
	}
	r := &Reconstruction{Taps: c.model.TapNames(), Targets: map[string]*tensor.T[float32]{}, Diags: map[string]*TapDiag{}, Logits: logits.Clone(), Forward: fwd}
	k := logits.Shape[1]
	start := time.Now()
	o, err := Targets(c.opt.Embedding, toF64(logits.Data), k, labels)
	if err != nil {
		return nil, err
	}
	c.record(r, fwd, "out", o, &TapDiag{Method: "embedding-" + string(c.opt.Embedding), Embedding: string(c.opt.Embedding)}, start)
	switch m := c.model.(type) {
	case *models.SimpleCNN[float32]:
		err = c.runSimpleCNN(m, r, fwd, o, start)
	case *models.ResNet[float32]:
		err = c.runResNet(m, r, fwd, o, start)
	case *models.SimpleViT[float32]:
		err = c.runViT(m, r, fwd, o, start)
	case *onnx.Model[float32]:
		err = c.runGraph(r, fwd, o, start)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// record stores a tap target with its gap to the forward feature.
func (c *Chain) record(r *Reconstruction, fwd map[string]*tensor.T[float32], tap string, target []float64, d *TapDiag, start time.Time) {
	f := fwd[tap]
	t := tensor.New[float32](f.Shape...)
	copy(t.Data, toF32(target))
	n := f.Shape[0]
	per := len(f.Data) / n
	d.Tap, d.Forward, d.Seconds = tap, append([]int(nil), f.Shape...), time.Since(start).Seconds()
	d.Gap = make([]float64, n)
	for s := 0; s < n; s++ {
		var num, den float64
		for j := s * per; j < (s+1)*per; j++ {
			e := float64(f.Data[j]) - target[j]
			num += e * e
			den += float64(f.Data[j]) * float64(f.Data[j])
		}
		d.Gap[s] = math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-12)
	}
	r.Targets[tap], r.Diags[tap] = t, d
}

// linear reverses a Linear layer from its forward input (anchor) and output (forward).
func (c *Chain) linear(name string, anchor, forward, target []float64) ([]float64, Diag, error) {
	l := c.lins[name]
	x, d, err := LinearFromForward(l.w, l.b, l.m, l.n, anchor, forward, target, c.opt.Options)
	if err != nil {
		return nil, d, fmt.Errorf("reverse %s: %w", name, err)
	}
	return x, d, nil
}

func (c *Chain) act(name string, z0, a []float64) ([]float64, error) {
	if name == "" {
		name = "relu"
	}
	return ReverseActivation(Activation{Name: name}, z0, a)
}

// runSimpleCNN is spec §5.1.
func (c *Chain) runSimpleCNN(m *models.SimpleCNN[float32], r *Reconstruction, fwd map[string]*tensor.T[float32], o []float64, start time.Time) error {
	L := len(m.Convs)
	act := m.Cfg.Activation
	var tP []float64 // target of the last feature map before flatten
	if m.FC2 != nil {
		aHat, d, err := c.linear("fc2", toF64(m.AFC.Data), toF64(m.Out.Data), o)
		if err != nil {
			return err
		}
		zHat, err := c.act(act, toF64(m.ZFC.Data), aHat)
		if err != nil {
			return err
		}
		c.record(r, fwd, "z"+strconv.Itoa(L+1), zHat, &TapDiag{Method: d.Method + "+act", RelResid: d.RelResid, Fallbacks: d.Fallbacks}, start)
		o = zHat
	}
	fc1Out := m.Out
	if m.FC2 != nil {
		fc1Out = m.ZFC
	}
	tP, d, err := c.linear("fc1", toF64(m.FlatOut.Data), toF64(fc1Out.Data), o)
	if err != nil {
		return err
	}
	method, resid, fallbacks := d.Method, d.RelResid, d.Fallbacks
	for i := L - 1; i >= 0; i-- {
		a := m.A[i]
		n, ch, h, w := a.Shape[0], a.Shape[1], a.Shape[2], a.Shape[3]
		aHat := tP
		if m.Pools[i] != nil {
			aHat, err = ReversePool(MaxPool, toF64(a.Data), n, ch, h, w, 2, 2, tP, 0)
			if err != nil {
				return fmt.Errorf("reverse pool %d: %w", i+1, err)
			}
			method += "+maxpool"
		}
		zHat, err := c.act(act, toF64(m.Z[i].Data), aHat)
		if err != nil {
			return err
		}
		c.record(r, fwd, "z"+strconv.Itoa(i+1), zHat, &TapDiag{Method: method + "+act", RelResid: resid, Fallbacks: fallbacks}, start)
		if i == 0 {
			break
		}
		p := m.P[i-1]
		cd := Diag{}
		tP, cd, err = c.convs[i].Reverse(toF64(p.Data), p.Shape[0], p.Shape[2], p.Shape[3], zHat, c.opt.Options)
		if err != nil {
			return fmt.Errorf("reverse conv%d: %w", i+1, err)
		}
		method, resid, fallbacks = cd.Method, cd.RelResid, cd.Fallbacks
	}
	return nil
}

// runResNet is spec §5.2.
func (c *Chain) runResNet(m *models.ResNet[float32], r *Reconstruction, fwd map[string]*tensor.T[float32], o []float64, start time.Time) error {
	z5, d, err := c.linear("fc", toF64(fwd["z5"].Data), toF64(fwd["out"].Data), o)
	if err != nil {
		return err
	}
	c.record(r, fwd, "z5", z5, &TapDiag{Method: d.Method, RelResid: d.RelResid, Fallbacks: d.Fallbacks}, start)
	z4 := fwd["z4"]
	n, ch, h, w := z4.Shape[0], z4.Shape[1], z4.Shape[2], z4.Shape[3]
	t4, err := ReverseGlobalAvgPool(toF64(z4.Data), n, ch, h, w, z5, c.opt.GlobalPoolProjection)
	if err != nil {
		return err
	}
	method := "globalpool-broadcast"
	if c.opt.GlobalPoolProjection {
		method = "globalpool-projection"
	}
	c.record(r, fwd, "z4", t4, &TapDiag{Method: method}, start)
	target := tensor.New[float32](z4.Shape...)
	copy(target.Data, toF32(t4))
	anchors := make([][]*tensor.T[float32], 4)
	for s := range anchors {
		for _, b := range m.BlockIn[s] {
			anchors[s] = append(anchors[s], b.Clone())
		}
	}
	opt := c.opt.Options
	opt.CompositeDamping = c.opt.ResNetDamping
	for s := 3; s >= 0; s-- {
		blocks := m.Stages[s].Children
		td := &TapDiag{Method: "composite"}
		for b := len(blocks) - 1; b >= 0; b-- {
			z, res, err := Composite[float32](blocks[b], anchors[s][b], target, opt)
			if err != nil {
				return fmt.Errorf("reverse layer%d.%d: %w", s+1, b, err)
			}
			td.Method = "composite-" + res.Method
			td.History = append(td.History, res.History...)
			td.Guarded = td.Guarded || res.Guarded
			if len(res.History) > 0 {
				td.RelResid = res.History[len(res.History)-1]
			}
			target = z
		}
		c.record(r, fwd, "z"+strconv.Itoa(s), toF64(target.Data), td, start)
	}
	return nil
}

// runViT is spec §5.3.
func (c *Chain) runViT(m *models.SimpleViT[float32], r *Reconstruction, fwd map[string]*tensor.T[float32], o []float64, start time.Time) error {
	depth := len(m.Blocks)
	cls := fwd["z"+strconv.Itoa(depth+1)]
	zc, d, err := c.linear("head", toF64(cls.Data), toF64(fwd["out"].Data), o)
	if err != nil {
		return err
	}
	c.record(r, fwd, "z"+strconv.Itoa(depth+1), zc, &TapDiag{Method: d.Method, RelResid: d.RelResid, Fallbacks: d.Fallbacks}, start)
	last := fwd["z"+strconv.Itoa(depth)]
	n, l, dm := last.Shape[0], last.Shape[1], last.Shape[2]
	target := last.Clone()
	for i := 0; i < n; i++ {
		for j := 0; j < dm; j++ {
			target.Data[i*l*dm+j] = float32(zc[i*dm+j])
		}
	}
	c.record(r, fwd, "z"+strconv.Itoa(depth), toF64(target.Data), &TapDiag{Method: "cls-replace"}, start)
	anchors := make([]*tensor.T[float32], depth)
	for i := range anchors {
		anchors[i] = fwd["z"+strconv.Itoa(i)].Clone()
	}
	opt := c.opt.Options
	opt.CompositeDamping = c.opt.ViTDamping
	for i := depth; i >= 1; i-- {
		z, res, err := Composite[float32](m.Blocks[i-1], anchors[i-1], target, opt)
		if err != nil {
			return fmt.Errorf("reverse block%d: %w", i, err)
		}
		td := &TapDiag{Method: "composite-" + res.Method, History: res.History, Guarded: res.Guarded}
		if len(res.History) > 0 {
			td.RelResid = res.History[len(res.History)-1]
		}
		c.record(r, fwd, "z"+strconv.Itoa(i-1), toF64(z.Data), td, start)
		target = z
	}
	return nil
}

package models

import (
	"fmt"
	"strconv"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// ViTConfig describes the SimpleViT of spec §5.3.
type ViTConfig struct {
	Dataset    string
	InCh, Size int
	Patch      int
	D, Depth   int
	Heads      int
	Hidden     int // MLP width
	Classes    int
	PreLN      bool // pre-LayerNorm blocks (the "v2" variant), LN eps 1e-6
}

// ViTFor returns the spec's SimpleViT for a dataset: D 192, depth 9, 12 heads, MLP 384;
// patch 4 for 28/32-pixel inputs, 8 for 64, 16 for 224.
func ViTFor(dataset string, preLN bool) (ViTConfig, error) {
	shape, err := data.InputShape(dataset)
	if err != nil {
		return ViTConfig{}, err
	}
	k, _ := data.NumClasses(dataset)
	p := map[int]int{28: 4, 32: 4, 64: 8, 224: 16}[shape[1]]
	return ViTConfig{Dataset: dataset, InCh: shape[0], Size: shape[1], Patch: p, D: 192, Depth: 9, Heads: 12, Hidden: 384, Classes: k, PreLN: preLN}, nil
}

// Block is a transformer block without normalisation (u = x + MHA(x); y = u + MLP(u)) or,
// with LN1/LN2 set, the pre-LN block (u = x + MHA(LN1 x); y = u + MLP(LN2 u)). MLP is
// FC2(GELU(FC1 ·)).
type Block[F tensor.Float] struct {
	LN1, LN2     *nn.LayerNorm[F]
	Attn         *nn.MultiheadAttention[F]
	FC1, FC2     *nn.Linear[F]
	Act          *nn.GELU[F]
	u, y, du, dx *tensor.T[F]
}

// NewBlock returns a block of width d with Xavier-uniform Linear weights and zero biases.
func NewBlock[F tensor.Float](d, heads, hidden int, preLN bool, seed uint64) *Block[F] {
	rng := nn.NewRand(seed)
	b := &Block[F]{Attn: nn.NewMultiheadAttention[F](d, heads, rng), FC1: nn.NewLinear[F](d, hidden, true, rng),
		FC2: nn.NewLinear[F](hidden, d, true, rng), Act: nn.NewGELU[F]()}
	for _, l := range []*nn.Linear[F]{b.FC1, b.FC2, b.Attn.OutProj} {
		nn.XavierUniform(l.Weight.Value, l.In, l.Out, rng)
		l.Bias.Value.Zero()
	}
	if preLN {
		b.LN1, b.LN2 = nn.NewLayerNorm[F](d, 1e-6), nn.NewLayerNorm[F](d, 1e-6)
	}
	return b
}

// Forward applies the block to tokens [N, L, D].
func (b *Block[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	h := x
	if b.LN1 != nil {
		h = b.LN1.Forward(x)
	}
	a := b.Attn.Forward(h)
	b.u = tensor.Ensure(b.u, x.Shape...)
	tensor.Add(x.Data, a.Data, b.u.Data)
	h = b.u
	if b.LN2 != nil {
		h = b.LN2.Forward(b.u)
	}
	m := b.FC2.Forward(b.Act.Forward(b.FC1.Forward(h)))
	b.y = tensor.Ensure(b.y, x.Shape...)
	tensor.Add(b.u.Data, m.Data, b.y.Data)
	return b.y
}

// Backward returns the input gradient through both residual branches. The layers'
// input gradients are released as soon as the next layer has consumed them, so the
// blocks of a model share those buffers (only du and the returned gradient are the
// block's own).
func (b *Block[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	g := b.Act.Backward(b.FC2.Backward(dy))
	b.FC2.ReleaseGrad()
	dm := b.FC1.Backward(g)
	b.Act.ReleaseGrad()
	release := b.FC1.ReleaseGrad
	if b.LN2 != nil {
		dm = b.LN2.Backward(dm)
		b.FC1.ReleaseGrad()
		release = b.LN2.ReleaseGrad
	}
	b.du = tensor.Ensure(b.du, dy.Shape...)
	du := b.du
	tensor.Add(dy.Data, dm.Data, du.Data)
	release()
	da := b.Attn.Backward(du)
	release = b.Attn.ReleaseGrad
	if b.LN1 != nil {
		da = b.LN1.Backward(da)
		b.Attn.ReleaseGrad()
		release = b.LN1.ReleaseGrad
	}
	b.dx = tensor.Ensure(b.dx, dy.Shape...)
	tensor.Add(du.Data, da.Data, b.dx.Data)
	release()
	return b.dx
}

// Params: attn.*, fc1.*, fc2.* (and norm1.*, norm2.* for pre-LN).
func (b *Block[F]) Params() []nn.Named[F] {
	var ps []nn.Named[F]
	if b.LN1 != nil {
		ps = append(ps, nn.Prefix("norm1", b.LN1.Params())...)
	}
	ps = append(ps, nn.Prefix("attn", b.Attn.Params())...)
	if b.LN2 != nil {
		ps = append(ps, nn.Prefix("norm2", b.LN2.Params())...)
	}
	ps = append(ps, nn.Prefix("fc1", b.FC1.Params())...)
	return append(ps, nn.Prefix("fc2", b.FC2.Params())...)
}

// TokenEmbed is the patch projection followed by CLS token and positional embedding.
type TokenEmbed[F tensor.Float] struct {
	Proj   *nn.PatchEmbed[F]
	ClsPos *nn.ClsPos[F]
}

// Forward embeds images [N, C, H, W] as tokens [N, L+1, D].
func (t *TokenEmbed[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	return t.ClsPos.Forward(t.Proj.Forward(x))
}

// Backward returns nil (the embedding is the first layer).
func (t *TokenEmbed[F]) Backward(dy *tensor.T[F]) *tensor.T[F] {
	return t.Proj.Backward(t.ClsPos.Backward(dy))
}

// Params: proj.weight, proj.bias, cls_token, pos_embed.
func (t *TokenEmbed[F]) Params() []nn.Named[F] {
	return append(nn.Prefix("proj", t.Proj.Params()), t.ClsPos.Params()...)
}

// SimpleViT is the paper's ViT. Taps: z0 embedded tokens, z1…z_depth block outputs,
// z_{depth+1} the CLS vector of the last block, out logits.
type SimpleViT[F tensor.Float] struct {
	Cfg    ViTConfig
	Embed  *TokenEmbed[F]
	Blocks []*Block[F]
	Head   *nn.Linear[F]
	Z      []*tensor.T[F] // z0 … z_depth of the last Forward (block i's input is Z[i-1])
	CLS    *tensor.T[F]
	Out    *tensor.T[F]

	cls clsToken[F]
	seg []layerOp[F] // layers run by the last ForwardSegment, for BackwardSegment
}

// clsToken selects the class token (position 0) of [N, L, D] tokens as [N, D]; its
// backward scatters the gradient back into zero token gradients.
type clsToken[F tensor.Float] struct {
	l       int
	out, dx *tensor.T[F]
}

func (c *clsToken[F]) Forward(h *tensor.T[F]) *tensor.T[F] {
	n, l, d := h.Shape[0], h.Shape[1], h.Shape[2]
	c.l = l
	c.out = tensor.Ensure(c.out, n, d)
	for i := 0; i < n; i++ {
		copy(c.out.Data[i*d:(i+1)*d], h.Data[i*l*d:i*l*d+d])
	}
	return c.out
}

func (c *clsToken[F]) Backward(g *tensor.T[F]) *tensor.T[F] {
	n, d := g.Shape[0], g.Shape[1]
	c.dx = tensor.Ensure(c.dx, n, c.l, d)
	c.dx.Zero()
	for i := 0; i < n; i++ {
		copy(c.dx.Data[i*c.l*d:i*c.l*d+d], g.Data[i*d:(i+1)*d])
	}
	return c.dx
}

func (c *clsToken[F]) Params() []nn.Named[F] { return nil }

// NewSimpleViT builds a SimpleViT (patch projection Xavier with zero bias, CLS/pos
// N(0, 0.02²), Linear weights Xavier with zero bias).
func NewSimpleViT[F tensor.Float](cfg ViTConfig, seed uint64) *SimpleViT[F] {
	rng := nn.NewRand(seed)
	tokens := (cfg.Size / cfg.Patch) * (cfg.Size / cfg.Patch)
	pe := nn.NewPatchEmbed[F](cfg.InCh, cfg.D, cfg.Patch, rng)
	nn.XavierUniform(pe.Weight.Value, cfg.InCh*cfg.Patch*cfg.Patch, cfg.D*cfg.Patch*cfg.Patch, rng)
	pe.Bias.Value.Zero()
	pe.NoGrad = true
	m := &SimpleViT[F]{Cfg: cfg, Embed: &TokenEmbed[F]{Proj: pe, ClsPos: nn.NewClsPos[F](tokens, cfg.D, rng)}}
	for i := 0; i < cfg.Depth; i++ {
		m.Blocks = append(m.Blocks, NewBlock[F](cfg.D, cfg.Heads, cfg.Hidden, cfg.PreLN, seed*1000+uint64(i)+1))
	}
	m.Head = nn.NewLinear[F](cfg.D, cfg.Classes, true, rng)
	nn.XavierUniform(m.Head.Weight.Value, cfg.D, cfg.Classes, rng)
	m.Head.Bias.Value.Zero()
	return m
}

// Forward computes the logits from the CLS token of the last block.
func (m *SimpleViT[F]) Forward(x *tensor.T[F]) *tensor.T[F] {
	h := m.Embed.Forward(x)
	m.Z = append(m.Z[:0], h)
	for _, b := range m.Blocks {
		h = b.Forward(h)
		m.Z = append(m.Z, h)
	}
	m.CLS = m.cls.Forward(h)
	m.Out = m.Head.Forward(m.CLS)
	return m.Out
}

// Backward is BackwardTaps without tap gradients.
func (m *SimpleViT[F]) Backward(dy *tensor.T[F]) *tensor.T[F] { return m.BackwardTaps(dy, nil) }

// BackwardTaps backpropagates with tap gradients added; it stops below the lowest block
// with trainable parameters or a pending tap gradient. A nil dOut starts the pass at the
// highest tap gradient (after ForwardTo).
func (m *SimpleViT[F]) BackwardTaps(dOut *tensor.T[F], tg map[string]*tensor.T[F]) *tensor.T[F] {
	depth := len(m.Blocks)
	g := addGrad(dOut, tg["out"])
	if g != nil {
		g = m.Head.Backward(g)
	}
	if g = addGrad(g, tg["z"+strconv.Itoa(depth+1)]); g != nil {
		g = m.cls.Backward(g)
	}
	for i := depth; i >= 1; i-- {
		g = addGrad(g, tg["z"+strconv.Itoa(i)])
		if !m.needBelow(i, tg) {
			return nil
		}
		if g != nil {
			g = m.Blocks[i-1].Backward(g)
		}
	}
	g = addGrad(g, tg["z0"])
	if g == nil || !trainable(m.Embed.Params()) {
		return nil
	}
	return m.Embed.Backward(g)
}

// needBelow reports whether block i or anything before it needs a gradient.
func (m *SimpleViT[F]) needBelow(i int, tg map[string]*tensor.T[F]) bool {
	if trainable(m.Embed.Params()) || tg["z0"] != nil {
		return true
	}
	for k := 1; k <= i; k++ {
		if trainable(m.Blocks[k-1].Params()) || (k < i && tg["z"+strconv.Itoa(k)] != nil) {
			return true
		}
	}
	return false
}

// Taps returns z0…z_depth, z_{depth+1} (CLS) and out.
func (m *SimpleViT[F]) Taps() map[string]*tensor.T[F] {
	t := map[string]*tensor.T[F]{"out": m.Out, "z" + strconv.Itoa(len(m.Blocks)+1): m.CLS}
	for i, z := range m.Z {
		t["z"+strconv.Itoa(i)] = z
	}
	return t
}

// TapNames lists z0…z_{depth+1}, out.
func (m *SimpleViT[F]) TapNames() []string {
	var n []string
	for i := 0; i <= len(m.Blocks)+1; i++ {
		n = append(n, "z"+strconv.Itoa(i))
	}
	return append(n, "out")
}

// ChildNames: token_embed, block1…block_depth, head.
func (m *SimpleViT[F]) ChildNames() []string {
	n := []string{"token_embed"}
	for i := range m.Blocks {
		n = append(n, "block"+strconv.Itoa(i+1))
	}
	return append(n, "head")
}

// Children in ChildNames order.
func (m *SimpleViT[F]) Children() []nn.Module[F] {
	c := []nn.Module[F]{m.Embed}
	for _, b := range m.Blocks {
		c = append(c, b)
	}
	return append(c, m.Head)
}

// SplitIndex: out depth+2, z_{depth+1} and z_depth depth+1, z_i → i+1 (spec §5.3).
func (m *SimpleViT[F]) SplitIndex(tap string) (int, error) {
	depth := len(m.Blocks)
	s := map[string]int{"out": depth + 2, "z" + strconv.Itoa(depth+1): depth + 1}
	for i := 0; i <= depth; i++ {
		s["z"+strconv.Itoa(i)] = i + 1
	}
	return splitIndex(m.Arch(), s, tap)
}

// Params lists token_embed.*, block1.* …, head.*.
func (m *SimpleViT[F]) Params() []nn.Named[F] { return namedChildren(m.ChildNames(), m.Children()) }

// Arch is simplevit or simplevit-preln.
func (m *SimpleViT[F]) Arch() string {
	if m.Cfg.PreLN {
		return "simplevit-preln"
	}
	return "simplevit"
}

// Config describes the model for checkpoint metadata.
func (m *SimpleViT[F]) Config() map[string]string {
	return map[string]string{"dataset": m.Cfg.Dataset, "patch": strconv.Itoa(m.Cfg.Patch), "d": strconv.Itoa(m.Cfg.D),
		"depth": strconv.Itoa(m.Cfg.Depth), "heads": fmt.Sprint(m.Cfg.Heads), "hidden": strconv.Itoa(m.Cfg.Hidden)}
}

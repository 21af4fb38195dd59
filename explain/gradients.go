package explain

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/tensor"
)

// Gradients of output scores with respect to the input (saliency) and to a tap's
// feature (Grad-CAM), by the zoo models' own backward passes over their segments, with
// the model in eval mode and every parameter frozen (no parameter gradients).

// segmented returns m as a Segmented model in eval mode with its parameters frozen, and
// a function that restores the parameters' Frozen flags and the first layer's input
// gradient.
func segmented(m models.Model[float32], inputGrad bool) (models.Segmented[float32], func(), error) {
	sm, ok := m.(models.Segmented[float32])
	if !ok {
		return nil, nil, fmt.Errorf("explain: %s cannot run its segments (no gradient maps)", m.Arch())
	}
	nn.SetTraining[float32](m, false)
	ps := m.Params()
	frozen := make([]bool, len(ps))
	for i, p := range ps {
		frozen[i] = p.P.Frozen
		p.P.Frozen = true
	}
	was := false
	if inputGrad {
		var err error
		if was, err = models.SetInputGrad(m, true); err != nil {
			return nil, nil, err
		}
	}
	return sm, func() {
		for i, p := range ps {
			p.P.Frozen = frozen[i]
		}
		if inputGrad {
			_, _ = models.SetInputGrad(m, was) // it succeeded above
		}
	}, nil
}

// InputGradients returns ∂s/∂x for len(seeds) scores at once: seeds[k] is ∂s_k/∂o [n, K]
// (the score's gradient with respect to the logits), x the model input [n, C, H, W]. The
// k copies of the batch run as one forward and one backward pass; the result is
// [k][n·C·H·W].
func InputGradients(m models.Model[float32], x *tensor.T[float32], seeds [][]float32) ([][]float32, error) {
	sm, restore, err := segmented(m, true)
	if err != nil {
		return nil, err
	}
	defer restore()
	n, per := x.Shape[0], x.Numel()/x.Shape[0]
	k := len(seeds)
	shape := append([]int{k * n}, x.Shape[1:]...)
	big := tensor.New[float32](shape...)
	for i := 0; i < k; i++ {
		copy(big.Data[i*n*per:], x.Data)
	}
	out, err := sm.ForwardSegment(big, "in", "out")
	if err != nil {
		return nil, err
	}
	nk := out.Shape[1]
	dOut := tensor.New[float32](k*n, nk)
	for i, s := range seeds {
		if len(s) != n*nk {
			return nil, fmt.Errorf("explain.InputGradients: seed %d has %d values for %d×%d logits", i, len(s), n, nk)
		}
		copy(dOut.Data[i*n*nk:], s)
	}
	dx := sm.BackwardSegment(dOut, true)
	if dx == nil {
		return nil, fmt.Errorf("explain: %s returned no input gradient", m.Arch())
	}
	res := make([][]float32, k)
	for i := range res {
		res[i] = append([]float32(nil), dx.Data[i*n*per:(i+1)*n*per]...)
	}
	return res, nil
}

// TapGradient returns ∂s/∂f at a tap for the feature f [n, …] of that tap and the score
// gradient seed ∂s/∂o [n, K], by running the model's segment from the tap to the output.
func TapGradient(m models.Model[float32], tap string, f *tensor.T[float32], seed []float32) ([]float32, error) {
	if tap == "out" {
		return append([]float32(nil), seed...), nil
	}
	sm, restore, err := segmented(m, false)
	if err != nil {
		return nil, err
	}
	defer restore()
	out, err := sm.ForwardSegment(f, tap, "out")
	if err != nil {
		return nil, err
	}
	if len(seed) != out.Numel() {
		return nil, fmt.Errorf("explain.TapGradient: seed of %d values for logits %v", len(seed), out.Shape)
	}
	g := sm.BackwardSegment(tensor.FromData(append([]float32(nil), seed...), out.Shape...), true)
	if g == nil {
		return nil, fmt.Errorf("explain: %s returned no gradient at tap %s", m.Arch(), tap)
	}
	return append([]float32(nil), g.Data...), nil
}

// ScoreSeeds returns ∂s/∂o for the three scores of spec §8 item 4, for logits o and
// output targets ô = E(o, y) ([n, K] each): s = D_label = ô_label − o_label (diff),
// s = ô_label (recons) and s = o_pred (forward). ∂ô_label/∂o is the embedding's
// Jacobian row, exact for its piecewise-linear closed forms: nearest — e_label if the
// label already wins, else the mean (e_label + Σ_S e_j)/(|S| + 1) over the competitors S
// set to the label's level; max-assign — e_argmax while ô_label = max o (not clamped),
// else 0; one-hot — 0.
func ScoreSeeds(emb reverse.Embedding, logits, targets []float32, k int, labels, preds []int) (diff, recons, fwd []float32, err error) {
	n := len(labels)
	diff, recons, fwd = make([]float32, n*k), make([]float32, n*k), make([]float32, n*k)
	for i, t := range labels {
		o, oh := logits[i*k:(i+1)*k], targets[i*k:(i+1)*k]
		r := recons[i*k : (i+1)*k]
		switch emb {
		case reverse.Nearest, "":
			if oh[t] == o[t] {
				r[t] = 1
				break
			}
			var set []int
			for j := range oh {
				if oh[j] == oh[t] {
					set = append(set, j) // the label and its competitors S, all at the level
				}
			}
			for _, j := range set {
				r[j] = 1 / float32(len(set))
			}
		case reverse.MaxAssign:
			arg := 0
			for j, v := range o {
				if v > o[arg] {
					arg = j
				}
			}
			if oh[t] == o[arg] {
				r[arg] = 1
			}
		case reverse.OneHot:
		default:
			return nil, nil, nil, fmt.Errorf("explain: unknown embedding %q", emb)
		}
		d := diff[i*k : (i+1)*k]
		copy(d, r)
		d[t]--
		fwd[i*k+preds[i]] = 1
	}
	return diff, recons, fwd, nil
}

// ChannelMaxAbs reduces input gradients [n, C, H, W] to saliency maps [n, H, W]:
// max over channels of |g|.
func ChannelMaxAbs(g []float32, n, c, hw int) []float32 {
	out := make([]float32, n*hw)
	for i := 0; i < n; i++ {
		o := out[i*hw : (i+1)*hw]
		for ch := 0; ch < c; ch++ {
			for p, v := range g[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				o[p] = float32(math.Max(float64(o[p]), math.Abs(float64(v))))
			}
		}
	}
	return out
}

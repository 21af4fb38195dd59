package explain

import (
	"fmt"
	"math"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/tensor"
)

// The three maps of each family, in this order everywhere (tensor names, panels, JSON).
const (
	MapDiff    = 0 // difference-driven: D = r − f (CAM) or s = D_label (saliency)
	MapRecons  = 1 // reconstruction: r (CAM) or s = ô_label (saliency)
	MapForward = 2 // forward: f (CAM) or s = o_pred (saliency)
)

// MapNames are the suffixes of the three maps: cam_diff, cam_recons, cam_forward, ….
var MapNames = [3]string{"diff", "recons", "forward"}

// Stats are the per-sample statistics of D = r − f at the tap (the authors' explainability
// records: mean, mean |D|, min, max) and the tap gap ‖f − r‖/‖f‖.
type Stats struct {
	Mean    float64 `json:"mean"`
	MeanAbs float64 `json:"mean_abs"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Gap     float64 `json:"gap"`
}

// Maps holds what explain computes for n samples at one tap, struct-of-arrays in the
// layouts of maps.safetensors (row-major, sample first).
type Maps struct {
	Tap      string
	TapShape []int // one sample's shape at the tap
	Grid     Grid  // how the tap is read as channels over a grid
	C, H, W  int   // input shape
	K        int   // classes

	Index, Label, Pred []int
	Input              []float32    // [n, C, H, W], as fed to the model
	Forward, Recons    []float32    // [n, TapShape…]
	Diff               []float32    // recons − forward
	Logits, Targets    []float32    // [n, K]: o and the output target ô
	CAM                [3][]float32 // diff, recons, forward CAMs [n, Grid.H, Grid.W]
	CAMUp              [3][]float32 // the CAMs upsampled to [n, H, W], min–max normalised
	Saliency           [3][]float32 // max_channel |∂s/∂x| [n, H, W] for s = D_label, ô_label, o_pred
	Stats              []Stats
}

// N is the number of samples.
func (m *Maps) N() int { return len(m.Label) }

// Compute derives the maps of one batch from its reconstruction (reverse.Chain.Run on
// x [n, C, H, W] with labels; rec.Forward holds the forward taps): D, the CAMs and their
// upsampled versions at tap, and the saliency maps of the output scores. index gives the
// samples' dataset indices. model is the network the chain ran (used for the gradients).
func Compute(model models.Model[float32], rec *reverse.Reconstruction, emb reverse.Embedding, x *tensor.T[float32], labels, index []int, tap string) (*Maps, error) {
	f, ok := rec.Forward[tap]
	r := rec.Targets[tap]
	if !ok || r == nil {
		return nil, fmt.Errorf("explain: %s has no tap %q (taps: %v)", model.Arch(), tap, rec.Taps)
	}
	n := x.Shape[0]
	if len(labels) != n || len(index) != n || f.Shape[0] != n {
		return nil, fmt.Errorf("explain.Compute: %d images, %d labels, %d indices, tap batch %d", n, len(labels), len(index), f.Shape[0])
	}
	g, err := GridOf(f.Shape[1:])
	if err != nil {
		return nil, fmt.Errorf("explain: tap %s: %w", tap, err)
	}
	k := rec.Logits.Shape[1]
	mp := &Maps{Tap: tap, TapShape: append([]int(nil), f.Shape[1:]...), Grid: g, C: x.Shape[1], H: x.Shape[2], W: x.Shape[3], K: k,
		Index: append([]int(nil), index...), Label: append([]int(nil), labels...), Pred: tensor.ArgmaxRows(rec.Logits.Data, k),
		Input: append([]float32(nil), x.Data...), Forward: append([]float32(nil), f.Data...), Recons: append([]float32(nil), r.Data...),
		Logits: append([]float32(nil), rec.Logits.Data...), Targets: append([]float32(nil), rec.Targets["out"].Data...)}
	mp.Diff = make([]float32, len(mp.Forward))
	for i, v := range mp.Recons {
		mp.Diff[i] = v - mp.Forward[i]
	}
	mp.cams()
	mp.Stats = make([]Stats, n)
	for i := range mp.Stats {
		mp.Stats[i] = diffStats(mp.Forward[i*g.Size():(i+1)*g.Size()], mp.Recons[i*g.Size():(i+1)*g.Size()])
	}
	seeds := make([][]float32, 3)
	seeds[MapDiff], seeds[MapRecons], seeds[MapForward], err = ScoreSeeds(emb, mp.Logits, mp.Targets, k, mp.Label, mp.Pred)
	if err != nil {
		return nil, err
	}
	grads, err := InputGradients(model, x, seeds)
	if err != nil {
		return nil, err
	}
	for s := range mp.Saliency {
		mp.Saliency[s] = ChannelMaxAbs(grads[s], n, mp.C, mp.H*mp.W)
	}
	return mp, nil
}

// cams fills CAM and CAMUp from Forward and Recons.
func (m *Maps) cams() {
	g, n := m.Grid, m.N()
	hw, HW := g.H*g.W, m.H*m.W
	for s := range m.CAM {
		m.CAM[s] = make([]float32, n*hw)
		m.CAMUp[s] = make([]float32, n*HW)
	}
	var f, r, d, cam, up []float64
	for i := 0; i < n; i++ {
		f = g.Channels(f, m.Forward[i*g.Size():(i+1)*g.Size()])
		r = g.Channels(r, m.Recons[i*g.Size():(i+1)*g.Size()])
		d = grow(d, len(f))
		for j := range d {
			d[j] = r[j] - f[j]
		}
		for s := range m.CAM {
			switch s {
			case MapDiff:
				cam = DiffCAM(cam, f, d, g.C, hw)
			case MapRecons:
				cam = SelfCAM(cam, r, g.C, hw)
			case MapForward:
				cam = SelfCAM(cam, f, g.C, hw)
			}
			toF32(m.CAM[s][i*hw:(i+1)*hw], cam)
			up = Upsample(up, cam, g.H, g.W, m.H, m.W)
			MinMax(up)
			toF32(m.CAMUp[s][i*HW:(i+1)*HW], up)
		}
	}
}

func toF32(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// diffStats is Stats of D = r − f for one sample.
func diffStats(f, r []float32) Stats {
	st := Stats{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, abs, num, den float64
	for i, fv := range f {
		d := float64(r[i]) - float64(fv)
		sum += d
		abs += math.Abs(d)
		st.Min, st.Max = min(st.Min, d), max(st.Max, d)
		num += d * d
		den += float64(fv) * float64(fv)
	}
	n := float64(len(f))
	st.Mean, st.MeanAbs = sum/n, abs/n
	st.Gap = math.Sqrt(num) / math.Max(math.Sqrt(den), 1e-12)
	return st
}

// Append adds b's samples after m's (same tap and shapes).
func (m *Maps) Append(b *Maps) error {
	if m.Tap != b.Tap || m.Grid != b.Grid || m.C != b.C || m.H != b.H || m.W != b.W || m.K != b.K {
		return fmt.Errorf("explain: cannot append maps of tap %s %v to tap %s %v", b.Tap, b.TapShape, m.Tap, m.TapShape)
	}
	m.Index, m.Label, m.Pred = append(m.Index, b.Index...), append(m.Label, b.Label...), append(m.Pred, b.Pred...)
	m.Input, m.Forward, m.Recons, m.Diff = append(m.Input, b.Input...), append(m.Forward, b.Forward...), append(m.Recons, b.Recons...), append(m.Diff, b.Diff...)
	m.Logits, m.Targets = append(m.Logits, b.Logits...), append(m.Targets, b.Targets...)
	for s := range m.CAM {
		m.CAM[s], m.CAMUp[s], m.Saliency[s] = append(m.CAM[s], b.CAM[s]...), append(m.CAMUp[s], b.CAMUp[s]...), append(m.Saliency[s], b.Saliency[s]...)
	}
	m.Stats = append(m.Stats, b.Stats...)
	return nil
}

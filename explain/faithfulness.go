package explain

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// Faithfulness of a saliency map (Petsiuk et al.'s deletion and insertion curves): the
// input pixels are removed from the image (deletion) or inserted into a blank one
// (insertion) in order of the map's score, in equal steps, and the softmax probability
// of the label is recorded after each step. A faithful map makes the probability fall
// fast on deletion (small area under the curve) and rise fast on insertion (large area).

// FaithMapNames are the six maps compared: the four FR-PT maps of spec §8 (the three
// CAMs at the tap, upsampled, and the difference-driven saliency s = D_label), Grad-CAM
// on the same tap, and a seeded random map.
var FaithMapNames = []string{"cam_diff", "cam_recons", "cam_forward", "saliency_diff", "gradcam", "random"}

// FaithOptions configures the curves.
type FaithOptions struct {
	Steps int // the curves have Steps + 1 points: 0, 1/Steps, …, 1 of the pixels (20: 5 % steps)
	// Baseline is the value per input channel that removed pixels take, in the model's
	// input space (the dataset mean, i.e. 0 after the dataset's normalisation).
	Baseline []float32
	Seed     uint64 // the random map and the order of tied scores
	// ObjectThreshold splits object from background pixels for the mass ratio: a pixel
	// whose raw value (in [0, 1], mean over channels) exceeds it is object (0.5 for MNIST).
	ObjectThreshold float64
}

// FaithSample is the result for one sample: per map (FaithMapNames order) the two
// curves, their areas and the map's mass ratio on object against background.
type FaithSample struct {
	Index, Label, Pred int
	Deletion           [][]float64 // [map][step]
	Insertion          [][]float64
	DeletionAUC        []float64 // [map]
	InsertionAUC       []float64
	MassRatio          []float64 // Σ_object m / Σ_background m (NaN where undefined)
	DensityRatio       []float64 // mean_object m / mean_background m (1: no preference)
}

// FaithMaps returns the six maps of FaithMapNames for a batch ([map][n·H·W], each sample's
// map in [0, 1]): the FR-PT CAMs as in CAMUp, the saliency min–max normalised, Grad-CAM
// (w_c = mean_hw ∂o_label/∂f_c) upsampled and normalised like the CAMs, and uniform
// random values (seeded by opt.Seed and the sample's dataset index).
func FaithMaps(model models.Model[float32], m *Maps, seed uint64) ([][]float32, error) {
	if !m.Grid.Spatial() {
		return nil, fmt.Errorf("faithfulness needs a tap with a spatial map (Grad-CAM and the CAMs of tap %s have one cell)", m.Tap)
	}
	n, HW := m.N(), m.H*m.W
	sal := append([]float32(nil), m.Saliency[MapDiff]...)
	var buf []float64
	for i := 0; i < n; i++ {
		buf = normalizeInto(buf, sal[i*HW:(i+1)*HW])
	}
	gc, err := m.GradCAMUp(model)
	if err != nil {
		return nil, err
	}
	rnd := make([]float32, n*HW)
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(seed^0x7a4d0e, uint64(m.Index[i])))
		for p := range HW {
			rnd[i*HW+p] = rng.Float32()
		}
	}
	return [][]float32{m.CAMUp[MapDiff], m.CAMUp[MapRecons], m.CAMUp[MapForward], sal, gc, rnd}, nil
}

// normalizeInto min–max normalises the float32 map x in place (through buf).
func normalizeInto(buf []float64, x []float32) []float64 {
	buf = grow(buf, len(x))
	for p, v := range x {
		buf[p] = float64(v)
	}
	MinMax(buf)
	toF32(x, buf)
	return buf
}

// GradCAMUp is Grad-CAM of the label's logit at the maps' tap, upsampled to the input
// and min–max normalised per sample ([n, H, W]).
func (m *Maps) GradCAMUp(model models.Model[float32]) ([]float32, error) {
	n, g := m.N(), m.Grid
	seed := make([]float32, n*m.K)
	for i, y := range m.Label {
		seed[i*m.K+y] = 1
	}
	f := tensor.FromData(append([]float32(nil), m.Forward...), append([]int{n}, m.TapShape...)...)
	grad, err := TapGradient(model, m.Tap, f, seed)
	if err != nil {
		return nil, err
	}
	hw, HW := g.H*g.W, m.H*m.W
	out := make([]float32, n*HW)
	var fc, gc, cam, up []float64
	for i := 0; i < n; i++ {
		fc = g.Channels(fc, m.Forward[i*g.Size():(i+1)*g.Size()])
		gc = g.Channels(gc, grad[i*g.Size():(i+1)*g.Size()])
		cam = GradCAM(cam, fc, gc, g.C, hw)
		up = Upsample(up, cam, g.H, g.W, m.H, m.W)
		MinMax(up)
		toF32(out[i*HW:(i+1)*HW], up)
	}
	return out, nil
}

// Faithfulness runs the deletion and insertion curves of maps ([map][n·H·W], from
// FaithMaps) on the batch m and measures each map's mass on the object: raw is the
// batch's un-normalised images [n, C, H, W] in [0, 1]. Tied scores are ordered by a
// permutation seeded by opt.Seed and the sample's dataset index, the same for every map,
// so a constant map behaves like a random one.
func Faithfulness(model models.Model[float32], m *Maps, maps [][]float32, raw []float32, opt FaithOptions) ([]FaithSample, error) {
	n, c, HW := m.N(), m.C, m.H*m.W
	if opt.Steps < 1 {
		return nil, fmt.Errorf("explain.Faithfulness: %d steps", opt.Steps)
	}
	if len(opt.Baseline) != c {
		return nil, fmt.Errorf("explain.Faithfulness: baseline of %d channels for %d-channel inputs", len(opt.Baseline), c)
	}
	nn.SetTraining[float32](model, false)
	orders := make([][][]int, len(maps)) // [map][sample] pixel order, highest score first
	for k, mp := range maps {
		if len(mp) != n*HW {
			return nil, fmt.Errorf("explain.Faithfulness: map %d has %d values for %d×%d pixels", k, len(mp), n, HW)
		}
		orders[k] = make([][]int, n)
	}
	for i := 0; i < n; i++ {
		tie := rand.New(rand.NewPCG(opt.Seed, uint64(m.Index[i]))).Perm(HW)
		for k, mp := range maps {
			orders[k][i] = rankPixels(mp[i*HW:(i+1)*HW], tie)
		}
	}
	base := make([]float32, n*c*HW)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			for p := range HW {
				base[(i*c+ch)*HW+p] = opt.Baseline[ch]
			}
		}
	}
	prob := func(x []float32) []float64 { return labelProbs(model, x, m) }
	pFull, pBase := prob(m.Input), prob(base)
	res := make([]FaithSample, n)
	for i := range res {
		res[i] = FaithSample{Index: m.Index[i], Label: m.Label[i], Pred: m.Pred[i]}
		for range maps {
			res[i].Deletion = append(res[i].Deletion, make([]float64, opt.Steps+1))
			res[i].Insertion = append(res[i].Insertion, make([]float64, opt.Steps+1))
		}
	}
	del, ins := make([]float32, len(base)), make([]float32, len(base))
	for k := range maps {
		for i := range res {
			res[i].Deletion[k][0], res[i].Deletion[k][opt.Steps] = pFull[i], pBase[i]
			res[i].Insertion[k][0], res[i].Insertion[k][opt.Steps] = pBase[i], pFull[i]
		}
		for s := 1; s < opt.Steps; s++ {
			cut := int(math.Round(float64(s) * float64(HW) / float64(opt.Steps)))
			copy(del, m.Input)
			copy(ins, base)
			for i := 0; i < n; i++ {
				for _, p := range orders[k][i][:cut] {
					for ch := 0; ch < c; ch++ {
						j := (i*c+ch)*HW + p
						del[j], ins[j] = base[j], m.Input[j]
					}
				}
			}
			pd, pi := prob(del), prob(ins)
			for i := range res {
				res[i].Deletion[k][s], res[i].Insertion[k][s] = pd[i], pi[i]
			}
		}
	}
	for i := range res {
		r := &res[i]
		img := raw[i*c*HW : (i+1)*c*HW]
		for k, mp := range maps {
			r.DeletionAUC = append(r.DeletionAUC, AUC(r.Deletion[k]))
			r.InsertionAUC = append(r.InsertionAUC, AUC(r.Insertion[k]))
			mass, dens := MassRatio(mp[i*HW:(i+1)*HW], img, c, opt.ObjectThreshold)
			r.MassRatio, r.DensityRatio = append(r.MassRatio, mass), append(r.DensityRatio, dens)
		}
	}
	return res, nil
}

// rankPixels orders pixels by score, highest first; ties by their place in tie.
func rankPixels(score []float32, tie []int) []int {
	idx := make([]int, len(score))
	for p := range idx {
		idx[p] = p
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(score[b], score[a]); c != 0 {
			return c
		}
		return cmp.Compare(tie[a], tie[b])
	})
	return idx
}

// labelProbs runs the model on images x (the batch's shape) and returns each sample's
// softmax probability of its label.
func labelProbs(model models.Model[float32], x []float32, m *Maps) []float64 {
	out := model.Forward(tensor.FromData(x, m.N(), m.C, m.H, m.W))
	k := out.Shape[1]
	p := make([]float64, m.N())
	for i, y := range m.Label {
		row := out.Data[i*k : (i+1)*k]
		top := float64(row[0])
		for _, v := range row {
			top = max(top, float64(v))
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(float64(v) - top)
		}
		p[i] = math.Exp(float64(row[y])-top) / s
	}
	return p
}

// AUC is the area under a curve sampled at equal steps over [0, 1] (trapezoid rule).
func AUC(y []float64) float64 {
	if len(y) < 2 {
		return math.NaN()
	}
	s := (y[0] + y[len(y)-1]) / 2
	for _, v := range y[1 : len(y)-1] {
		s += v
	}
	return s / float64(len(y)-1)
}

// MassRatio returns the map's mass on object pixels over its mass on background pixels
// (Σ_obj m / Σ_bg m) and the same per pixel (mean_obj m / mean_bg m, 1 for a map with no
// preference). raw is the image [C, H·W] in [0, 1]; a pixel is object when its mean over
// channels exceeds thr. Both are NaN where a side is empty or has no mass.
func MassRatio(m, raw []float32, c int, thr float64) (mass, density float64) {
	hw := len(m)
	var obj, bg float64
	nObj := 0
	for p, v := range m {
		g := 0.0
		for ch := 0; ch < c; ch++ {
			g += float64(raw[ch*hw+p])
		}
		if g/float64(c) > thr {
			obj += float64(v)
			nObj++
		} else {
			bg += float64(v)
		}
	}
	if nObj == 0 || nObj == hw || bg <= 0 {
		return math.NaN(), math.NaN()
	}
	mass = obj / bg
	return mass, mass * float64(hw-nObj) / float64(nObj)
}

package reverse

import (
	"fmt"
	"sort"
)

// Embedding names an output-target construction (spec §3).
type Embedding string

// The output-target embeddings of spec §3.
const (
	// Nearest is the Euclidean projection of the logits onto the cone where the label is
	// (co-)maximal: the smallest change that makes the true class win (ties allowed).
	Nearest Embedding = "nearest"
	// MaxAssign sets the label's logit to Scale·max(logits).
	MaxAssign Embedding = "max-assign"
	// OneHot is the one-hot vector of the label.
	OneHot Embedding = "one-hot"
)

// nearestSlack is the tolerance of the spec's k-selection inequalities.
const nearestSlack = 5e-6

// NearestTarget returns ô = argmin_r ‖r − o‖² s.t. r_t ≥ r_j ∀j, for one sample (§3.1).
// If the label already wins (or ties), ô = o. Otherwise the label and its k strongest
// competitors S are set to their mean level L = (o_t + Σ_S o_j)/(k+1); the sum of the
// logits is preserved.
func NearestTarget(o []float64, label int) []float64 {
	out := append([]float64(nil), o...)
	if label < 0 || label >= len(o) {
		panic(fmt.Sprintf("reverse.NearestTarget: label %d out of range for %d classes", label, len(o)))
	}
	ot := o[label]
	type comp struct {
		j int
		d float64
	}
	var cs []comp
	maxD := 0.0
	for j, v := range o {
		if j == label {
			continue
		}
		cs = append(cs, comp{j, v - ot})
		maxD = max(maxD, v-ot)
	}
	if maxD <= 0 {
		return out
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].d > cs[b].d })
	sum := 0.0
	for k := 1; k <= len(cs); k++ {
		dk := cs[k-1].d
		sum += dk
		if dk <= 0 {
			break
		}
		next := 0.0 // d_(k+1): the next competitor, or the label itself (d = 0)
		if k < len(cs) {
			next = max(cs[k].d, 0)
		}
		kk := float64(k + 1)
		if next*kk <= sum+nearestSlack && sum <= dk*kk+nearestSlack {
			level := ot
			for _, c := range cs[:k] {
				level += o[c.j]
			}
			level /= kk
			out[label] = level
			for _, c := range cs[:k] {
				out[c.j] = level
			}
			return out
		}
	}
	return out // numerical corner: behave as "no violator" (spec §3.1)
}

// MaxAssignTarget returns o with o_t replaced by scale·max_j o_j, then every entry
// clamped to [-clamp, clamp] when clamp > 0 (§3.2; the ablation uses scale 1, clamp 10).
func MaxAssignTarget(o []float64, label int, scale, clamp float64) []float64 {
	out := append([]float64(nil), o...)
	m := o[0]
	for _, v := range o {
		m = max(m, v)
	}
	out[label] = scale * m
	if clamp > 0 {
		for i, v := range out {
			out[i] = min(max(v, -clamp), clamp)
		}
	}
	return out
}

// OneHotTarget returns e_t (§3.3).
func OneHotTarget(k, label int) []float64 {
	out := make([]float64, k)
	out[label] = 1
	return out
}

// Targets applies an embedding to a batch of logits (rows of length k).
func Targets(e Embedding, logits []float64, k int, labels []int) ([]float64, error) {
	if len(logits) != k*len(labels) {
		return nil, fmt.Errorf("reverse.Targets: %d logits for %d labels of %d classes", len(logits), len(labels), k)
	}
	out := make([]float64, 0, len(logits))
	for i, y := range labels {
		if y < 0 || y >= k {
			return nil, fmt.Errorf("reverse.Targets: label %d of sample %d out of range [0,%d)", y, i, k)
		}
		row := logits[i*k : (i+1)*k]
		switch e {
		case Nearest:
			out = append(out, NearestTarget(row, y)...)
		case MaxAssign:
			out = append(out, MaxAssignTarget(row, y, 1, 10)...)
		case OneHot:
			out = append(out, OneHotTarget(k, y)...)
		default:
			return nil, fmt.Errorf("reverse.Targets: unknown embedding %q (want nearest, max-assign or one-hot)", e)
		}
	}
	return out, nil
}

package explain

import (
	"fmt"

	"github.com/frpt/frpt/checkpoint"
)

// The maps.safetensors file: n samples at one tap.
//
//	index, label, pred                       I64 [n]
//	input                                    F32 [n, C, H, W]   as fed to the model
//	forward, recons, diff                    F32 [n, tap shape…] diff = recons − forward
//	cam_diff, cam_recons, cam_forward        F32 [n, h, w]      at the feature's grid
//	cam_diff_up, cam_recons_up, cam_forward_up F32 [n, H, W]    bilinear, min–max per sample
//	saliency_diff, saliency_recons, saliency_forward F32 [n, H, W]  (tap out only)
//
// The metadata records the model, dataset, split, tap, grid reading and embedding; the
// logits and output targets of every sample are in explain.json.

// Tensors lists m's tensors in the file's order. Saliency maps are included for tap out
// only (for the other taps they are the same maps, which do not depend on the tap).
func (m *Maps) Tensors() []checkpoint.Tensor {
	n := m.N()
	ints := func(v []int) []int64 {
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out
	}
	tapShape := append([]int{n}, m.TapShape...)
	ts := []checkpoint.Tensor{
		checkpoint.FromInt64("index", []int{n}, ints(m.Index)),
		checkpoint.FromInt64("label", []int{n}, ints(m.Label)),
		checkpoint.FromInt64("pred", []int{n}, ints(m.Pred)),
		checkpoint.FromFloat32("input", []int{n, m.C, m.H, m.W}, m.Input),
		checkpoint.FromFloat32("forward", tapShape, m.Forward),
		checkpoint.FromFloat32("recons", tapShape, m.Recons),
		checkpoint.FromFloat32("diff", tapShape, m.Diff),
	}
	for s, name := range MapNames {
		ts = append(ts, checkpoint.FromFloat32("cam_"+name, []int{n, m.Grid.H, m.Grid.W}, m.CAM[s]))
	}
	for s, name := range MapNames {
		ts = append(ts, checkpoint.FromFloat32("cam_"+name+"_up", []int{n, m.H, m.W}, m.CAMUp[s]))
	}
	if m.Tap == "out" {
		for s, name := range MapNames {
			ts = append(ts, checkpoint.FromFloat32("saliency_"+name, []int{n, m.H, m.W}, m.Saliency[s]))
		}
	}
	return ts
}

// WriteFile writes m to path as maps.safetensors (atomically), with meta.
func (m *Maps) WriteFile(path string, meta map[string]string) error {
	if m.N() == 0 {
		return fmt.Errorf("write %s: no samples", path)
	}
	full := map[string]string{"tap": m.Tap, "grid": m.Grid.String(), "format": "frpt-explain-maps-1"}
	for k, v := range meta {
		full[k] = v
	}
	return checkpoint.WriteTensors(path, m.Tensors(), full)
}

package explain

import "math"

// The class-activation maps of spec §8, on channel-major features v[c·hw + p] of one
// sample (Grid.Channels), computed in float64.

// camFloor is the spec's threshold below which the difference-driven CAM's ReLU is taken
// to have removed everything (then |Σ_c w_c f_c| is used instead).
const camFloor = 1e-12

// channelMeans returns w_c = mean over the grid of v_c.
func channelMeans(w, v []float64, c, hw int) []float64 {
	w = grow(w, c)
	for ch := 0; ch < c; ch++ {
		s := 0.0
		for _, x := range v[ch*hw : (ch+1)*hw] {
			s += x
		}
		w[ch] = s / float64(hw)
	}
	return w
}

// weightedSum returns Σ_c w_c v_c over the grid.
func weightedSum(dst, w, v []float64, c, hw int) []float64 {
	dst = grow(dst, hw)
	clear(dst)
	for ch := 0; ch < c; ch++ {
		wc := w[ch]
		for p, x := range v[ch*hw : (ch+1)*hw] {
			dst[p] += wc * x
		}
	}
	return dst
}

// DiffCAM is the difference-driven CAM: w_c = mean_hw D_c, map = ReLU(Σ_c w_c f_c); if
// the ReLU leaves every cell ≤ 1e-12 the map is |Σ_c w_c f_c|. f and d are channel-major
// [c, hw]; the map (hw values) is written into dst, which is grown if needed.
func DiffCAM(dst, f, d []float64, c, hw int) []float64 {
	w := channelMeans(nil, d, c, hw)
	dst = weightedSum(dst, w, f, c, hw)
	top := math.Inf(-1)
	for _, x := range dst {
		top = max(top, x)
	}
	if top <= camFloor {
		for p, x := range dst {
			dst[p] = math.Abs(x)
		}
		return dst
	}
	for p, x := range dst {
		dst[p] = max(x, 0)
	}
	return dst
}

// SelfCAM is the reconstruction CAM (v = r) and the forward CAM (v = f): w_c = mean_hw v_c,
// map = Σ_c w_c v_c, no ReLU.
func SelfCAM(dst, v []float64, c, hw int) []float64 {
	return weightedSum(dst, channelMeans(nil, v, c, hw), v, c, hw)
}

// GradCAM is Grad-CAM (Selvaraju et al.) on a feature f with the gradient g of the
// label's logit at it: w_c = mean_hw g_c, map = ReLU(Σ_c w_c f_c).
func GradCAM(dst, f, g []float64, c, hw int) []float64 {
	dst = weightedSum(dst, channelMeans(nil, g, c, hw), f, c, hw)
	for p, x := range dst {
		dst[p] = max(x, 0)
	}
	return dst
}

// Upsample resizes an h×w map to H×W bilinearly with PyTorch's align_corners=False
// convention (torch.nn.functional.interpolate(mode="bilinear", size=(H, W))): output
// pixel i reads source coordinate (i + 0.5)·h/H − 0.5, clamped at 0, between the two
// nearest source pixels (the upper one clamped at the border).
func Upsample(dst, src []float64, h, w, H, W int) []float64 {
	dst = grow(dst, H*W)
	ys := sourceIndex(h, H)
	xs := sourceIndex(w, W)
	for i, yi := range ys {
		r0, r1 := src[yi.i0*w:(yi.i0+1)*w], src[yi.i1*w:(yi.i1+1)*w]
		out := dst[i*W : (i+1)*W]
		for j, xj := range xs {
			top := (1-xj.l)*r0[xj.i0] + xj.l*r0[xj.i1]
			bot := (1-xj.l)*r1[xj.i0] + xj.l*r1[xj.i1]
			out[j] = (1-yi.l)*top + yi.l*bot
		}
	}
	return dst
}

// lerpIndex is one output pixel's source pixels and the weight of the second.
type lerpIndex struct {
	i0, i1 int
	l      float64
}

// sourceIndex is PyTorch's area_pixel_compute_source_index for align_corners=False
// without a scale factor (scale = in/out), with the neighbour clamped at the border.
func sourceIndex(in, out int) []lerpIndex {
	idx := make([]lerpIndex, out)
	scale := float64(in) / float64(out)
	for o := range idx {
		s := max(scale*(float64(o)+0.5)-0.5, 0)
		i0 := min(int(s), in-1)
		i1 := i0
		if i0 < in-1 {
			i1 = i0 + 1
		}
		idx[o] = lerpIndex{i0, i1, s - float64(i0)}
	}
	return idx
}

// MinMax rescales x in place to [0, 1]: (x − min)/(max − min). A constant map (max =
// min, such as the CAM of a one-cell feature) becomes all zeros.
func MinMax(x []float64) {
	if len(x) == 0 {
		return
	}
	lo, hi := x[0], x[0]
	for _, v := range x {
		lo, hi = min(lo, v), max(hi, v)
	}
	if !(hi > lo) {
		clear(x)
		return
	}
	r := hi - lo
	for i, v := range x {
		x[i] = (v - lo) / r
	}
}

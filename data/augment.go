package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Image is a CHW float32 image of any size; pixels are in [0, 1] before normalisation.
type Image struct {
	Pix     []float32 // len C·H·W, channel-major
	C, H, W int
}

// NewImage returns a black image of the given size.
func NewImage(c, h, w int) Image {
	return Image{Pix: make([]float32, c*h*w), C: c, H: h, W: w}
}

// SizeTransform is a transform that may change an image's size (resize, crop). It is
// applied to a decoded image at its original size; the result may share storage with img,
// and img may be modified.
type SizeTransform interface {
	ApplyImage(img Image, rng *rand.Rand) Image
}

// RawDataset is a Dataset whose samples have their own sizes (decoded image files).
// LoadImage returns sample i at its original size and its label; Get returns the sample
// fitted to Shape. When the transform given to a Loader is a SizeTransform, the Loader
// hands it the original image so that resizing and cropping see the full-resolution
// picture (as torchvision does with PIL images).
type RawDataset interface {
	Dataset
	LoadImage(i int) (Image, int, error)
}

// Pipeline is a per-sample transform in two stages: Geometry (size-changing steps such as
// RandomResizedCrop or Resize + CenterCrop, applied to the image at its original size),
// then Pixel (in-place steps on the result: flip, RandAugment, Normalize, erasing). All
// steps draw from the one per-sample generator, in order.
type Pipeline struct {
	Geometry []SizeTransform
	Pixel    Transform
}

// ApplyImage runs both stages on img.
func (p Pipeline) ApplyImage(img Image, rng *rand.Rand) Image {
	for _, g := range p.Geometry {
		img = g.ApplyImage(img, rng)
	}
	if p.Pixel != nil {
		p.Pixel.Apply(img.Pix, img.C, img.H, img.W, rng)
	}
	return img
}

// Apply runs the pipeline on an image that already has the buffer's size; the geometry
// stage must give back an image of that same size (it panics otherwise).
func (p Pipeline) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	out := p.ApplyImage(Image{Pix: x[:c*h*w], C: c, H: h, W: w}, rng)
	if out.C != c || out.H != h || out.W != w {
		panic(fmt.Sprintf("data: pipeline turned a %d×%d×%d image into %d×%d×%d; the buffer holds %d×%d×%d", c, h, w, out.C, out.H, out.W, c, h, w))
	}
	if len(out.Pix) > 0 && &out.Pix[0] != &x[0] {
		copy(x, out.Pix)
	}
}

// loadImage returns sample i of ds at its original size (Get at Shape for datasets that
// are not RawDatasets).
func loadImage(ds Dataset, i int) (Image, int, error) {
	if r, ok := ds.(RawDataset); ok {
		return r.LoadImage(i)
	}
	c, h, w := ds.Shape()
	img := NewImage(c, h, w)
	return img, ds.Get(i, img.Pix), nil
}

// prepareSample fills x (Shape-sized) with sample idx of ds, transformed by tf with the
// generator of (seed, epoch, idx). A SizeTransform gets the sample at its original size.
// Errors (an unreadable image file) panic: the Loader has no error path.
func prepareSample(ds Dataset, tf Transform, idx int, x []float32, c, h, w int, seed uint64, epoch int) int {
	if tf == nil {
		return ds.Get(idx, x)
	}
	rng := SampleRNG(seed, epoch, idx)
	if st, ok := tf.(SizeTransform); ok {
		img, label, err := loadImage(ds, idx)
		if err != nil {
			panic(fmt.Sprintf("data: sample %d: %v", idx, err))
		}
		out := st.ApplyImage(img, rng)
		if out.C != c || out.H != h || out.W != w {
			panic(fmt.Sprintf("data: sample %d: transform gave %d×%d×%d, dataset shape is %d×%d×%d", idx, out.C, out.H, out.W, c, h, w))
		}
		copy(x, out.Pix)
		return label
	}
	label := ds.Get(idx, x)
	tf.Apply(x, c, h, w, rng)
	return label
}

// ---------------------------------------------------------------------------------------
// Resampling (PIL's bilinear "convolution" resize, which torchvision uses on PIL images)

// bilinearTaps holds, for every output index, the first input index and the normalised
// weights of PIL's bilinear filter: a triangle of support max(1, in/out) input pixels, so
// that downscaling is antialiased.
type bilinearTaps struct {
	start []int
	w     [][]float64
}

func newBilinearTaps(in, out int) bilinearTaps {
	scale := float64(in) / float64(out)
	fscale := max(scale, 1)
	support := fscale // bilinear support 1 × filter scale
	t := bilinearTaps{start: make([]int, out), w: make([][]float64, out)}
	for o := 0; o < out; o++ {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0) // C (int) truncation as in PIL
		hi := min(int(center+support+0.5), in)
		ws := make([]float64, 0, max(hi-lo, 0))
		sum := 0.0
		for j := lo; j < hi; j++ {
			v := math.Abs((float64(j) - center + 0.5) / fscale)
			wt := 0.0
			if v < 1 {
				wt = 1 - v
			}
			ws = append(ws, wt)
			sum += wt
		}
		if sum != 0 {
			for k := range ws {
				ws[k] /= sum
			}
		}
		t.start[o], t.w[o] = lo, ws
	}
	return t
}

// resizeBilinear resizes img to oh×ow (returns img itself when the size is unchanged).
func resizeBilinear(img Image, oh, ow int) Image {
	if oh == img.H && ow == img.W {
		return img
	}
	if oh < 1 || ow < 1 || img.H < 1 || img.W < 1 {
		panic(fmt.Sprintf("data: resize %d×%d → %d×%d", img.H, img.W, oh, ow))
	}
	c, h, w := img.C, img.H, img.W
	// Horizontal pass: c×h×ow.
	tmp := img.Pix
	if ow != w {
		tx := newBilinearTaps(w, ow)
		tmp = make([]float32, c*h*ow)
		for r := 0; r < c*h; r++ {
			src := img.Pix[r*w : (r+1)*w]
			dst := tmp[r*ow : (r+1)*ow]
			for o := range dst {
				s := 0.0
				for k, wt := range tx.w[o] {
					s += wt * float64(src[tx.start[o]+k])
				}
				dst[o] = float32(s)
			}
		}
	}
	if oh == h {
		return Image{Pix: tmp, C: c, H: h, W: ow}
	}
	// Vertical pass: c×oh×ow.
	ty := newBilinearTaps(h, oh)
	out := NewImage(c, oh, ow)
	acc := make([]float64, ow)
	for ch := 0; ch < c; ch++ {
		plane := tmp[ch*h*ow : (ch+1)*h*ow]
		for o := 0; o < oh; o++ {
			clear(acc)
			for k, wt := range ty.w[o] {
				row := plane[(ty.start[o]+k)*ow : (ty.start[o]+k+1)*ow]
				for x, v := range row {
					acc[x] += wt * float64(v)
				}
			}
			dst := out.Pix[(ch*oh+o)*ow : (ch*oh+o+1)*ow]
			for x := range dst {
				dst[x] = float32(acc[x])
			}
		}
	}
	return out
}

// cropImage returns the h×w window of img whose top-left corner is (top, left); pixels
// outside img are 0 (torchvision pads with zeros when a crop exceeds the image).
func cropImage(img Image, top, left, h, w int) Image {
	if top == 0 && left == 0 && h == img.H && w == img.W {
		return img
	}
	out := NewImage(img.C, h, w)
	for ch := 0; ch < img.C; ch++ {
		for y := 0; y < h; y++ {
			sy := top + y
			if sy < 0 || sy >= img.H {
				continue
			}
			x0, x1 := max(0, -left), min(w, img.W-left)
			if x0 >= x1 {
				continue
			}
			src := img.Pix[(ch*img.H+sy)*img.W : (ch*img.H+sy+1)*img.W]
			copy(out.Pix[(ch*h+y)*w+x0:(ch*h+y)*w+x1], src[left+x0:left+x1])
		}
	}
	return out
}

// Resize scales the shorter side to Size and the longer side to int(Size·long/short)
// (torchvision Resize(int)) with PIL's antialiased bilinear filter.
type Resize struct{ Size int }

// ApplyImage resizes img.
func (r Resize) ApplyImage(img Image, _ *rand.Rand) Image {
	h, w := img.H, img.W
	if w <= h {
		return resizeBilinear(img, int(float64(r.Size*h)/float64(w)), r.Size)
	}
	return resizeBilinear(img, r.Size, int(float64(r.Size*w)/float64(h)))
}

// ResizeTo scales an image to exactly H×W (torchvision Resize((H, W))), bilinear.
type ResizeTo struct{ H, W int }

// ApplyImage resizes img.
func (r ResizeTo) ApplyImage(img Image, _ *rand.Rand) Image { return resizeBilinear(img, r.H, r.W) }

// CenterCrop cuts the central H×W window (torchvision CenterCrop: offsets
// round((size − crop)/2) with Python's half-to-even rounding; zero padding when the crop is
// larger than the image).
type CenterCrop struct{ H, W int }

// ApplyImage crops img.
func (cc CenterCrop) ApplyImage(img Image, _ *rand.Rand) Image {
	off := func(size, crop int) int {
		if crop > size {
			return -((crop - size) / 2)
		}
		return int(math.RoundToEven(float64(size-crop) / 2))
	}
	return cropImage(img, off(img.H, cc.H), off(img.W, cc.W), cc.H, cc.W)
}

// RandomResizedCrop crops a random window of area fraction in Scale and aspect ratio
// (w/h, log-uniform) in Ratio and resizes it to H×W, bilinear (torchvision
// RandomResizedCrop: up to 10 attempts, then a central crop clamped to Ratio). A zero
// Scale means (0.08, 1), a zero Ratio (3/4, 4/3).
type RandomResizedCrop struct {
	H, W  int
	Scale [2]float64
	Ratio [2]float64
}

// Params draws the crop window (top, left, height, width) for an h×w image.
func (r RandomResizedCrop) Params(h, w int, rng *rand.Rand) (top, left, ch, cw int) {
	scale, ratio := r.Scale, r.Ratio
	if scale == [2]float64{} {
		scale = [2]float64{0.08, 1}
	}
	if ratio == [2]float64{} {
		ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	area := float64(h * w)
	lr0, lr1 := math.Log(ratio[0]), math.Log(ratio[1])
	for attempt := 0; attempt < 10; attempt++ {
		target := area * (scale[0] + rng.Float64()*(scale[1]-scale[0]))
		ar := math.Exp(lr0 + rng.Float64()*(lr1-lr0))
		cw := int(math.RoundToEven(math.Sqrt(target * ar)))
		ch := int(math.RoundToEven(math.Sqrt(target / ar)))
		if 0 < cw && cw <= w && 0 < ch && ch <= h {
			top := rng.IntN(h - ch + 1)
			left := rng.IntN(w - cw + 1)
			return top, left, ch, cw
		}
	}
	inRatio := float64(w) / float64(h)
	rmin, rmax := min(ratio[0], ratio[1]), max(ratio[0], ratio[1])
	switch {
	case inRatio < rmin:
		cw = w
		ch = int(math.RoundToEven(float64(cw) / rmin))
	case inRatio > rmax:
		ch = h
		cw = int(math.RoundToEven(float64(ch) * rmax))
	default:
		cw, ch = w, h
	}
	return (h - ch) / 2, (w - cw) / 2, ch, cw
}

// ApplyImage crops and resizes img.
func (r RandomResizedCrop) ApplyImage(img Image, rng *rand.Rand) Image {
	top, left, ch, cw := r.Params(img.H, img.W, rng)
	return resizeBilinear(cropImage(img, top, left, ch, cw), r.H, r.W)
}

// ---------------------------------------------------------------------------------------
// RandAugment

// RandAugment applies N operations drawn uniformly (with replacement) from torchvision's
// RandAugment set at magnitude bin M of Bins (0: 31), each signed operation negated with
// probability 1/2 (torchvision RandAugment(num_ops=N, magnitude=M), nearest interpolation,
// black fill). It works on [0, 1] CHW images before normalisation with the semantics of
// torchvision on PIL images: geometric operations map output pixel centres through PIL's
// inverse affine matrix and take the nearest (floor) source pixel; Posterize, Solarize and
// Equalize act on 8-bit levels round(255·v); the blend operations (Brightness, Color,
// Contrast, Sharpness) are computed in float and clipped to [0, 1] instead of PIL's uint8
// truncation, and AutoContrast maps each channel's [min, max] linearly onto [0, 1].
type RandAugment struct {
	N, M int
	Bins int
}

// RandAugmentOps lists the operations in torchvision's order (the op index drawn is an
// index into this list).
var RandAugmentOps = []string{"Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",
	"Brightness", "Color", "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"}

// raChoice is one drawn operation.
type raChoice struct {
	op  string
	mag float64
}

// choices draws the operations of one application for an h×w image.
func (r RandAugment) choices(h, w int, rng *rand.Rand) []raChoice {
	out := make([]raChoice, 0, r.N)
	for i := 0; i < r.N; i++ {
		op := RandAugmentOps[rng.IntN(len(RandAugmentOps))]
		mag, signed := raMagnitude(op, r.M, r.Bins, h, w)
		if signed && rng.IntN(2) == 1 {
			mag = -mag
		}
		out = append(out, raChoice{op, mag})
	}
	return out
}

// raMagnitude returns torchvision's magnitude of op at bin m of bins (0: 31) for an h×w
// image and whether the op is signed.
func raMagnitude(op string, m, bins, h, w int) (float64, bool) {
	if bins <= 0 {
		bins = 31
	}
	if m < 0 || m >= bins {
		panic(fmt.Sprintf("data: RandAugment magnitude %d outside [0, %d)", m, bins))
	}
	lin := func(a, b float64) float64 {
		if bins == 1 {
			return a
		}
		return a + (b-a)*float64(m)/float64(bins-1)
	}
	switch op {
	case "ShearX", "ShearY":
		return lin(0, 0.3), true
	case "TranslateX":
		return lin(0, 150.0/331.0*float64(w)), true
	case "TranslateY":
		return lin(0, 150.0/331.0*float64(h)), true
	case "Rotate":
		return lin(0, 30), true
	case "Brightness", "Color", "Contrast", "Sharpness":
		return lin(0, 0.9), true
	case "Posterize":
		if bins == 1 {
			return 8, false
		}
		return 8 - math.RoundToEven(float64(m)/(float64(bins-1)/4)), false
	case "Solarize":
		return lin(255, 0), false
	}
	return 0, false // Identity, AutoContrast, Equalize
}

// Apply augments x in place.
func (r RandAugment) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	img := Image{Pix: x[:c*h*w], C: c, H: h, W: w}
	for _, ch := range r.choices(h, w, rng) {
		raApply(img, ch.op, ch.mag)
	}
}

// raApply applies one RandAugment operation with its (signed) magnitude in place.
func raApply(img Image, op string, mag float64) {
	switch op {
	case "Identity":
	case "ShearX": // torchvision: affine shear atan(mag) about (0, 0) → inverse x' = x + mag·y
		affineNearest(img, [6]float64{1, mag, 0, 0, 1, 0})
	case "ShearY":
		affineNearest(img, [6]float64{1, 0, 0, mag, 1, 0})
	case "TranslateX": // translate by int(mag) pixels (toward +x for mag > 0)
		affineNearest(img, [6]float64{1, 0, -math.Trunc(mag), 0, 1, 0})
	case "TranslateY":
		affineNearest(img, [6]float64{1, 0, 0, 0, 1, -math.Trunc(mag)})
	case "Rotate": // PIL Image.rotate(mag degrees, counter-clockwise, about (w/2, h/2))
		if math.Mod(mag, 360) == 0 {
			return
		}
		th := -mag * math.Pi / 180
		r15 := func(v float64) float64 { return math.Round(v*1e15) / 1e15 } // as PIL does
		a, b, d, e := r15(math.Cos(th)), r15(math.Sin(th)), r15(-math.Sin(th)), r15(math.Cos(th))
		cx, cy := float64(img.W)/2, float64(img.H)/2
		affineNearest(img, [6]float64{a, b, a*(-cx) + b*(-cy) + cx, d, e, d*(-cx) + e*(-cy) + cy})
	case "Brightness":
		blendWith(img, 1+mag, func(int) float32 { return 0 })
	case "Color":
		if img.C != 3 {
			return // the grey image of a one-channel image is itself
		}
		hw := img.H * img.W
		gray := grayOf(img)
		blendWith(img, 1+mag, func(i int) float32 { return gray[i%hw] })
	case "Contrast":
		var mean float64
		if img.C == 3 {
			for _, v := range grayOf(img) {
				mean += float64(v)
			}
			mean /= float64(img.H * img.W)
		} else {
			for _, v := range img.Pix {
				mean += float64(v)
			}
			mean /= float64(len(img.Pix))
		}
		m := float32(math.Floor(mean*255+0.5) / 255) // PIL: int(mean of L + 0.5)
		blendWith(img, 1+mag, func(int) float32 { return m })
	case "Sharpness":
		deg := smooth(img)
		blendWith(img, 1+mag, func(i int) float32 { return deg[i] })
	case "Posterize":
		bits := int(mag)
		if bits >= 8 {
			return
		}
		mask := ^uint8(0) << (8 - max(bits, 0))
		for i, v := range img.Pix {
			img.Pix[i] = level(to8(v) & mask)
		}
	case "Solarize": // PIL: keep levels below the threshold, invert the others
		thr := mag
		for i, v := range img.Pix {
			if float64(v)*255 >= thr-1e-3 {
				img.Pix[i] = 1 - v
			}
		}
	case "AutoContrast":
		hw := img.H * img.W
		for ch := 0; ch < img.C; ch++ {
			p := img.Pix[ch*hw : (ch+1)*hw]
			lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range p {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi <= lo {
				continue
			}
			s := 1 / (hi - lo)
			for i, v := range p {
				p[i] = min(max((v-lo)*s, 0), 1)
			}
		}
	case "Equalize":
		equalize(img)
	default:
		panic("data: unknown RandAugment operation " + op)
	}
}

// to8 is the 8-bit level of a [0, 1] value.
func to8(v float32) uint8 {
	return uint8(math.Round(float64(min(max(v, 0), 1)) * 255))
}

// level is the [0, 1] value of an 8-bit level (as ToTensor computes it).
func level(l uint8) float32 { return float32(l) * (1.0 / 255) }

// affineNearest resamples img in place: output pixel (x, y) takes the source pixel
// floor(M·(x+½, y+½)) for the inverse affine matrix M = [a b c; d e f] (PIL's AFFINE
// transform, NEAREST), 0 outside.
func affineNearest(img Image, m [6]float64) {
	if m == [6]float64{1, 0, 0, 0, 1, 0} {
		return
	}
	h, w, hw := img.H, img.W, img.H*img.W
	src := make([]float32, len(img.Pix))
	copy(src, img.Pix)
	coord := func(v float64) int {
		if v < 0 {
			return -1
		}
		return int(v)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			sx := coord(m[0]*fx + m[1]*fy + m[2])
			sy := coord(m[3]*fx + m[4]*fy + m[5])
			inside := sx >= 0 && sx < w && sy >= 0 && sy < h
			for ch := 0; ch < img.C; ch++ {
				v := float32(0)
				if inside {
					v = src[ch*hw+sy*w+sx]
				}
				img.Pix[ch*hw+y*w+x] = v
			}
		}
	}
}

// blendWith sets v ← clip(d + f·(v − d), 0, 1) where d = deg(i) is the degenerate image at
// Pix index i (PIL ImageEnhance); f = 1 leaves the image untouched.
func blendWith(img Image, f float64, deg func(i int) float32) {
	if f == 1 {
		return
	}
	ff := float32(f)
	for i, v := range img.Pix {
		d := deg(i)
		img.Pix[i] = min(max(d+ff*(v-d), 0), 1)
	}
}

// grayOf is PIL's L conversion 0.299 R + 0.587 G + 0.114 B of a 3-channel image.
func grayOf(img Image) []float32 {
	hw := img.H * img.W
	g := make([]float32, hw)
	for i := range g {
		g[i] = float32(0.299*float64(img.Pix[i]) + 0.587*float64(img.Pix[hw+i]) + 0.114*float64(img.Pix[2*hw+i]))
	}
	return g
}

// smooth is PIL's ImageFilter.SMOOTH (3×3 kernel [1 1 1; 1 5 1; 1 1 1]/13) per channel,
// border pixels unchanged.
func smooth(img Image) []float32 {
	h, w, hw := img.H, img.W, img.H*img.W
	out := make([]float32, len(img.Pix))
	copy(out, img.Pix)
	for ch := 0; ch < img.C; ch++ {
		p := img.Pix[ch*hw : (ch+1)*hw]
		for y := 1; y < h-1; y++ {
			for x := 1; x < w-1; x++ {
				s := 4 * p[y*w+x]
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						s += p[(y+dy)*w+x+dx]
					}
				}
				out[ch*hw+y*w+x] = s / 13
			}
		}
	}
	return out
}

// equalize is PIL's ImageOps.equalize per channel on 8-bit levels.
func equalize(img Image) {
	hw := img.H * img.W
	for ch := 0; ch < img.C; ch++ {
		p := img.Pix[ch*hw : (ch+1)*hw]
		var hist [256]int
		for _, v := range p {
			hist[to8(v)]++
		}
		total, last, nonzero := 0, 0, 0
		for _, n := range hist {
			if n > 0 {
				total += n
				last = n
				nonzero++
			}
		}
		if nonzero <= 1 {
			continue
		}
		step := (total - last) / 256
		if step == 0 {
			continue
		}
		var lut [256]uint8
		n := step / 2
		for i := range lut {
			lut[i] = uint8(min(n/step, 255))
			n += hist[i]
		}
		for i, v := range p {
			p[i] = level(lut[to8(v)])
		}
	}
}

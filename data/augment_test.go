package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func rngOf(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// imageOf builds a c×h×w image with pixel f(ch, y, x).
func imageOf(c, h, w int, f func(ch, y, x int) float32) Image {
	img := NewImage(c, h, w)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				img.Pix[(ch*h+y)*w+x] = f(ch, y, x)
			}
		}
	}
	return img
}

func close32(a, b float32, tol float64) bool { return math.Abs(float64(a)-float64(b)) <= tol }

func TestResizeConstantAndSize(t *testing.T) {
	img := imageOf(3, 30, 40, func(ch, _, _ int) float32 { return []float32{0.25, 0.5, 0.75}[ch] })
	for _, tc := range []struct {
		tf   SizeTransform
		h, w int
	}{
		{Resize{12}, 12, 16}, {Resize{256}, 256, 341}, {ResizeTo{7, 53}, 7, 53}, {ResizeTo{30, 11}, 30, 11},
	} {
		out := tc.tf.ApplyImage(img, nil)
		if out.C != 3 || out.H != tc.h || out.W != tc.w || len(out.Pix) != 3*tc.h*tc.w {
			t.Fatalf("%T%v: %dx%d, want %dx%d", tc.tf, tc.tf, out.H, out.W, tc.h, tc.w)
		}
		for i, v := range out.Pix {
			if want := []float32{0.25, 0.5, 0.75}[i/(tc.h*tc.w)]; !close32(v, want, 1e-6) {
				t.Fatalf("%T%v: pixel %d = %v, want %v", tc.tf, tc.tf, i, v, want)
			}
		}
	}
	// Portrait: the width is the shorter side; int() truncates the long side.
	if out := (Resize{10}).ApplyImage(NewImage(1, 33, 7), nil); out.H != 47 || out.W != 10 {
		t.Fatalf("portrait %dx%d", out.H, out.W)
	}
	// Same size: unchanged.
	if out := (Resize{30}).ApplyImage(img, nil); &out.Pix[0] != &img.Pix[0] {
		t.Fatal("no-op resize copied")
	}
}

// Bilinear resampling reproduces a linear ramp wherever the filter window is not clipped by
// the border (upscaling, and antialiased shrinking by integer factors): output pixel o sits
// at input coordinate (o+½)·in/out − ½.
func TestResizeRamp(t *testing.T) {
	for _, sz := range [][4]int{{6, 8, 13, 19}, {20, 30, 10, 10}, {9, 12, 9, 4}, {16, 5, 40, 12}, {12, 7, 4, 21}} {
		ih, iw, oh, ow := sz[0], sz[1], sz[2], sz[3]
		img := imageOf(1, ih, iw, func(_, y, x int) float32 { return float32(2*y + 3*x) })
		out := ResizeTo{oh, ow}.ApplyImage(img, nil)
		interior := func(o, in, out int) (float64, bool) {
			s := float64(in) / float64(out)
			c, sup := (float64(o)+0.5)*s, max(s, 1)
			return c - 0.5, c-sup >= 0 && c+sup <= float64(in)
		}
		checked := 0
		for y := 0; y < oh; y++ {
			sy, oky := interior(y, ih, oh)
			for x := 0; x < ow; x++ {
				sx, okx := interior(x, iw, ow)
				if !oky || !okx {
					continue
				}
				checked++
				if want := 2*sy + 3*sx; math.Abs(float64(out.Pix[y*ow+x])-want) > 1e-4 {
					t.Fatalf("%v: (%d,%d) = %v, want %v", sz, y, x, out.Pix[y*ow+x], want)
				}
			}
		}
		if checked == 0 {
			t.Fatalf("%v: no interior pixel", sz)
		}
	}
	// Upscaling a 1-D ramp 0,1,2,3 by 2 (PIL bilinear): edges clamp, interior interpolates.
	out := ResizeTo{1, 8}.ApplyImage(Image{Pix: []float32{0, 1, 2, 3}, C: 1, H: 1, W: 4}, nil)
	want := []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}
	for i := range want {
		if !close32(out.Pix[i], want[i], 1e-6) {
			t.Fatalf("upscale %v, want %v", out.Pix, want)
		}
	}
	// Shrinking 4 → 2 averages pixel pairs with the triangle filter of support 2:
	// weights ¼·(1, 3, 3, 1)/… for out 0 centred at 1 → (0·0.75+1·0.75+2·0.25)/1.75.
	out = ResizeTo{1, 2}.ApplyImage(Image{Pix: []float32{0, 1, 2, 3}, C: 1, H: 1, W: 4}, nil)
	if w0 := float32((0*0.75 + 1*0.75 + 2*0.25) / 1.75); !close32(out.Pix[0], w0, 1e-6) || !close32(out.Pix[1], 3-w0, 1e-6) {
		t.Fatalf("downscale %v", out.Pix)
	}
}

func TestCenterCrop(t *testing.T) {
	img := imageOf(2, 5, 6, func(ch, y, x int) float32 { return float32(100*ch + 10*y + x) })
	out := CenterCrop{3, 3}.ApplyImage(img, nil)
	// top = round(2/2) = 1; left = round(3/2) = 2 (half to even).
	want := []float32{12, 13, 14, 22, 23, 24, 32, 33, 34, 112, 113, 114, 122, 123, 124, 132, 133, 134}
	if !slices.Equal(out.Pix, want) {
		t.Fatalf("crop %v", out.Pix)
	}
	out = CenterCrop{4, 5}.ApplyImage(img, nil) // top round(0.5) = 0, left round(0.5) = 0
	if out.Pix[0] != 0 || out.Pix[4] != 4 || out.Pix[5] != 10 {
		t.Fatalf("crop 4x5 %v", out.Pix[:10])
	}
	// Larger than the image: zero padding, (crop−size)/2 on the top/left.
	small := imageOf(1, 3, 3, func(_, y, x int) float32 { return float32(1 + 3*y + x) })
	out = CenterCrop{5, 4}.ApplyImage(small, nil)
	want = []float32{
		0, 0, 0, 0,
		1, 2, 3, 0,
		4, 5, 6, 0,
		7, 8, 9, 0,
		0, 0, 0, 0}
	if !slices.Equal(out.Pix, want) {
		t.Fatalf("padded crop %v", out.Pix)
	}
}

func TestRandomResizedCrop(t *testing.T) {
	img := imageOf(3, 37, 50, func(ch, y, x int) float32 { return float32(ch+y*x%7) / 10 })
	r := RandomResizedCrop{H: 16, W: 12, Scale: [2]float64{0.3, 1}}
	a := r.ApplyImage(img, rngOf(4))
	b := r.ApplyImage(img, rngOf(4))
	c := r.ApplyImage(img, rngOf(5))
	if a.C != 3 || a.H != 16 || a.W != 12 || len(a.Pix) != 3*16*12 {
		t.Fatalf("shape %d %d %d", a.C, a.H, a.W)
	}
	if !slices.Equal(a.Pix, b.Pix) {
		t.Fatal("same seed, different crops")
	}
	if slices.Equal(a.Pix, c.Pix) {
		t.Fatal("different seeds, same crop")
	}
	for s := uint64(0); s < 200; s++ {
		top, left, ch, cw := r.Params(37, 50, rngOf(s))
		if top < 0 || left < 0 || ch < 1 || cw < 1 || top+ch > 37 || left+cw > 50 {
			t.Fatalf("window %d %d %d %d", top, left, ch, cw)
		}
		frac, ar := float64(ch*cw)/(37*50), float64(cw)/float64(ch)
		if frac < 0.3-0.05 || ar < 0.75-0.1 || ar > 4.0/3+0.1 {
			t.Fatalf("window %dx%d: area %.3f ratio %.3f", ch, cw, frac, ar)
		}
	}
	// Impossible scale → fallback central crop clamped to the ratio range.
	big := RandomResizedCrop{H: 4, W: 4, Scale: [2]float64{2, 3}}
	if top, left, ch, cw := big.Params(10, 40, rngOf(1)); top != 0 || ch != 10 || cw != 13 || left != 13 {
		t.Fatalf("wide fallback %d %d %d %d", top, left, ch, cw)
	}
	if top, left, ch, cw := big.Params(40, 10, rngOf(1)); left != 0 || cw != 10 || ch != 13 || top != 13 {
		t.Fatalf("tall fallback %d %d %d %d", top, left, ch, cw)
	}
	if top, left, ch, cw := big.Params(12, 11, rngOf(1)); top != 0 || left != 0 || ch != 12 || cw != 11 {
		t.Fatalf("whole-image fallback %d %d %d %d", top, left, ch, cw)
	}
}

func TestRandAugmentMagnitudes(t *testing.T) {
	cases := []struct {
		op     string
		m      int
		want   float64
		signed bool
	}{
		{"ShearX", 9, 0.09, true}, {"ShearY", 30, 0.3, true}, {"Rotate", 9, 9, true}, {"Rotate", 7, 7, true},
		{"TranslateX", 9, 150.0 / 331 * 32 * 0.3, true}, {"TranslateY", 7, 150.0 / 331 * 224 * 7 / 30, true},
		{"Brightness", 9, 0.27, true}, {"Color", 30, 0.9, true}, {"Contrast", 0, 0, true}, {"Sharpness", 10, 0.3, true},
		{"Posterize", 0, 8, false}, {"Posterize", 9, 7, false}, {"Posterize", 7, 7, false}, {"Posterize", 30, 4, false},
		{"Posterize", 12, 6, false}, {"Solarize", 0, 255, false}, {"Solarize", 9, 178.5, false}, {"Solarize", 30, 0, false},
		{"Identity", 9, 0, false}, {"AutoContrast", 9, 0, false}, {"Equalize", 9, 0, false},
	}
	for _, c := range cases {
		h, w := 32, 32
		if c.op == "TranslateY" {
			h = 224
		}
		got, signed := raMagnitude(c.op, c.m, 0, h, w)
		if math.Abs(got-c.want) > 1e-9 || signed != c.signed {
			t.Errorf("%s m=%d: %v %v, want %v %v", c.op, c.m, got, signed, c.want, c.signed)
		}
	}
}

func apply1(img Image, op string, mag float64) Image {
	out := NewImage(img.C, img.H, img.W)
	copy(out.Pix, img.Pix)
	raApply(out, op, mag)
	return out
}

func lv(l ...int) []float32 {
	out := make([]float32, len(l))
	for i, v := range l {
		out[i] = level(uint8(v))
	}
	return out
}

func eq(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !close32(got[i], want[i], tol) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

// Each operation on a tiny image against values worked out by hand.
func TestRandAugmentOps(t *testing.T) {
	g := func(h, w int, v ...float32) Image { return Image{Pix: v, C: 1, H: h, W: w} }
	ramp := g(2, 3, 1, 2, 3, 4, 5, 6)

	eq(t, "solarize 127.5", apply1(Image{Pix: lv(0, 100, 127, 128, 200, 255), C: 1, H: 1, W: 6}, "Solarize", 127.5).Pix, lv(0, 100, 127, 127, 55, 0), 1e-7)
	eq(t, "solarize 255", apply1(Image{Pix: lv(3, 254, 255), C: 1, H: 1, W: 3}, "Solarize", 255).Pix, lv(3, 254, 0), 1e-7)
	eq(t, "posterize 4", apply1(Image{Pix: lv(183, 15, 16, 255), C: 1, H: 1, W: 4}, "Posterize", 4).Pix, lv(176, 0, 16, 240), 0)
	eq(t, "posterize 7", apply1(Image{Pix: lv(183, 1), C: 1, H: 1, W: 2}, "Posterize", 7).Pix, lv(182, 0), 0)
	eq(t, "brightness +0.5", apply1(g(1, 3, 0.4, 0.8, 0), "Brightness", 0.5).Pix, []float32{0.6, 1, 0}, 1e-6)
	eq(t, "brightness -0.5", apply1(g(1, 2, 0.4, 1), "Brightness", -0.5).Pix, []float32{0.2, 0.5}, 1e-6)

	eq(t, "translateX +1", apply1(ramp, "TranslateX", 1.7).Pix, []float32{0, 1, 2, 0, 4, 5}, 0)
	eq(t, "translateX -1", apply1(ramp, "TranslateX", -1.2).Pix, []float32{2, 3, 0, 5, 6, 0}, 0)
	eq(t, "translateY +1", apply1(ramp, "TranslateY", 1).Pix, []float32{0, 0, 0, 1, 2, 3}, 0)
	// ShearX 0.5: row y takes source column floor(x + ½ + 0.5·(y + ½)).
	eq(t, "shearX 0.5", apply1(g(2, 3, 1, 2, 3, 4, 5, 6), "ShearX", 0.5).Pix, []float32{1, 2, 3, 5, 6, 0}, 0)
	eq(t, "shearY 0.5", apply1(g(3, 2, 1, 2, 3, 4, 5, 6), "ShearY", 0.5).Pix, []float32{1, 4, 3, 6, 5, 0}, 0)
	// Rotate 90° counter-clockwise: the top-right pixel goes to the top-left.
	sq := g(3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	eq(t, "rotate 90", apply1(sq, "Rotate", 90).Pix, []float32{3, 6, 9, 2, 5, 8, 1, 4, 7}, 0)
	eq(t, "rotate -90", apply1(sq, "Rotate", -90).Pix, []float32{7, 4, 1, 8, 5, 2, 9, 6, 3}, 0)

	// Color with factor 0 gives the PIL grey 0.299 R + 0.587 G + 0.114 B in every channel.
	rgb := Image{Pix: []float32{1, 0, 0, 1, 0, 0}, C: 3, H: 1, W: 2} // pixels red and green
	eq(t, "color -1", apply1(rgb, "Color", -1).Pix, []float32{0.299, 0.587, 0.299, 0.587, 0.299, 0.587}, 1e-6)
	eq(t, "color +0.5", apply1(rgb, "Color", 0.5).Pix, []float32{1, 0, 0, 1, 0, 0}, 1e-6) // clipped
	// Contrast factor 0: the grey mean rounded to an 8-bit level: (0.299+0.587)/2·255 = 112.97 → 113.
	eq(t, "contrast -1", apply1(rgb, "Contrast", -1).Pix, lv(113, 113, 113, 113, 113, 113), 1e-7)
	eq(t, "contrast 1-channel", apply1(g(1, 2, 0, lv(100)[0]), "Contrast", -0.5).Pix, []float32{0.5 * level(50), 0.5 * (level(100) + level(50))}, 1e-6)
	// Sharpness factor 0 = SMOOTH: centre (1·8 + 5·v)/13, border unchanged.
	dot := g(3, 3, 0, 0, 0, 0, 1, 0, 0, 0, 0)
	eq(t, "sharpness -1", apply1(dot, "Sharpness", -1).Pix, []float32{0, 0, 0, 0, 5.0 / 13, 0, 0, 0, 0}, 1e-6)
	// Factor 2 sharpens: 2·1 − 5/13 = 21/13 → clipped to 1.
	eq(t, "sharpness +1", apply1(dot, "Sharpness", 1).Pix, []float32{0, 0, 0, 0, 1, 0, 0, 0, 0}, 1e-6)
	eq(t, "autocontrast", apply1(g(1, 3, 0.2, 0.4, 0.6), "AutoContrast", 0).Pix, []float32{0, 0.5, 1}, 1e-6)
	eq(t, "autocontrast flat", apply1(g(1, 2, 0.3, 0.3), "AutoContrast", 0).Pix, []float32{0.3, 0.3}, 0)

	// Equalize (PIL): two levels of 512 pixels each map to 0 and 255; fewer than 256
	// pixels outside the top level leave the image unchanged.
	two := NewImage(1, 32, 32)
	for i := range two.Pix {
		two.Pix[i] = level(50)
		if i%2 == 1 {
			two.Pix[i] = level(100)
		}
	}
	out := apply1(two, "Equalize", 0)
	for i, v := range out.Pix {
		if want := float32(i % 2); v != want {
			t.Fatalf("equalize pixel %d = %v, want %v", i, v, want)
		}
	}
	three := NewImage(1, 32, 32) // 256 at 10, 512 at 20, 256 at 30: step = 768/256 = 3
	for i := range three.Pix {
		three.Pix[i] = level([]uint8{10, 20, 20, 30}[i%4])
	}
	// lut: levels ≤ 10 → 1//3 = 0; 11..20 → (1+256)//3 = 85; 21..30 → (257+512)//3 = 256 → 255.
	out = apply1(three, "Equalize", 0)
	eq(t, "equalize 3 levels", out.Pix[:4], lv(0, 85, 85, 255), 0)
	eq(t, "equalize small", apply1(ramp, "Equalize", 0).Pix, ramp.Pix, 0)
}

// At magnitude 0 every operation except Solarize (255 turns white black) and AutoContrast
// is the identity (Equalize too on images of fewer than 256 pixels).
func TestRandAugmentMagnitudeZero(t *testing.T) {
	img := imageOf(3, 4, 5, func(ch, y, x int) float32 { return level(uint8((37*ch + 53*y + 71*x) % 256)) })
	for _, op := range RandAugmentOps {
		for _, sign := range []float64{1, -1} {
			mag, signed := raMagnitude(op, 0, 31, 4, 5)
			if !signed {
				sign = 1
			}
			out := apply1(img, op, sign*mag)
			same := slices.Equal(out.Pix, img.Pix)
			switch op {
			case "Solarize", "AutoContrast":
				// not the identity in general
			default:
				if !same {
					t.Errorf("%s at magnitude 0 changed the image", op)
				}
			}
		}
	}
	// A 4×5 image with every channel spanning [0, 1]: AutoContrast and Equalize (fewer
	// than 256 pixels) are the identity, Solarize turns exactly the 1.0 pixels to 0.
	img = imageOf(3, 4, 5, func(ch, y, x int) float32 {
		switch i := y*5 + x; {
		case i == ch:
			return 0
		case i == 10+ch:
			return 1
		default:
			return level(uint8(20 + 11*i + ch))
		}
	})
	ra := RandAugment{N: 2, M: 0}
	sawSolarize, sawOther := false, false
	for s := uint64(0); s < 60; s++ {
		x := slices.Clone(img.Pix)
		ra.Apply(x, 3, 4, 5, rngOf(s))
		solarized, skip := false, false
		for _, c := range ra.choices(4, 5, rngOf(s)) {
			skip = skip || solarized && c.op == "AutoContrast" // stretches the solarized channel
			solarized = solarized || c.op == "Solarize"
		}
		if skip {
			continue
		}
		want := slices.Clone(img.Pix)
		if solarized {
			sawSolarize = true
			for i, v := range want {
				if v == 1 {
					want[i] = 0
				}
			}
		} else {
			sawOther = true
		}
		if !slices.Equal(x, want) {
			t.Fatalf("seed %d (%v): image changed", s, ra.choices(4, 5, rngOf(s)))
		}
	}
	if !sawSolarize || !sawOther {
		t.Fatal("seeds did not cover both cases")
	}
}

func TestRandAugmentDeterministic(t *testing.T) {
	img := imageOf(3, 16, 16, func(ch, y, x int) float32 { return float32((ch*7+y*3+x*5)%17) / 16 })
	ra := RandAugment{N: 2, M: 9}
	run := func(seed uint64) []float32 {
		x := slices.Clone(img.Pix)
		ra.Apply(x, 3, 16, 16, rngOf(seed))
		return x
	}
	ops := map[string]bool{}
	differ := 0
	for s := uint64(0); s < 100; s++ {
		a, b := run(s), run(s)
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d not deterministic", s)
		}
		for _, v := range a {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("seed %d: pixel %v outside [0,1]", s, v)
			}
		}
		if !slices.Equal(a, img.Pix) {
			differ++
		}
		for _, c := range ra.choices(16, 16, rngOf(s)) {
			ops[c.op] = true
		}
	}
	if len(ops) != len(RandAugmentOps) || differ < 80 {
		t.Fatalf("ops drawn %d, images changed %d/100", len(ops), differ)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "magnitude 31") {
			t.Fatalf("out-of-range magnitude: %v", r)
		}
	}()
	RandAugment{N: 1, M: 31}.Apply(slices.Clone(img.Pix), 3, 16, 16, rngOf(0))
}

// The spec §6.1 pipelines: shapes, ingredients, determinism.
func TestSpecTransforms(t *testing.T) {
	cifar, ok := TrainTransform("cifar10").(Compose)
	if !ok || len(cifar) != 5 {
		t.Fatalf("cifar10 train: %#v", TrainTransform("cifar10"))
	}
	if ra, ok := cifar[2].(RandAugment); !ok || ra.N != 2 || ra.M != 9 {
		t.Fatalf("cifar10 RandAugment: %#v", cifar[2])
	}
	for _, name := range []string{"imagenette", "tiny-imagenet", "cifar100"} {
		shape, _ := InputShape(name)
		c, h, w := shape[0], shape[1], shape[2]
		img := imageOf(c, h+9, w+21, func(ch, y, x int) float32 { return float32((ch+y+2*x)%13) / 12 })
		tf := TrainTransform(name)
		if st, ok := tf.(SizeTransform); ok {
			a := st.ApplyImage(Image{Pix: slices.Clone(img.Pix), C: c, H: img.H, W: img.W}, rngOf(3))
			b := st.ApplyImage(Image{Pix: slices.Clone(img.Pix), C: c, H: img.H, W: img.W}, rngOf(3))
			if a.C != c || a.H != h || a.W != w || !slices.Equal(a.Pix, b.Pix) {
				t.Fatalf("%s: %dx%dx%d or not deterministic", name, a.C, a.H, a.W)
			}
		} else if name != "cifar100" {
			t.Fatalf("%s train transform is not a Pipeline", name)
		}
		x := make([]float32, c*h*w)
		tf.Apply(x, c, h, w, rngOf(1)) // in-place use on a buffer of the final size
		TestTransform(name).Apply(x, c, h, w, nil)
	}
	te := TestTransform("imagewoof").(Pipeline)
	out := te.ApplyImage(imageOf(3, 300, 400, func(int, int, int) float32 { return 0.5 }), nil)
	if out.H != 224 || out.W != 224 || !close32(out.Pix[0], (0.5-0.485)/0.229, 1e-5) {
		t.Fatalf("imagewoof test: %dx%d %v", out.H, out.W, out.Pix[0])
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "buffer holds 3×32×32") {
			t.Fatalf("size mismatch: %v", r)
		}
	}()
	TrainTransform("imagenette").Apply(make([]float32, 3*32*32), 3, 32, 32, rngOf(0))
}

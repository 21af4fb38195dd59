package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pixelAt is the test pattern of file k: distinct, exactly representable 8-bit values.
func pixelAt(k, x, y int) color.NRGBA {
	return color.NRGBA{R: uint8(10*k + x), G: uint8(100 + y), B: uint8(200 + x + y), A: 255}
}

func pngBytes(t testing.TB, k, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, pixelAt(k, x, y))
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegBytes encodes a constant colour (which JPEG keeps almost exactly).
func jpegBytes(t testing.TB, c color.RGBA, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A small ImageFolder tree: classes sorted by name, files sorted (sub-folders after the
// class folder's own files, as sorted(os.walk) gives), extensions in any case, other files
// and hidden entries ignored.
func TestImageFolderTree(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "zebra", "b.png"), pngBytes(t, 1, 5, 4))
	writeFile(t, filepath.Join(root, "zebra", "a.PNG"), pngBytes(t, 2, 3, 6))
	writeFile(t, filepath.Join(root, "zebra", "notes.txt"), []byte("not an image"))
	writeFile(t, filepath.Join(root, "zebra", "sub", "c.jpeg"), jpegBytes(t, color.RGBA{200, 40, 90, 255}, 7, 9))
	writeFile(t, filepath.Join(root, "ant", "x.jpg"), jpegBytes(t, color.RGBA{10, 250, 128, 255}, 16, 8))
	writeFile(t, filepath.Join(root, "ant", ".hidden.png"), []byte("junk"))
	writeFile(t, filepath.Join(root, ".ipynb_checkpoints", "y.png"), pngBytes(t, 3, 2, 2))
	writeFile(t, filepath.Join(root, "README"), []byte("x"))

	ds, err := OpenImageFolder(root, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ClassNames(), []string{"ant", "zebra"}) || ds.Classes() != 2 {
		t.Fatalf("classes %v", ds.ClassNames())
	}
	wantFiles := []string{"ant/x.jpg", "zebra/a.PNG", "zebra/b.png", "zebra/sub/c.jpeg"}
	wantLabels := []int{0, 1, 1, 1}
	if ds.Len() != len(wantFiles) {
		t.Fatalf("len %d", ds.Len())
	}
	for i, f := range wantFiles {
		if ds.Path(i) != filepath.Join(root, f) || ds.Label(i) != wantLabels[i] {
			t.Errorf("sample %d: %s label %d, want %s label %d", i, ds.Path(i), ds.Label(i), f, wantLabels[i])
		}
	}
	if c, h, w := ds.Shape(); c != 3 || h != 4 || w != 4 {
		t.Fatalf("shape %d %d %d", c, h, w)
	}

	// PNG pixels are exact: value/255 per channel, CHW.
	img, label, err := ds.LoadImage(2) // zebra/b.png, pattern 1, 5×4
	if err != nil || label != 1 || img.C != 3 || img.H != 4 || img.W != 5 {
		t.Fatalf("LoadImage: %v label %d size %dx%dx%d", err, label, img.C, img.H, img.W)
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 5; x++ {
			p := pixelAt(1, x, y)
			for ch, v := range []uint8{p.R, p.G, p.B} {
				if got, want := img.Pix[(ch*4+y)*5+x], float32(v)*(1.0/255); got != want {
					t.Fatalf("pixel (%d,%d,%d) = %v, want %v", ch, y, x, got, want)
				}
			}
		}
	}
	// JPEG of a constant colour decodes to that colour within a few levels.
	img, _, err = ds.LoadImage(0)
	if err != nil || img.H != 8 || img.W != 16 {
		t.Fatalf("jpeg: %v %dx%d", err, img.H, img.W)
	}
	for ch, v := range []float64{10, 250, 128} {
		if got := float64(img.Pix[ch*128+37]) * 255; math.Abs(got-v) > 3 {
			t.Errorf("jpeg channel %d: %v, want ≈%v", ch, got, v)
		}
	}
	// Get fits every image to 3×4×4 (resize shorter side, centre crop); a constant
	// colour stays constant.
	x := make([]float32, 48)
	for i := 0; i < ds.Len(); i++ {
		if l := ds.Get(i, x); l != wantLabels[i] {
			t.Fatalf("Get label %d", l)
		}
	}
	ds.Get(0, x)
	for i, v := range x {
		want := []float64{10, 250, 128}[i/16]
		if math.Abs(float64(v)*255-want) > 3 {
			t.Fatalf("fitted jpeg %d: %v", i, v*255)
		}
	}
}

func TestImageFolderErrors(t *testing.T) {
	// Empty tree.
	root := t.TempDir()
	if _, err := OpenImageFolder(root, 4, 4); err == nil || !strings.Contains(err.Error(), "empty tree") || !strings.Contains(err.Error(), root) {
		t.Errorf("empty tree: %v", err)
	}
	if _, err := OpenImageFolder(filepath.Join(root, "nope"), 4, 4); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing root: %v", err)
	}
	// A class without images.
	os.MkdirAll(filepath.Join(root, "empty"), 0o755)
	writeFile(t, filepath.Join(root, "full", "a.png"), pngBytes(t, 0, 2, 2))
	if _, err := OpenImageFolder(root, 4, 4); err == nil || !strings.Contains(err.Error(), "class folder empty holds no") {
		t.Errorf("empty class: %v", err)
	}
	// A format torchvision would read but we cannot.
	writeFile(t, filepath.Join(root, "empty", "a.bmp"), []byte("BM"))
	if _, err := OpenImageFolder(root, 4, 4); err == nil || !strings.Contains(err.Error(), "a.bmp: unsupported image format") {
		t.Errorf("bmp: %v", err)
	}
	os.Remove(filepath.Join(root, "empty", "a.bmp"))

	// Truncated PNG and JPEG files: LoadImage names the file, Get panics with it.
	good := pngBytes(t, 0, 6, 6)
	writeFile(t, filepath.Join(root, "empty", "b.png"), good[:len(good)-20])
	j := jpegBytes(t, color.RGBA{1, 2, 3, 255}, 16, 16)
	writeFile(t, filepath.Join(root, "empty", "c.jpg"), j[:len(j)/2])
	writeFile(t, filepath.Join(root, "empty", "d.png"), []byte("definitely not a PNG"))
	ds, err := OpenImageFolder(root, 4, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"b.png", "c.jpg", "d.png"} {
		_, _, err := ds.LoadImage(i)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "empty", name)) || !strings.Contains(err.Error(), "unreadable image") {
			t.Errorf("%s: %v", name, err)
		}
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(fmt.Sprint(r), name) {
					t.Errorf("Get of %s: panic %v", name, r)
				}
			}()
			ds.Get(i, make([]float32, 48))
		}()
	}
	if _, err := decodeImageBytes("huge.png", pngBytes(t, 0, 40, 30), 1000); err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Errorf("pixel limit: %v", err)
	}
}

// Open wires imagenette/imagewoof: train and val folders (test → val), optionally inside
// imagenette2-320, 10 classes required, 3×224×224 samples.
func TestOpenImagenette(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "imagewoof2-320")
	for k := 0; k < 10; k++ {
		wnid := fmt.Sprintf("n%08d", 9-k) // reverse creation order; labels follow the sorted names
		writeFile(t, filepath.Join(root, "train", wnid, "a.JPEG"), jpegBytes(t, color.RGBA{uint8(20 * k), 0, 0, 255}, 320, 240+k))
		writeFile(t, filepath.Join(root, "val", wnid, "v.JPEG"), jpegBytes(t, color.RGBA{uint8(20 * k), 0, 0, 255}, 250, 320))
	}
	for _, split := range []string{"train", "test"} {
		ds, err := Open("imagewoof", split, dir)
		if err != nil {
			t.Fatal(err)
		}
		if c, h, w := ds.Shape(); c != 3 || h != 224 || w != 224 || ds.Len() != 10 || ds.Classes() != 10 {
			t.Fatalf("%s: shape %d %d %d len %d", split, c, h, w, ds.Len())
		}
		if ds.ClassNames()[0] != "n00000000" {
			t.Fatalf("classes %v", ds.ClassNames())
		}
		x := make([]float32, 3*224*224)
		// label 3 is n00000003, written with k = 6 → red 120.
		if l := ds.Get(3, x); l != 3 || math.Abs(float64(x[224*112+100])*255-120) > 3 {
			t.Fatalf("%s: label %d red %v", split, l, x[224*112+100]*255)
		}
		// Both transforms keep the 3×224×224 shape through the loader.
		for _, tf := range []Transform{TrainTransform("imagewoof"), TestTransform("imagewoof")} {
			l := NewLoader(ds, tf, 4, true, 1, false)
			n := 0
			for b := range l.Epoch(0) {
				if len(b.X) != len(b.Labels)*3*224*224 {
					t.Fatalf("batch size %d for %d labels", len(b.X), len(b.Labels))
				}
				n += len(b.Labels)
			}
			l.Close()
			if n != 10 {
				t.Fatalf("%d samples", n)
			}
		}
	}
	os.RemoveAll(filepath.Join(root, "val", "n00000004"))
	if _, err := Open("imagewoof", "test", dir); err == nil || !strings.Contains(err.Error(), "9 class folders, want 10") {
		t.Errorf("class count: %v", err)
	}
}

// writeTiny writes a Tiny-ImageNet-200 layout with the given wnids (file order), n train
// images per class and the val annotations.
func writeTiny(t *testing.T, root string, wnids []string, ann [][2]string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "wnids.txt"), []byte(strings.Join(wnids, "\n")+"\n"))
	for k, id := range wnids {
		for i := 0; i < 2; i++ {
			writeFile(t, filepath.Join(root, "train", id, "images", fmt.Sprintf("%s_%d.JPEG", id, i)), jpegBytes(t, color.RGBA{uint8(50 * k), 0, 0, 255}, 64, 64))
		}
		writeFile(t, filepath.Join(root, "train", id, id+"_boxes.txt"), []byte("x\t0\t0\t1\t1\n"))
	}
	var lines []string
	for i, a := range ann {
		writeFile(t, filepath.Join(root, "val", "images", a[0]), pngBytes(t, i, 64, 64))
		lines = append(lines, a[0]+"\t"+a[1]+"\t0\t3\t40\t60")
	}
	writeFile(t, filepath.Join(root, "val", "val_annotations.txt"), []byte(strings.Join(lines, "\n")+"\n"))
}

func TestTinyImageNet(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "tiny-imagenet-200")
	wnids := []string{"n09999999", "n01443537", "n05555555"} // file order is not sorted
	ann := [][2]string{{"val_0.JPEG", "n05555555"}, {"val_1.JPEG", "n01443537"}, {"val_2.JPEG", "n09999999"},
		{"val_3.JPEG", "n01443537"}, {"val_10.JPEG", "n05555555"}}
	writeTiny(t, root, wnids, ann)

	tr, err := OpenTinyImageNet(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	sorted := []string{"n01443537", "n05555555", "n09999999"}
	if !slices.Equal(tr.ClassNames(), sorted) || tr.Len() != 6 {
		t.Fatalf("classes %v len %d", tr.ClassNames(), tr.Len())
	}
	for i := 0; i < 6; i++ {
		want := filepath.Join(root, "train", sorted[i/2], "images", fmt.Sprintf("%s_%d.JPEG", sorted[i/2], i%2))
		if tr.Path(i) != want || tr.Label(i) != i/2 {
			t.Fatalf("train %d: %s %d", i, tr.Path(i), tr.Label(i))
		}
	}
	x := make([]float32, 3*64*64)
	// Class n05555555 is wnids.txt entry 2 → red 100.
	if l := tr.Get(2, x); l != 1 || math.Abs(float64(x[100])*255-100) > 3 {
		t.Fatalf("train Get: label %d red %v", l, x[100]*255)
	}

	va, err := OpenTinyImageNet(root, "val")
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by (class, file name): n01443537: val_1, val_3; n05555555: val_0, val_10; n09999999: val_2.
	wantFiles := []string{"val_1.JPEG", "val_3.JPEG", "val_0.JPEG", "val_10.JPEG", "val_2.JPEG"}
	wantPattern := []int{1, 3, 0, 4, 2}
	for i, f := range wantFiles {
		if va.Path(i) != filepath.Join(root, "val", "images", f) || va.Label(i) != []int{0, 0, 1, 1, 2}[i] {
			t.Fatalf("val %d: %s label %d", i, va.Path(i), va.Label(i))
		}
		// .JPEG-named PNG content decodes by content; exact values.
		if l := va.Get(i, x); l != va.Label(i) || x[64*5+7] != float32(pixelAt(wantPattern[i], 7, 5).R)*(1.0/255) {
			t.Fatalf("val %d pixel %v", i, x[64*5+7]*255)
		}
	}

	// Open maps test → val but requires 200 classes.
	if _, err := Open("tiny-imagenet", "test", dir); err == nil || !strings.Contains(err.Error(), "3 classes in wnids.txt, want 200") {
		t.Errorf("class count: %v", err)
	}

	// Errors.
	os.WriteFile(filepath.Join(root, "val", "val_annotations.txt"), []byte("val_0.JPEG\tn00000042\t0\t0\t1\t1\n"), 0o644)
	if _, err := OpenTinyImageNet(root, "val"); err == nil || !strings.Contains(err.Error(), "unknown class n00000042") || !strings.Contains(err.Error(), "val_annotations.txt line 1") {
		t.Errorf("unknown class: %v", err)
	}
	os.WriteFile(filepath.Join(root, "val", "val_annotations.txt"), []byte("val_7.JPEG\tn01443537\n"), 0o644)
	if _, err := OpenTinyImageNet(root, "val"); err == nil || !strings.Contains(err.Error(), "val_7.JPEG not found") {
		t.Errorf("missing image: %v", err)
	}
	os.WriteFile(filepath.Join(root, "val", "val_annotations.txt"), []byte("val_0.JPEG\tn01443537\n"), 0o644)
	if _, err := OpenTinyImageNet(root, "val"); err == nil || !strings.Contains(err.Error(), "have no annotation") {
		t.Errorf("unannotated images: %v", err)
	}
	os.MkdirAll(filepath.Join(root, "train", "n00000001", "images"), 0o755)
	writeFile(t, filepath.Join(root, "train", "n00000001", "images", "a.JPEG"), pngBytes(t, 0, 64, 64))
	if _, err := OpenTinyImageNet(root, "train"); err == nil || !strings.Contains(err.Error(), "class folder n00000001 is not in") {
		t.Errorf("unknown train class: %v", err)
	}
	os.Remove(filepath.Join(root, "wnids.txt"))
	if _, err := OpenTinyImageNet(dir, "train"); err == nil || !strings.Contains(err.Error(), "wnids.txt not found") {
		t.Errorf("missing wnids.txt: %v", err)
	}
	if _, err := Open("tiny-imagenet", "train", root); err == nil || !strings.Contains(err.Error(), "wnids.txt not found in "+root) {
		t.Errorf("missing wnids.txt via Open: %v", err)
	}
}

// A val tree already arranged by class is read as an ImageFolder.
func TestTinyImageNetValByClass(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "wnids.txt"), []byte("n2\nn1\n"))
	writeFile(t, filepath.Join(root, "val", "n2", "images", "a.png"), pngBytes(t, 0, 64, 64))
	writeFile(t, filepath.Join(root, "val", "n1", "b.png"), pngBytes(t, 1, 64, 64))
	va, err := OpenTinyImageNet(root, "val")
	if err != nil {
		t.Fatal(err)
	}
	if va.Len() != 2 || va.Label(0) != 0 || va.Label(1) != 1 || filepath.Base(va.Path(0)) != "b.png" {
		t.Fatalf("%v %v", va.files, va.labels)
	}
}

// The loader hands ImageFolder samples at their original size to a Pipeline; the same
// seed gives the same batches, and a Subset gives the same samples as the full set.
func TestImageFolderLoaderPipeline(t *testing.T) {
	root := t.TempDir()
	for k := 0; k < 6; k++ {
		writeFile(t, filepath.Join(root, fmt.Sprintf("c%d", k%2), fmt.Sprintf("%d.png", k)), pngBytes(t, k, 9+k, 12-k))
	}
	ds, err := OpenImageFolder(root, 6, 6)
	if err != nil {
		t.Fatal(err)
	}
	tf := Pipeline{
		Geometry: []SizeTransform{RandomResizedCrop{H: 6, W: 6}},
		Pixel:    Compose{HFlip{P: 0.5}, RandAugment{N: 2, M: 9}},
	}
	run := func(d Dataset, seed uint64) []float32 {
		l := NewLoader(d, tf, 4, false, seed, false)
		defer l.Close()
		var xs []float32
		for b := range l.Epoch(2) {
			xs = append(xs, b.X...)
		}
		return xs
	}
	a, b, c := run(ds, 5), run(ds, 5), run(ds, 6)
	if len(a) != 6*3*36 || !slices.Equal(a, b) {
		t.Fatal("same seed, different batches")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds, same batches")
	}
	sub := run(Subset(ds, 3), 5)
	if !slices.Equal(sub, a[:3*3*36]) {
		t.Fatal("Subset lost the original-size path")
	}
}

func FuzzImageFolderDecode(f *testing.F) {
	p := pngBytes(f, 1, 5, 3)
	j := jpegBytes(f, color.RGBA{9, 99, 199, 255}, 17, 9)
	f.Add(p)
	f.Add(p[:len(p)/2])
	f.Add(j)
	f.Add(j[:len(j)-5])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xc0, 0, 0x11, 8, 0xff, 0xff, 0xff, 0xff, 3})
	for _, b := range realImageSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodeImageBytes("fuzz.img", b, 1<<18)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.img: unreadable image") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if img.C != 3 || img.H < 1 || img.W < 1 || len(img.Pix) != 3*img.H*img.W {
			t.Fatalf("bad image %d×%d×%d, %d values", img.C, img.H, img.W, len(img.Pix))
		}
		for _, v := range img.Pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("pixel %v outside [0,1]", v)
			}
		}
		out := Pipeline{Geometry: []SizeTransform{Resize{5}, CenterCrop{5, 5}}}.ApplyImage(img, nil)
		if out.H != 5 || out.W != 5 || len(out.Pix) != 75 {
			t.Fatalf("fit gave %d×%d", out.H, out.W)
		}
	})
}

// Decoding a 500×375 JPEG and running the Imagenette training pipeline on it.
func BenchmarkImagenetteSample(b *testing.B) {
	root := b.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 500, 375))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7 % 251)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	writeFile(b, filepath.Join(root, "c", "a.JPEG"), buf.Bytes())
	ds, err := OpenImageFolder(root, 224, 224)
	if err != nil {
		b.Fatal(err)
	}
	tf := TrainTransform("imagenette")
	x := make([]float32, 3*224*224)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		prepareSample(ds, tf, 0, x, 3, 224, 224, 1, i)
	}
}

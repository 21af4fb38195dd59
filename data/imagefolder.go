package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxImagePixels bounds the size of a decoded image (PIL's MAX_IMAGE_PIXELS), so that a
// corrupt header cannot make the decoder allocate gigabytes.
const maxImagePixels = 89478485

// maxPixelsPerByte bounds the pixels a JPEG or PNG file can encode per byte of file.
const maxPixelsPerByte = 4096

// imageExts are the file extensions ImageFolder loads (case-insensitive).
var imageExts = []string{".jpg", ".jpeg", ".png"}

// otherImageExts are extensions torchvision's ImageFolder would load but the standard
// library cannot decode; finding one is an error rather than a silently smaller dataset.
var otherImageExts = []string{".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// ImageFolder is a labelled set of image files decoded lazily, one sample per Get or
// LoadImage call, so the set need not fit in memory. It is safe for concurrent use.
type ImageFolder struct {
	name    string
	files   []string
	labels  []int
	classes []string
	c, h, w int
	// Fit maps a decoded image to the dataset's Shape in Get (Open sets the dataset's
	// evaluation geometry, e.g. Resize 256 + CenterCrop 224 for Imagenette). LoadImage
	// does not apply it.
	Fit SizeTransform
}

// Len is the number of images.
func (d *ImageFolder) Len() int { return len(d.files) }

// Shape is the size of the images Get returns: 3×H×W.
func (d *ImageFolder) Shape() (int, int, int) { return d.c, d.h, d.w }

// Classes is the number of classes.
func (d *ImageFolder) Classes() int { return len(d.classes) }

// ClassNames are the class folder names (WordNet ids for Imagenette, Imagewoof and
// Tiny-ImageNet) in label order.
func (d *ImageFolder) ClassNames() []string { return d.classes }

// Path is the file of sample i.
func (d *ImageFolder) Path(i int) string { return d.files[i] }

// Label is the label of sample i (without decoding the image).
func (d *ImageFolder) Label(i int) int { return d.labels[i] }

// LoadImage decodes sample i at its original size as RGB in [0, 1].
func (d *ImageFolder) LoadImage(i int) (Image, int, error) {
	img, err := DecodeImageFile(d.files[i])
	if err != nil {
		if d.name != "" {
			err = fmt.Errorf("dataset %s: %w", d.name, err)
		}
		return Image{}, 0, err
	}
	return img, d.labels[i], nil
}

// Get decodes sample i, fits it to Shape with Fit and writes it to dst. An unreadable
// file panics (the Dataset interface has no error path); use LoadImage to get the error.
func (d *ImageFolder) Get(i int, dst []float32) int {
	img, label, err := d.LoadImage(i)
	if err != nil {
		panic(err.Error())
	}
	fit := d.Fit
	if fit == nil {
		fit = ResizeTo{d.h, d.w}
	}
	img = fit.ApplyImage(img, nil)
	if img.C != d.c || img.H != d.h || img.W != d.w {
		panic(fmt.Sprintf("data: %s: Fit gave %d×%d×%d, want %d×%d×%d", d.files[i], img.C, img.H, img.W, d.c, d.h, d.w))
	}
	copy(dst[:len(img.Pix)], img.Pix)
	return label
}

// DecodeImageFile decodes a JPEG or PNG file as an RGB image in [0, 1] (PIL's
// convert("RGB"): grey is replicated, alpha dropped; 16-bit samples keep their high byte).
// JPEG chroma is upsampled by the standard library (no libjpeg "fancy upsampling"), so
// pixel values may differ from PIL's by a few levels.
func DecodeImageFile(path string) (Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Image{}, err
	}
	return decodeImageBytes(path, b, maxImagePixels)
}

// decodeImageBytes decodes b (named name in errors), rejecting images of more than
// maxPixels pixels before allocating them.
func decodeImageBytes(name string, b []byte, maxPixels int) (Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return Image{}, fmt.Errorf("%s: unreadable image: %w", name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Image{}, fmt.Errorf("%s: unreadable image: empty (%d×%d)", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return Image{}, fmt.Errorf("%s: unreadable image: %d×%d pixels exceeds the limit of %d", name, cfg.Width, cfg.Height, maxPixels)
	}
	// The decoders allocate the whole image from the header's size before reading the
	// data: a header claiming far more pixels than the file's bytes can encode (deflate
	// expands at most 1032-fold, a baseline JPEG needs about a bit per 8×8 block) is a
	// corrupt or truncated file, refused before that allocation.
	if int64(cfg.Width)*int64(cfg.Height) > maxPixelsPerByte*int64(len(b)) {
		return Image{}, fmt.Errorf("%s: unreadable image: the header claims %d×%d pixels, more than %d bytes can hold", name, cfg.Width, cfg.Height, len(b))
	}
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return Image{}, fmt.Errorf("%s: unreadable image: %w", name, err)
	}
	return toRGB(m), nil
}

// toRGB converts a decoded image to 3×H×W float32 in [0, 1].
func toRGB(m image.Image) Image {
	r := m.Bounds()
	w, h := r.Dx(), r.Dy()
	out := NewImage(3, h, w)
	hw := h * w
	R, G, B := out.Pix[:hw], out.Pix[hw:2*hw], out.Pix[2*hw:]
	switch im := m.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := im.YOffset(r.Min.X+x, r.Min.Y+y)
				ci := im.COffset(r.Min.X+x, r.Min.Y+y)
				cr, cg, cb := color.YCbCrToRGB(im.Y[yi], im.Cb[ci], im.Cr[ci])
				i := y*w + x
				R[i], G[i], B[i] = level(cr), level(cg), level(cb)
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := im.Pix[y*im.Stride : y*im.Stride+w]
			for x, v := range row {
				i := y*w + x
				R[i], G[i], B[i] = level(v), level(v), level(v)
			}
		}
	case *image.RGBA: // opaque in practice (PNG RGB); alpha is dropped like PIL
		rgb8(im.Pix, im.Stride, w, h, R, G, B)
	case *image.NRGBA:
		rgb8(im.Pix, im.Stride, w, h, R, G, B)
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var c color.NRGBA
				if n, ok := m.At(r.Min.X+x, r.Min.Y+y).(color.NRGBA); ok {
					c = n // palette entries keep their colour even when transparent
				} else {
					c = color.NRGBAModel.Convert(m.At(r.Min.X+x, r.Min.Y+y)).(color.NRGBA)
				}
				i := y*w + x
				R[i], G[i], B[i] = level(c.R), level(c.G), level(c.B)
			}
		}
	}
	return out
}

// rgb8 copies the RGB bytes of 4-byte-per-pixel rows.
func rgb8(pix []byte, stride, w, h int, R, G, B []float32) {
	for y := 0; y < h; y++ {
		row := pix[y*stride : y*stride+4*w]
		for x := 0; x < w; x++ {
			i := y*w + x
			R[i], G[i], B[i] = level(row[4*x]), level(row[4*x+1]), level(row[4*x+2])
		}
	}
}

// hasExt reports whether name ends in one of exts, ignoring case.
func hasExt(name string, exts []string) bool {
	l := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

// isDir reports whether a directory entry is a directory or a symbolic link to one.
func isDir(dir string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink != 0 {
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		return err == nil && st.IsDir()
	}
	return false
}

// classFiles lists the image files under dir recursively in torchvision's order:
// directories sorted by path (sorted(os.walk(dir, followlinks=True))), files sorted by
// name within each directory. Hidden files and directories are skipped.
func classFiles(dir string) ([]string, error) {
	type folder struct {
		path  string
		files []string
	}
	var folders []folder
	var walk func(d string, depth int) error
	walk = func(d string, depth int) error {
		if depth > 32 {
			return fmt.Errorf("%s: directories nested too deeply (symbolic link loop?)", d)
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		f := folder{path: d}
		for _, e := range entries {
			n := e.Name()
			if strings.HasPrefix(n, ".") {
				continue
			}
			if isDir(d, e) {
				if err := walk(filepath.Join(d, n), depth+1); err != nil {
					return err
				}
				continue
			}
			switch {
			case hasExt(n, imageExts):
				f.files = append(f.files, n)
			case hasExt(n, otherImageExts):
				return fmt.Errorf("%s: unsupported image format (only JPEG and PNG are decoded)", filepath.Join(d, n))
			}
		}
		folders = append(folders, f)
		return nil
	}
	if err := walk(dir, 0); err != nil {
		return nil, err
	}
	slices.SortFunc(folders, func(a, b folder) int { return strings.Compare(a.path, b.path) })
	var out []string
	for _, f := range folders {
		slices.Sort(f.files)
		for _, n := range f.files {
			out = append(out, filepath.Join(f.path, n))
		}
	}
	return out, nil
}

// scanImageFolder reads a torchvision ImageFolder tree root/<class>/**/*.{jpg,jpeg,png}:
// classes are the (non-hidden) sub-folders sorted by name, labels their indices; every
// class must hold at least one image.
func scanImageFolder(root string) (classes, files []string, labels []int, err error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") && isDir(root, e) {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: empty tree: no class folders", root)
	}
	slices.Sort(classes)
	for k, c := range classes {
		fs, err := classFiles(filepath.Join(root, c))
		if err != nil {
			return nil, nil, nil, err
		}
		if len(fs) == 0 {
			return nil, nil, nil, fmt.Errorf("%s: class folder %s holds no .jpg/.jpeg/.png image", root, c)
		}
		files = append(files, fs...)
		for range fs {
			labels = append(labels, k)
		}
	}
	return classes, files, labels, nil
}

// OpenImageFolder opens a torchvision-style ImageFolder tree dir/<class>/*.{jpg,jpeg,png}
// (extensions in any case; sub-folders of a class are included; hidden entries skipped)
// whose images Get fits to 3×h×w by resizing the shorter side to min(h, w) and
// centre-cropping. Classes are the folder names sorted, as torchvision does.
func OpenImageFolder(dir string, h, w int) (*ImageFolder, error) {
	classes, files, labels, err := scanImageFolder(dir)
	if err != nil {
		return nil, err
	}
	return &ImageFolder{files: files, labels: labels, classes: classes, c: 3, h: h, w: w,
		Fit: Pipeline{Geometry: []SizeTransform{Resize{min(h, w)}, CenterCrop{h, w}}}}, nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openImagenette opens Imagenette2 / Imagewoof2 (fast.ai): dir/train/<wnid>/*.JPEG and
// dir/val/<wnid>/*.JPEG; the test split is val. dir may also be the folder holding
// imagenette2, imagenette2-320 or imagenette2-160 (imagewoof2… likewise).
func openImagenette(name, split, dir string) (Dataset, error) {
	root := dir
	if !exists(filepath.Join(dir, "train")) {
		base := name + "2"
		for _, sub := range []string{base, base + "-320", base + "-160"} {
			if exists(filepath.Join(dir, sub, "train")) {
				root = filepath.Join(dir, sub)
				break
			}
		}
	}
	sub := "train"
	if split == "test" {
		sub = "val"
	}
	ds, err := OpenImageFolder(filepath.Join(root, sub), 224, 224)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	ds.name = name
	ds.Fit = Pipeline{Geometry: evalGeometry(name)}
	if want, _ := NumClasses(name); ds.Classes() != want {
		return nil, fmt.Errorf("dataset %s: %s has %d class folders, want %d", name, filepath.Join(root, sub), ds.Classes(), want)
	}
	return ds, nil
}

// OpenTinyImageNet opens split "train" or "val" of Tiny-ImageNet-200 in dir (or
// dir/tiny-imagenet-200): classes are the WordNet ids of wnids.txt in sorted order (the
// order torchvision's ImageFolder gives the train/<wnid> folders); training images are
// train/<wnid>/images/*.JPEG; validation images are val/images/*.JPEG labelled by
// val/val_annotations.txt (tab-separated file name, wnid, bounding box), ordered by
// (class, file name) as ImageFolder orders a val tree rearranged by class. A val tree
// already arranged as val/<wnid>/… (no val_annotations.txt) is read as an ImageFolder.
// Get fits images to 3×64×64 (they are 64×64 already).
func OpenTinyImageNet(dir, split string) (*ImageFolder, error) {
	root := dir
	if !exists(filepath.Join(dir, "wnids.txt")) && exists(filepath.Join(dir, "tiny-imagenet-200", "wnids.txt")) {
		root = filepath.Join(dir, "tiny-imagenet-200")
	}
	wpath := filepath.Join(root, "wnids.txt")
	b, err := os.ReadFile(wpath)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("wnids.txt not found in %s (the class list of Tiny-ImageNet)", root)
		}
		return nil, err
	}
	var wnids []string
	index := map[string]int{}
	for n, line := range strings.Split(string(b), "\n") {
		id := strings.TrimSpace(line)
		if id == "" {
			continue
		}
		if _, dup := index[id]; dup {
			return nil, fmt.Errorf("%s line %d: duplicate class %q", wpath, n+1, id)
		}
		index[id] = -1
		wnids = append(wnids, id)
	}
	if len(wnids) == 0 {
		return nil, fmt.Errorf("%s: no classes", wpath)
	}
	slices.Sort(wnids)
	for k, id := range wnids {
		index[id] = k
	}
	ds := &ImageFolder{name: "tiny-imagenet", classes: wnids, c: 3, h: 64, w: 64, Fit: ResizeTo{64, 64}}
	sub := filepath.Join(root, split)
	switch {
	case split != "train" && split != "val":
		return nil, fmt.Errorf("split %q, want train or val", split)
	case split == "val" && exists(filepath.Join(sub, "val_annotations.txt")):
		ds.files, ds.labels, err = tinyVal(sub, index)
		if err != nil {
			return nil, err
		}
		return ds, nil
	}
	classes, files, labels, err := scanImageFolder(sub)
	if err != nil {
		return nil, err
	}
	for _, c := range classes {
		if _, ok := index[c]; !ok {
			return nil, fmt.Errorf("%s: class folder %s is not in %s", sub, c, wpath)
		}
	}
	if len(classes) != len(wnids) {
		for _, id := range wnids {
			if _, ok := slices.BinarySearch(classes, id); !ok {
				return nil, fmt.Errorf("%s: no folder for class %s of %s", sub, id, wpath)
			}
		}
	}
	ds.files, ds.labels = files, labels // classes == wnids, both sorted
	return ds, nil
}

// tinyVal reads val/images/* labelled by val/val_annotations.txt.
func tinyVal(valDir string, index map[string]int) ([]string, []int, error) {
	apath := filepath.Join(valDir, "val_annotations.txt")
	b, err := os.ReadFile(apath)
	if err != nil {
		return nil, nil, err
	}
	imgDir := filepath.Join(valDir, "images")
	entries, err := os.ReadDir(imgDir)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", apath, err)
	}
	present := map[string]bool{}
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, ".") && hasExt(n, imageExts) {
			present[n] = true
		}
	}
	type item struct {
		file  string
		label int
	}
	var items []item
	seen := map[string]bool{}
	for n, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, nil, fmt.Errorf("%s line %d: want file name and class, got %q", apath, n+1, strings.TrimSpace(line))
		}
		k, ok := index[f[1]]
		if !ok {
			return nil, nil, fmt.Errorf("%s line %d: unknown class %s (not in wnids.txt)", apath, n+1, f[1])
		}
		if seen[f[0]] {
			return nil, nil, fmt.Errorf("%s line %d: %s annotated twice", apath, n+1, f[0])
		}
		if !present[f[0]] {
			return nil, nil, fmt.Errorf("%s line %d: image %s not found in %s", apath, n+1, f[0], imgDir)
		}
		seen[f[0]] = true
		items = append(items, item{f[0], k})
	}
	var missing []string
	for n := range present {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, nil, fmt.Errorf("%s: %d images have no annotation (first %s)", apath, len(missing), filepath.Join(imgDir, missing[0]))
	}
	if len(items) == 0 {
		return nil, nil, fmt.Errorf("%s: empty tree: no annotated images", apath)
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.label != b.label {
			return a.label - b.label
		}
		return strings.Compare(a.file, b.file)
	})
	files, labels := make([]string, len(items)), make([]int, len(items))
	for i, it := range items {
		files[i], labels[i] = filepath.Join(imgDir, it.file), it.label
	}
	return files, labels, nil
}

// openTiny opens Tiny-ImageNet for Open: the test split is val; 200 classes are required.
func openTiny(split, dir string) (Dataset, error) {
	if split == "test" {
		split = "val"
	}
	ds, err := OpenTinyImageNet(dir, split)
	if err != nil {
		return nil, fmt.Errorf("dataset tiny-imagenet: %w", err)
	}
	if want, _ := NumClasses("tiny-imagenet"); ds.Classes() != want {
		return nil, fmt.Errorf("dataset tiny-imagenet: %d classes in wnids.txt, want %d", ds.Classes(), want)
	}
	return ds, nil
}

package data

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Dataset is an indexable labelled image set.
type Dataset interface {
	Len() int
	// Get writes sample i as CHW float32 pixels in [0, 1] into dst (len C·H·W) and
	// returns its label.
	Get(i int, dst []float32) int
	Shape() (c, h, w int)
	Classes() int
	ClassNames() []string
}

// bytesDataset holds uint8 images in memory (IDX, CIFAR).
type bytesDataset struct {
	pix        []byte // n·c·h·w, CHW per image
	labels     []byte
	c, h, w    int
	classes    int
	classNames []string
}

func (d *bytesDataset) Len() int { return len(d.labels) }

func (d *bytesDataset) Get(i int, dst []float32) int {
	n := d.c * d.h * d.w
	src := d.pix[i*n : (i+1)*n]
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = float32(v) * (1.0 / 255)
	}
	return int(d.labels[i])
}

func (d *bytesDataset) Shape() (int, int, int) { return d.c, d.h, d.w }
func (d *bytesDataset) Classes() int           { return d.classes }
func (d *bytesDataset) ClassNames() []string   { return d.classNames }

// Names lists the datasets Open knows.
func Names() []string {
	return []string{"mnist", "fashion-mnist", "cifar10", "cifar100", "imagenette", "imagewoof", "tiny-imagenet"}
}

// InputShape returns the per-sample input shape [C, H, W] models expect for a dataset.
func InputShape(name string) ([]int, error) {
	switch name {
	case "mnist", "fashion-mnist":
		return []int{1, 28, 28}, nil
	case "cifar10", "cifar100":
		return []int{3, 32, 32}, nil
	case "tiny-imagenet":
		return []int{3, 64, 64}, nil
	case "imagenette", "imagewoof":
		return []int{3, 224, 224}, nil
	}
	return nil, fmt.Errorf("unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}

// NumClasses returns the number of classes of a dataset.
func NumClasses(name string) (int, error) {
	switch name {
	case "mnist", "fashion-mnist", "cifar10", "imagenette", "imagewoof":
		return 10, nil
	case "cifar100":
		return 100, nil
	case "tiny-imagenet":
		return 200, nil
	}
	return 0, fmt.Errorf("unknown dataset %q (known: %s)", name, strings.Join(Names(), ", "))
}

const goMNIST = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"

// DefaultDir finds a dataset's files: MNIST in the GoMNIST module ($FRPT_MNIST_DIR
// overrides), Fashion-MNIST in Debian's dataset-fashion-mnist ($FRPT_FASHION_MNIST_DIR
// overrides). Other datasets need an explicit folder.
func DefaultDir(name string) (string, error) {
	switch name {
	case "mnist":
		if d := os.Getenv("FRPT_MNIST_DIR"); d != "" {
			return d, nil
		}
		var tried []string
		for _, cache := range modCaches() {
			d := filepath.Join(cache, filepath.FromSlash(goMNIST), "data")
			if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err == nil {
				return d, nil
			}
			tried = append(tried, d)
		}
		return "", fmt.Errorf("MNIST not found (tried %s); run `go mod download` in the frpt module or pass --data", strings.Join(tried, ", "))
	case "fashion-mnist":
		d := os.Getenv("FRPT_FASHION_MNIST_DIR")
		if d == "" {
			d = "/usr/share/datasets/fashion-mnist"
		}
		if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err != nil {
			return "", fmt.Errorf("Fashion-MNIST not found in %s; install Debian's dataset-fashion-mnist or pass --data", d)
		}
		return d, nil
	}
	if _, err := InputShape(name); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no default location for %s: pass --data DIR", name)
}

// modCaches lists candidate Go module caches.
func modCaches() []string {
	var out []string
	if c := os.Getenv("GOMODCACHE"); c != "" {
		out = append(out, c)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		out = append(out, filepath.Join(strings.Split(gp, string(os.PathListSeparator))[0], "pkg", "mod"))
	}
	if b, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if c := strings.TrimSpace(string(b)); c != "" {
			out = append(out, c)
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(h, "go", "pkg", "mod"))
	}
	return out
}

// Open opens split "train" or "test" of a dataset; dir "" means DefaultDir(name).
// Imagenette/Imagewoof (dir/train, dir/val; test is val) and Tiny-ImageNet
// (OpenTinyImageNet; test is val) are *ImageFolder datasets decoded lazily.
func Open(name, split, dir string) (Dataset, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("dataset %s: split %q, want train or test", name, split)
	}
	if dir == "" {
		var err error
		if dir, err = DefaultDir(name); err != nil {
			return nil, err
		}
	}
	switch name {
	case "mnist", "fashion-mnist":
		return openIDX(name, split, dir)
	case "cifar10", "cifar100":
		return openCIFAR(name, split, dir)
	case "imagenette", "imagewoof":
		return openImagenette(name, split, dir)
	case "tiny-imagenet":
		return openTiny(split, dir)
	}
	_, err := InputShape(name)
	return nil, err
}

var fashionNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

func openIDX(name, split, dir string) (Dataset, error) {
	prefix := "train"
	if split == "test" {
		prefix = "t10k"
	}
	find := func(base string) (string, error) {
		for _, f := range []string{base + ".gz", base} {
			p := filepath.Join(dir, f)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("dataset %s: %s(.gz) not found in %s", name, base, dir)
	}
	ip, err := find(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lp, err := find(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	img, err := os.ReadFile(ip)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	lbl, err := os.ReadFile(lp)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	return idxDataset(name, ip, img, lp, lbl)
}

// idxDataset decodes an IDX image file and its label file (each gzip or raw, named in
// errors) into the dataset name (mnist or fashion-mnist): the images must have the
// one label per image, each in [0, 10).
func idxDataset(name, imgPath string, img []byte, lblPath string, lbl []byte) (Dataset, error) {
	n, h, w, pix, err := parseIDXImages(imgPath, img)
	if err != nil {
		return nil, err
	}
	labels, err := parseIDXLabels(lblPath, lbl)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("dataset %s: %s has %d images but %s has %d labels", name, imgPath, n, lblPath, len(labels))
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("dataset %s: %s: label %d of sample %d is out of range [0,10)", name, lblPath, l, i)
		}
	}
	names := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	if name == "fashion-mnist" {
		names = fashionNames
	}
	return &bytesDataset{pix: pix, labels: labels, c: 1, h: h, w: w, classes: 10, classNames: names}, nil
}

// subset is the first n samples of a dataset.
type subset struct {
	Dataset
	n int
}

func (s subset) Len() int { return s.n }

// LoadImage returns sample i at its original size (see RawDataset).
func (s subset) LoadImage(i int) (Image, int, error) { return loadImage(s.Dataset, i) }

// Subset returns the first n samples of ds.
func Subset(ds Dataset, n int) Dataset { return subset{ds, min(n, ds.Len())} }

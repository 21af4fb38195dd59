package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func idxBytes(dims []int, body []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(body)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// writeMNIST writes a tiny MNIST-format folder with n images of 4×3 whose pixel values
// encode the sample index, labels i%10.
func writeMNIST(t *testing.T, dir string, n int, compress bool) {
	t.Helper()
	pix := make([]byte, n*12)
	lab := make([]byte, n)
	for i := 0; i < n; i++ {
		for j := 0; j < 12; j++ {
			pix[i*12+j] = byte(i + j)
		}
		lab[i] = byte(i % 10)
	}
	for _, p := range []string{"train", "t10k"} {
		img, lbl := idxBytes([]int{n, 4, 3}, pix), idxBytes([]int{n}, lab)
		suffix := ""
		if compress {
			img, lbl, suffix = gz(img), gz(lbl), ".gz"
		}
		os.WriteFile(filepath.Join(dir, p+"-images-idx3-ubyte"+suffix), img, 0o644)
		os.WriteFile(filepath.Join(dir, p+"-labels-idx1-ubyte"+suffix), lbl, 0o644)
	}
}

func TestIDXDatasetGzipAndRaw(t *testing.T) {
	for _, compress := range []bool{true, false} {
		dir := t.TempDir()
		writeMNIST(t, dir, 7, compress)
		ds, err := Open("mnist", "train", dir)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() != 7 || ds.Classes() != 10 {
			t.Fatalf("len %d classes %d", ds.Len(), ds.Classes())
		}
		c, h, w := ds.Shape()
		if c != 1 || h != 4 || w != 3 {
			t.Fatalf("shape %d %d %d", c, h, w)
		}
		x := make([]float32, 12)
		if l := ds.Get(5, x); l != 5 || math.Abs(float64(x[2])-7.0/255) > 1e-7 {
			t.Fatalf("sample 5: label %d x[2] %v", l, x[2])
		}
	}
}

func TestIDXErrorsNameTheProblem(t *testing.T) {
	good := idxBytes([]int{2, 2, 2}, make([]byte, 8))
	cases := map[string][]byte{
		"too short":            {0, 0},
		"bad IDX magic":        append([]byte{1}, good[1:]...),
		"element type":         append([]byte{0, 0, 9}, good[3:]...),
		"truncated":            good[:len(good)-1],
		"truncated IDX header": good[:9],
	}
	for want, b := range cases {
		if _, _, err := ParseIDX("f.idx", b); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "f.idx") {
			t.Errorf("%s: got %v", want, err)
		}
	}
	dir := t.TempDir()
	writeMNIST(t, dir, 5, false)
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes([]int{4}, make([]byte, 4)), 0o644)
	if _, err := Open("mnist", "train", dir); err == nil || !strings.Contains(err.Error(), "5 images but") {
		t.Errorf("count mismatch: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "train-labels-idx1-ubyte"), idxBytes([]int{5}, []byte{0, 1, 2, 3, 12}), 0o644)
	if _, err := Open("mnist", "train", dir); err == nil || !strings.Contains(err.Error(), "label 12") {
		t.Errorf("label range: %v", err)
	}
	// A truncated gzip stream is reported, not silently shortened.
	g := gz(idxBytes([]int{5, 4, 3}, make([]byte, 60)))
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), g[:len(g)-10], 0o644)
	os.Remove(filepath.Join(dir, "t10k-images-idx3-ubyte"))
	if _, err := Open("mnist", "test", dir); err == nil {
		t.Error("truncated gzip accepted")
	}
}

func FuzzParseIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2, 2}, make([]byte, 8)))
	f.Add(idxBytes([]int{3}, []byte{1, 2, 3}))
	f.Add([]byte{0, 0, 8, 4, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, v, err := ParseIDX("fuzz", b)
		if err == nil {
			n := 1
			for _, d := range dims {
				n *= d
			}
			if n != len(v) {
				t.Fatalf("dims %v but %d values", dims, len(v))
			}
		}
	})
}

func cifarRecords(n, labelBytes, classes int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		rec := make([]byte, labelBytes+3072)
		rec[labelBytes-1] = byte(i % classes)
		rec[labelBytes] = byte(i)
		b = append(b, rec...)
	}
	return b
}

func TestCIFARBinary(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 5; i++ {
		os.WriteFile(filepath.Join(dir, "data_batch_"+string(rune('0'+i))+".bin"), cifarRecords(3, 1, 10), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "test_batch.bin"), cifarRecords(4, 1, 10), 0o644)
	os.WriteFile(filepath.Join(dir, "batches.meta.txt"), []byte("airplane\nautomobile\n"), 0o644)
	ds, err := Open("cifar10", "train", dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 15 || ds.ClassNames()[1] != "automobile" {
		t.Fatalf("len %d names %v", ds.Len(), ds.ClassNames())
	}
	x := make([]float32, 3072)
	if l := ds.Get(4, x); l != 1 || math.Abs(float64(x[0])-1.0/255) > 1e-7 {
		t.Fatalf("sample 4: label %d x0 %v", l, x[0])
	}
	os.WriteFile(filepath.Join(dir, "test_batch.bin"), cifarRecords(4, 1, 10)[:5000], 0o644)
	if _, err := Open("cifar10", "test", dir); err == nil || !strings.Contains(err.Error(), "test_batch.bin") {
		t.Fatalf("truncated CIFAR accepted: %v", err)
	}
	d100 := t.TempDir()
	os.WriteFile(filepath.Join(d100, "train.bin"), cifarRecords(5, 2, 100), 0o644)
	ds, err = Open("cifar100", "train", d100)
	if err != nil || ds.Len() != 5 || ds.Classes() != 100 {
		t.Fatalf("cifar100: %v", err)
	}
}

// Same seed → identical batches; every sample exactly once per epoch; different epochs
// give different orders.
func TestLoaderDeterministicAndComplete(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, 23, true)
	ds, _ := Open("mnist", "train", dir)
	tf := Compose{&RandomCrop{Pad: 1}, TestTransform("mnist")}
	collect := func(seed uint64, epoch int) ([]int, []float32) {
		l := NewLoader(ds, tf, 5, true, seed, false)
		defer l.Close()
		var idx []int
		var xs []float32
		for b := range l.Epoch(epoch) {
			idx = append(idx, b.Index...)
			xs = append(xs, b.X...)
			l.Release(b)
		}
		return idx, xs
	}
	i1, x1 := collect(7, 1)
	i2, x2 := collect(7, 1)
	i3, _ := collect(7, 2)
	seen := map[int]bool{}
	for _, i := range i1 {
		if seen[i] {
			t.Fatalf("sample %d twice", i)
		}
		seen[i] = true
	}
	if len(seen) != 23 {
		t.Fatalf("%d samples seen", len(seen))
	}
	for i := range x1 {
		if x1[i] != x2[i] || i1[i%23] != i2[i%23] {
			t.Fatal("same seed gave different batches")
		}
	}
	same := true
	for i := range i1 {
		if i1[i] != i3[i] {
			same = false
		}
	}
	if same {
		t.Fatal("epochs 1 and 2 have the same order")
	}
	// Breaking early stops the producer without deadlock.
	l := NewLoader(ds, nil, 2, false, 0, false)
	for range l.Epoch(0) {
		break
	}
	l.Close()
}

func TestTransforms(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}
	HFlip{P: 1}.Apply(x, 1, 2, 3, rand.New(rand.NewPCG(1, 1)))
	if x[0] != 3 || x[2] != 1 || x[3] != 6 {
		t.Fatalf("flip: %v", x)
	}
	n := Normalize{[]float32{1}, []float32{2}}
	n.Apply(x, 1, 2, 3, nil)
	if x[0] != 1 || x[2] != 0 {
		t.Fatalf("normalize: %v", x)
	}
	// RandomCrop keeps the image size and shifts content by at most Pad.
	img := make([]float32, 25)
	img[12] = 1
	(&RandomCrop{Pad: 2}).Apply(img, 1, 5, 5, rand.New(rand.NewPCG(3, 3)))
	s := float32(0)
	for _, v := range img {
		s += v
	}
	if s != 1 {
		t.Fatalf("crop lost the centre pixel: %v", img)
	}
}

// The real MNIST files from the GoMNIST module, when present.
func TestRealMNIST(t *testing.T) {
	if _, err := DefaultDir("mnist"); err != nil {
		t.Skip("MNIST not available:", err)
	}
	tr, err := Open("mnist", "train", "")
	if err != nil {
		t.Fatal(err)
	}
	te, err := Open("mnist", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 784)
	if tr.Len() != 60000 || te.Len() != 10000 || tr.Get(0, x) != 5 {
		t.Fatalf("train %d test %d first label %d", tr.Len(), te.Len(), tr.Get(0, x))
	}
}

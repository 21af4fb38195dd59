package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Fuzz targets of the dataset parsers (IDX, CIFAR binary batches; ImageFolder decoding is
// FuzzImageFolderDecode), seeded from the real MNIST test files of the GoMNIST module:
// no input may panic or hang, and whatever is accepted must be a usable dataset.

// realMNIST returns the first n images (28×28 bytes each) and labels of the real MNIST
// test split.
func realMNIST(f *testing.F, n int) (pix, labels []byte) {
	f.Helper()
	dir, err := DefaultDir("mnist")
	if err != nil {
		f.Fatalf("the real MNIST files seed the corpus: %v", err)
	}
	ip := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
	lp := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	_, h, w, all, err := ReadIDXImages(ip)
	if err != nil {
		f.Fatal(err)
	}
	lab, err := ReadIDXLabels(lp)
	if err != nil {
		f.Fatal(err)
	}
	return all[:n*h*w], lab[:n]
}

// FuzzIDXDataset decodes an image file and a label file (gzip or raw) as MNIST.
func FuzzIDXDataset(f *testing.F) {
	pix, lab := realMNIST(f, 3)
	img, lbl := idxBytes([]int{3, 28, 28}, pix), idxBytes([]int{3}, lab)
	f.Add(img, lbl)
	f.Add(gz(img), gz(lbl))
	f.Add(img[:len(img)-100], lbl)                      // truncated images
	f.Add(idxBytes([]int{2, 28, 28}, pix[:2*784]), lbl) // one label too many
	f.Add(gz(img)[:40], lbl)                            // truncated gzip
	f.Add(idxBytes([]int{1, 28, 28}, pix[:784]), idxBytes([]int{1}, []byte{200}))
	f.Fuzz(func(t *testing.T, img, lbl []byte) {
		ds, err := idxDataset("mnist", "images", img, "labels", lbl)
		if err != nil {
			return
		}
		c, h, w := ds.Shape()
		buf := make([]float32, c*h*w)
		for i := 0; i < min(ds.Len(), 32); i++ {
			if y := ds.Get(i, buf); y < 0 || y >= ds.Classes() {
				t.Fatalf("sample %d: label %d", i, y)
			}
			for _, v := range buf {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("sample %d: pixel %v outside [0, 1]", i, v)
				}
			}
		}
	})
}

// cifarFromMNIST builds CIFAR records from real MNIST digits (28×28 grey centred in
// 32×32, the same plane in R, G and B): the corpus's real pixels in CIFAR's layout (no
// CIFAR files are installed here).
func cifarFromMNIST(pix, labels []byte, labelBytes int) []byte {
	var out []byte
	for i, l := range labels {
		rec := make([]byte, labelBytes+3072)
		rec[0] = l / 2 // coarse label of CIFAR-100 records (the fine label is last)
		rec[labelBytes-1] = l
		for ch := 0; ch < 3; ch++ {
			for y := 0; y < 28; y++ {
				copy(rec[labelBytes+ch*1024+(y+2)*32+2:], pix[i*784+y*28:i*784+(y+1)*28])
			}
		}
		out = append(out, rec...)
	}
	return out
}

// FuzzCIFARBatch parses a CIFAR-10 (1 label byte) or CIFAR-100 (2) binary batch.
func FuzzCIFARBatch(f *testing.F) {
	pix, lab := realMNIST(f, 3)
	ten, hundred := cifarFromMNIST(pix, lab, 1), cifarFromMNIST(pix, lab, 2)
	f.Add(ten, false)
	f.Add(hundred, true)
	f.Add(ten[:len(ten)-1], false)
	f.Add(hundred, false) // the wrong record size
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, fine bool) {
		labelBytes, classes := 1, 10
		if fine {
			labelBytes, classes = 2, 100
		}
		ds := &bytesDataset{c: 3, h: 32, w: 32, classes: classes}
		if err := parseCIFAR("batch.bin", b, labelBytes, classes, ds); err != nil {
			return
		}
		if len(ds.pix) != 3072*ds.Len() || ds.Len() != len(b)/(labelBytes+3072) {
			t.Fatalf("%d records, %d pixels from %d bytes", ds.Len(), len(ds.pix), len(b))
		}
		buf := make([]float32, 3072)
		for i := 0; i < ds.Len(); i++ {
			if y := ds.Get(i, buf); y < 0 || y >= classes {
				t.Fatalf("record %d: label %d", i, y)
			}
		}
	})
}

// realImageSeeds are real MNIST digits encoded as grey, RGBA and paletted PNG and as
// grey and colour JPEG, whole and truncated: seeds of FuzzImageFolderDecode.
func realImageSeeds(f *testing.F) [][]byte {
	pix, _ := realMNIST(f, 2)
	var seeds [][]byte
	for k := 0; k < 2; k++ {
		grey := image.NewGray(image.Rect(0, 0, 28, 28))
		copy(grey.Pix, pix[k*784:(k+1)*784])
		rgba := image.NewNRGBA(grey.Bounds())
		pal := image.NewPaletted(grey.Bounds(), color.Palette{color.Black, color.White, color.NRGBA{200, 10, 10, 128}})
		for i, v := range grey.Pix {
			rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = v, 255-v, v/2, 255
			pal.Pix[i] = v / 100
		}
		for _, m := range []image.Image{grey, rgba, pal} {
			var b bytes.Buffer
			if err := png.Encode(&b, m); err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b.Bytes(), b.Bytes()[:b.Len()*2/3])
		}
		for _, m := range []image.Image{grey, rgba} {
			var b bytes.Buffer
			if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, b.Bytes(), b.Bytes()[:b.Len()/2])
		}
	}
	return seeds
}

// A PNG whose header claims 9000×9000 pixels in a file of a few dozen bytes is refused
// before the decoder allocates the 324 MB image.
func TestImageHeaderLargerThanFileRefused(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	// IHDR: 8-byte signature, length, "IHDR", width, height, …, CRC over type + data.
	binary.BigEndian.PutUint32(p[16:], 9000)
	binary.BigEndian.PutUint32(p[20:], 9000)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decodeImageBytes("big.png", p, maxImagePixels)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("error %v, want the header refused", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing it allocated %d bytes", grew)
	}
}

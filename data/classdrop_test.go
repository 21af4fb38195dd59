package data

import (
	"slices"
	"testing"
)

// fakeLabels is a 1×1×1 dataset whose pixel is the sample's index / 255.
func fakeLabels(labels []byte) Dataset {
	pix := make([]byte, len(labels))
	for i := range pix {
		pix[i] = byte(i)
	}
	return &bytesDataset{pix: pix, labels: labels, c: 1, h: 1, w: 1, classes: 3}
}

func TestDropClass(t *testing.T) {
	labels := make([]byte, 200)
	for i := range labels {
		labels[i] = byte(i % 3)
	}
	ds := fakeLabels(labels) // class 1: 67 samples
	got, before, after, err := DropClass(ds, 1, 0.9, 42)
	if err != nil {
		t.Fatal(err)
	}
	if before != 67 || after != 7 { // round(0.9·67) = 60 dropped
		t.Fatalf("class 1: %d before, %d after; want 67, 7", before, after)
	}
	if got.Len() != 200-60 {
		t.Fatalf("kept %d samples, want 140", got.Len())
	}
	px := make([]float32, 1)
	var kept []int
	counts := map[int]int{}
	for i := 0; i < got.Len(); i++ {
		l := got.Get(i, px)
		orig := int(px[0]*255 + 0.5)
		if int(labels[orig]) != l {
			t.Fatalf("sample %d: label %d, but original sample %d has label %d", i, l, orig, labels[orig])
		}
		kept = append(kept, orig)
		counts[l]++
	}
	if !slices.IsSorted(kept) {
		t.Fatal("kept samples are not in dataset order")
	}
	if counts[0] != 67 || counts[2] != 66 || counts[1] != 7 {
		t.Fatalf("class counts %v", counts)
	}
	// Same seed, same images; another seed, other images.
	again, _, _, _ := DropClass(ds, 1, 0.9, 42)
	other, _, _, _ := DropClass(ds, 1, 0.9, 43)
	same, differ := true, false
	for i := 0; i < got.Len(); i++ {
		a, b, c := make([]float32, 1), make([]float32, 1), make([]float32, 1)
		got.Get(i, a)
		again.Get(i, b)
		other.Get(i, c)
		same = same && a[0] == b[0]
		differ = differ || a[0] != c[0]
	}
	if !same || !differ {
		t.Fatalf("same seed gives the same samples: %v; another seed other samples: %v", same, differ)
	}
	for _, bad := range []struct {
		class int
		frac  float64
	}{{3, 0.5}, {-1, 0.5}, {0, 1.5}, {0, -0.1}} {
		if _, _, _, err := DropClass(ds, bad.class, bad.frac, 0); err == nil {
			t.Errorf("DropClass(class %d, fraction %g) accepted", bad.class, bad.frac)
		}
	}
}

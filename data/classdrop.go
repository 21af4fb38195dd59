package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// DropClass returns ds without a fraction of the samples of one class: the long-tail
// pretraining of the paper's class-drop experiment (spec §6.1: 90 % of one class removed,
// then the misclassified test samples of that class are explained). The dropped samples
// are chosen by a generator seeded with seed, so the same (class, fraction, seed) always
// keeps the same images; the kept samples stay in dataset order. It also returns the
// number of samples of the class before and after the drop.
func DropClass(ds Dataset, class int, fraction float64, seed uint64) (Dataset, int, int, error) {
	if class < 0 || class >= ds.Classes() {
		return nil, 0, 0, fmt.Errorf("drop class %d: the dataset has classes 0 … %d", class, ds.Classes()-1)
	}
	if !(fraction >= 0 && fraction <= 1) {
		return nil, 0, 0, fmt.Errorf("drop fraction %g: want a number in [0, 1]", fraction)
	}
	label := labelFunc(ds)
	var members []int
	for i := 0; i < ds.Len(); i++ {
		if label(i) == class {
			members = append(members, i)
		}
	}
	nDrop := int(math.Round(fraction * float64(len(members))))
	rng := rand.New(rand.NewPCG(seed, 0xd50c1a55))
	perm := rng.Perm(len(members))
	dropped := make(map[int]bool, nDrop)
	for _, p := range perm[:nDrop] {
		dropped[members[p]] = true
	}
	keep := make([]int, 0, ds.Len()-nDrop)
	for i := 0; i < ds.Len(); i++ {
		if !dropped[i] {
			keep = append(keep, i)
		}
	}
	return indexed{ds, keep}, len(members), len(members) - nDrop, nil
}

// labelFunc reads labels without decoding images where the dataset allows it.
func labelFunc(ds Dataset) func(int) int {
	if l, ok := ds.(interface{ Label(int) int }); ok {
		return l.Label
	}
	if b, ok := ds.(*bytesDataset); ok {
		return func(i int) int { return int(b.labels[i]) }
	}
	c, h, w := ds.Shape()
	buf := make([]float32, c*h*w)
	return func(i int) int { return ds.Get(i, buf) }
}

// indexed is a view of the samples idx of a dataset, in that order.
type indexed struct {
	Dataset
	idx []int
}

func (s indexed) Len() int                     { return len(s.idx) }
func (s indexed) Get(i int, dst []float32) int { return s.Dataset.Get(s.idx[i], dst) }

// LoadImage returns sample i at its original size (see RawDataset).
func (s indexed) LoadImage(i int) (Image, int, error) { return loadImage(s.Dataset, s.idx[i]) }

// Label is the label of sample i.
func (s indexed) Label(i int) int { return labelFunc(s.Dataset)(s.idx[i]) }

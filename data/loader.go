package data

import (
	"iter"
	"math/rand/v2"
	"sync"
)

// Batch is one mini-batch: normalised NCHW pixels and labels. Index holds each sample's
// position in the dataset.
type Batch struct {
	X      []float32
	Labels []int
	Index  []int
}

// Loader turns a dataset into batches. Epoch e visits the samples in a permutation seeded
// by (seed, e) (or in order when not shuffling); sample i of epoch e is augmented with a
// generator seeded by (seed, e, i), so the batches depend only on the seed, never on
// timing. A transform that is a SizeTransform (a Pipeline) gets each sample at its original
// size (RawDataset.LoadImage) and must return the dataset's Shape. A goroutine prepares up
// to Prefetch batches ahead; Release gives a batch's buffers back for reuse.
type Loader struct {
	ds        Dataset
	tf        Transform
	batch     int
	shuffle   bool
	dropLast  bool
	seed      uint64
	Prefetch  int
	free      chan *Batch
	closeOnce sync.Once
	closed    chan struct{}
}

// NewLoader returns a loader of ds with transform tf (nil: none).
func NewLoader(ds Dataset, tf Transform, batchSize int, shuffle bool, seed uint64, dropLast bool) *Loader {
	return &Loader{ds: ds, tf: tf, batch: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed, Prefetch: 3,
		free: make(chan *Batch, 8), closed: make(chan struct{})}
}

// Order returns the sample order of an epoch.
func (l *Loader) Order(epoch int) []int {
	order := make([]int, l.ds.Len())
	for i := range order {
		order[i] = i
	}
	if l.shuffle {
		rng := rand.New(rand.NewPCG(l.seed, uint64(epoch)*0x9e3779b97f4a7c15+1))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	return order
}

// SampleRNG is the augmentation generator of sample index in an epoch.
func SampleRNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^uint64(epoch)*0xbf58476d1ce4e5b9, uint64(index)*0x94d049bb133111eb+0x2545f4914f6cdd1d))
}

// Epoch yields the batches of one epoch. Breaking out of the loop stops the producer.
func (l *Loader) Epoch(epoch int) iter.Seq[*Batch] {
	return l.Range(epoch, 0)
}

// Range is Epoch starting at position start of the epoch's order (for resuming a pass).
func (l *Loader) Range(epoch, start int) iter.Seq[*Batch] {
	return func(yield func(*Batch) bool) {
		order := l.Order(epoch)[start:]
		c, h, w := l.ds.Shape()
		size := c * h * w
		out := make(chan *Batch, max(l.Prefetch, 1))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(out)
			for b := 0; b < len(order); b += l.batch {
				n := min(l.batch, len(order)-b)
				if n < l.batch && l.dropLast {
					return
				}
				bt := l.get(n, size)
				for i := 0; i < n; i++ {
					idx := order[b+i]
					x := bt.X[i*size : (i+1)*size]
					bt.Labels[i] = prepareSample(l.ds, l.tf, idx, x, c, h, w, l.seed, epoch)
					bt.Index[i] = idx
				}
				select {
				case out <- bt:
				case <-stop:
					return
				case <-l.closed:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			for range out { // drain so the producer can finish
			}
			wg.Wait()
		}()
		for bt := range out {
			if !yield(bt) {
				return
			}
		}
	}
}

// get returns a recycled batch resized to n samples.
func (l *Loader) get(n, size int) *Batch {
	var b *Batch
	select {
	case b = <-l.free:
	default:
		b = &Batch{}
	}
	if cap(b.X) < n*size {
		b.X = make([]float32, l.batch*size)
		b.Labels = make([]int, l.batch)
		b.Index = make([]int, l.batch)
	}
	b.X, b.Labels, b.Index = b.X[:n*size], b.Labels[:n], b.Index[:n]
	return b
}

// Release returns a batch's buffers to the loader; the batch must not be used afterwards.
func (l *Loader) Release(b *Batch) {
	select {
	case l.free <- b:
	default:
	}
}

// Close stops any running producer.
func (l *Loader) Close() { l.closeOnce.Do(func() { close(l.closed) }) }

package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Transform changes one CHW float32 image in place. Pixels arrive in [0, 1]; the last
// step of a pipeline is normally Normalize.
type Transform interface {
	Apply(x []float32, c, h, w int, rng *rand.Rand)
}

// Compose applies transforms in order.
type Compose []Transform

// Apply runs every transform.
func (t Compose) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	for _, s := range t {
		s.Apply(x, c, h, w, rng)
	}
}

// Normalize maps x → (x − mean_c)/std_c per channel.
type Normalize struct{ Mean, Std []float32 }

// Apply normalises x.
func (n Normalize) Apply(x []float32, c, h, w int, _ *rand.Rand) {
	hw := h * w
	for ch := 0; ch < c; ch++ {
		m, inv := n.Mean[ch], 1/n.Std[ch]
		p := x[ch*hw : (ch+1)*hw]
		for i, v := range p {
			p[i] = (v - m) * inv
		}
	}
}

// RandomCrop pads by Pad zeros on every side and crops a random window of the original
// size (torchvision RandomCrop(size, padding)).
type RandomCrop struct{ Pad int }

// Apply crops x in place.
func (r *RandomCrop) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	dy, dx := rng.IntN(2*r.Pad+1)-r.Pad, rng.IntN(2*r.Pad+1)-r.Pad
	if dy == 0 && dx == 0 {
		return
	}
	buf := make([]float32, len(x))
	copy(buf, x)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			sy := y + dy
			row := x[(ch*h+y)*w : (ch*h+y+1)*w]
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			for xx := range row {
				sx := xx + dx
				if sx < 0 || sx >= w {
					row[xx] = 0
				} else {
					row[xx] = buf[(ch*h+sy)*w+sx]
				}
			}
		}
	}
}

// HFlip flips the image horizontally with probability P.
type HFlip struct{ P float64 }

// Apply flips x in place.
func (f HFlip) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	if rng.Float64() >= f.P {
		return
	}
	for r := 0; r < c*h; r++ {
		row := x[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// RandomErasing erases a random rectangle (area fraction in [0.02, 0.33], aspect ratio
// log-uniform in [0.3, 3.3]) with value 0 with probability P, after normalisation
// (torchvision RandomErasing defaults).
type RandomErasing struct{ P float64 }

// Apply erases in place.
func (e RandomErasing) Apply(x []float32, c, h, w int, rng *rand.Rand) {
	if rng.Float64() >= e.P {
		return
	}
	area := float64(h * w)
	for attempt := 0; attempt < 10; attempt++ {
		target := area * (0.02 + rng.Float64()*(0.33-0.02))
		logr := math.Log(0.3) + rng.Float64()*(math.Log(3.3)-math.Log(0.3))
		ar := math.Exp(logr)
		eh := int(math.Round(math.Sqrt(target * ar)))
		ew := int(math.Round(math.Sqrt(target / ar)))
		if eh >= h || ew >= w || eh < 1 || ew < 1 {
			continue
		}
		y0, x0 := rng.IntN(h-eh+1), rng.IntN(w-ew+1)
		for ch := 0; ch < c; ch++ {
			for y := y0; y < y0+eh; y++ {
				clear(x[(ch*h+y)*w+x0 : (ch*h+y)*w+x0+ew])
			}
		}
		return
	}
}

// Norm returns a dataset's normalisation constants (spec §6.1).
func Norm(name string) (Normalize, error) {
	switch name {
	case "mnist":
		return Normalize{[]float32{0.1307}, []float32{0.3081}}, nil
	case "fashion-mnist":
		return Normalize{[]float32{0.2860}, []float32{0.3530}}, nil
	case "cifar10":
		return Normalize{[]float32{0.4914, 0.4822, 0.4465}, []float32{0.2470, 0.2435, 0.2616}}, nil
	case "cifar100":
		return Normalize{[]float32{0.5071, 0.4867, 0.4408}, []float32{0.2675, 0.2565, 0.2761}}, nil
	case "imagenette", "imagewoof", "tiny-imagenet":
		return Normalize{[]float32{0.485, 0.456, 0.406}, []float32{0.229, 0.224, 0.225}}, nil
	}
	return Normalize{}, fmt.Errorf("unknown dataset %q", name)
}

// evalGeometry is the evaluation resize/crop of a dataset of decoded image files (spec
// §6.1): Resize 256 + CenterCrop 224 for Imagenette/Imagewoof, an exact 64×64 fit for
// Tiny-ImageNet (its images are 64×64 already); nil for the fixed-size datasets.
func evalGeometry(name string) []SizeTransform {
	switch name {
	case "imagenette", "imagewoof":
		return []SizeTransform{Resize{256}, CenterCrop{224, 224}}
	case "tiny-imagenet":
		return []SizeTransform{ResizeTo{64, 64}}
	}
	return nil
}

// TestTransform is the evaluation pipeline of a dataset (spec §6.1): normalisation, after
// Resize 256 + CenterCrop 224 of the original image for Imagenette/Imagewoof (a Pipeline).
func TestTransform(name string) Transform {
	n, err := Norm(name)
	if err != nil {
		panic(err)
	}
	switch name {
	case "imagenette", "imagewoof":
		return Pipeline{Geometry: evalGeometry(name), Pixel: n}
	}
	return n
}

// TrainTransform is a dataset's training augmentation (spec §6.1). MNIST and
// Fashion-MNIST have none. CIFAR-10/100: RandomCrop(32, pad 4), horizontal flip,
// RandAugment(2, 9), normalisation, RandomErasing(0.25). Imagenette/Imagewoof (a Pipeline
// on the original image): RandomResizedCrop(224, scale (0.65, 1)), flip, RandAugment(2, 7),
// normalisation, RandomErasing(0.15). Tiny-ImageNet: RandomResizedCrop(64, scale (0.6, 1)),
// flip, RandAugment(2, 9), normalisation, RandomErasing(0.25).
func TrainTransform(name string) Transform {
	n, err := Norm(name)
	if err != nil {
		panic(err)
	}
	switch name {
	case "cifar10", "cifar100":
		return Compose{&RandomCrop{Pad: 4}, HFlip{P: 0.5}, RandAugment{N: 2, M: 9}, n, RandomErasing{P: 0.25}}
	case "tiny-imagenet":
		return Pipeline{
			Geometry: []SizeTransform{RandomResizedCrop{H: 64, W: 64, Scale: [2]float64{0.6, 1}}},
			Pixel:    Compose{HFlip{P: 0.5}, RandAugment{N: 2, M: 9}, n, RandomErasing{P: 0.25}},
		}
	case "imagenette", "imagewoof":
		return Pipeline{
			Geometry: []SizeTransform{RandomResizedCrop{H: 224, W: 224, Scale: [2]float64{0.65, 1}}},
			Pixel:    Compose{HFlip{P: 0.5}, RandAugment{N: 2, M: 7}, n, RandomErasing{P: 0.15}},
		}
	}
	return n
}

package nn

import (
	"math"
	"math/rand/v2"

	"github.com/frpt/frpt/tensor"
)

// Uniform fills t with values drawn uniformly from [-bound, bound].
func Uniform[F tensor.Float](t *tensor.T[F], bound float64, rng *rand.Rand) {
	for i := range t.Data {
		t.Data[i] = F((rng.Float64()*2 - 1) * bound)
	}
}

// Normal fills t with N(0, std²) values.
func Normal[F tensor.Float](t *tensor.T[F], std float64, rng *rand.Rand) {
	for i := range t.Data {
		t.Data[i] = F(rng.NormFloat64() * std)
	}
}

// KaimingUniform is PyTorch's default Linear/Conv weight init (a=√5): U(±1/√fanIn).
func KaimingUniform[F tensor.Float](t *tensor.T[F], fanIn int, rng *rand.Rand) {
	Uniform(t, 1/math.Sqrt(float64(fanIn)), rng)
}

// XavierUniform fills t with U(±√(6/(fanIn+fanOut))).
func XavierUniform[F tensor.Float](t *tensor.T[F], fanIn, fanOut int, rng *rand.Rand) {
	Uniform(t, math.Sqrt(6/float64(fanIn+fanOut)), rng)
}

// KaimingNormalFanOut is torchvision's ResNet conv init (mode fan_out, ReLU gain).
func KaimingNormalFanOut[F tensor.Float](t *tensor.T[F], fanOut int, rng *rand.Rand) {
	Normal(t, math.Sqrt(2/float64(fanOut)), rng)
}

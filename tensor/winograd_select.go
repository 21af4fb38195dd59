package tensor

import (
	"fmt"
	"os"
	"sync"
)

// Path selection for stride-1 3×3 float32 convolutions with at least 16 channels and
// padding 0 or 1 (winoEligible): the forward pass, the input gradient and the weight
// gradient each run either the default kernels (im2col + SGEMM or the direct loops,
// conv.go) or Winograd F(4×4, 3×3) or F(2×2, 3×3) (winograd.go). With the path "auto"
// (the default) a fixed rule of the shape picks it (conv3x3Rule), not a measurement:
// a timed choice could differ between two processes, and with it the bits of a run,
// which the resume, task-split and same-bits guarantees of the pipeline rule out. The
// environment variable FRPT_CONV3X3 or SetConv3x3Path forces one path.

// The values of FRPT_CONV3X3 and SetConv3x3Path.
const (
	Conv3x3Auto      = "auto"      // conv3x3Rule
	Conv3x3Default   = "default"   // im2col + SGEMM / direct loops
	Conv3x3Winograd  = "winograd"  // F(4×4, 3×3)
	Conv3x3Winograd2 = "winograd2" // F(2×2, 3×3)
)

// conv3x3Algo is a concrete path: 0 the default kernels, 2 or 4 Winograd F(m, 3).
type conv3x3Algo int

// conv3x3Pass names the three passes that are chosen separately.
type conv3x3Pass int

const (
	passForward conv3x3Pass = iota
	passInputGrad
	passWeightGrad
)

var (
	conv3x3Mu   sync.Mutex
	conv3x3Mode = Conv3x3Auto
)

func init() {
	if v := os.Getenv("FRPT_CONV3X3"); v != "" {
		if _, err := SetConv3x3Path(v); err != nil {
			panic(err)
		}
	}
}

// SetConv3x3Path sets the path of eligible 3×3 convolutions (Conv3x3Auto, …Default,
// …Winograd, …Winograd2) and returns the previous one.
func SetConv3x3Path(path string) (string, error) {
	switch path {
	case Conv3x3Auto, Conv3x3Default, Conv3x3Winograd, Conv3x3Winograd2:
	default:
		return "", fmt.Errorf("tensor: 3×3 convolution path %q (FRPT_CONV3X3): want %s, %s, %s or %s",
			path, Conv3x3Auto, Conv3x3Default, Conv3x3Winograd, Conv3x3Winograd2)
	}
	conv3x3Mu.Lock()
	defer conv3x3Mu.Unlock()
	prev := conv3x3Mode
	conv3x3Mode = path
	return prev, nil
}

func (a conv3x3Algo) String() string {
	switch a {
	case 4:
		return Conv3x3Winograd
	case 2:
		return Conv3x3Winograd2
	}
	return Conv3x3Default
}

// conv3x3Choice returns the path of pass for shape s: the forced one, or conv3x3Rule's.
func conv3x3Choice(s ConvShape, pass conv3x3Pass) conv3x3Algo {
	conv3x3Mu.Lock()
	mode := conv3x3Mode
	conv3x3Mu.Unlock()
	switch mode {
	case Conv3x3Default:
		return 0
	case Conv3x3Winograd:
		return 4
	case Conv3x3Winograd2:
		return 2
	}
	return conv3x3Rule(s, pass)
}

// Conv3x3WinogradAvailable reports whether this build and CPU have the Winograd kernels
// that the "auto" rule uses (AVX2+FMA or AVX-512).
func Conv3x3WinogradAvailable() bool { return winoSIMD }

// conv3x3Rule is the path "auto" takes, read off BenchmarkConv3x3Pass on ResNet-18's layers
// (CIFAR and MNIST sizes, batch 8 to 64): Winograd costs a weight transform per call
// (Cin·Cout·a² values) that only many output pixels repay, so below 512 per call
// (N·Ho·Wo) the default kernels run. Above, F(4×4) runs for the weight gradient, for
// outputs of at least 16×16 and for calls of at least 1024 output pixels; F(2×2), with a
// weight transform of 16 instead of 36 points, for the forward pass and input gradient of
// smaller maps between the two (8×8 at batch 8, 4×4 at batch 32).
//
// On the 2-core Zen 3 AVX2 machine (2026-12-07, evening, after the balanced Winograd
// blocks) F(4×4) took 14.3 against 20.4 ms (fwd) and 13.9 against 19.2 ms (dx) at 256
// channels, 8×8, batch 64, and 16.9 against 18.8 and 18.7 against 19.8 ms at 512, 4×4; the
// AVX-512 measurement of the morning, before the balanced blocks, had F(2×2) ahead at those
// two shapes. The rule does not depend on the instruction set, so AVX2 and AVX-512
// machines (whose kernels give the same bits) still give the same bits. Only builds with
// the fast kernels (AVX2+FMA or AVX-512) take Winograd; elsewhere the default kernels
// always run.
func conv3x3Rule(s ConvShape, pass conv3x3Pass) conv3x3Algo {
	ho, wo := s.OutSize()
	pixels := s.N * ho * wo
	if !winoSIMD || pixels < 512 {
		return 0
	}
	if pass == passWeightGrad || min(ho, wo) >= 16 || pixels >= 1024 {
		return 4
	}
	return 2
}

// winoPlanFor returns the F(m, 3) plan of the forward convolution s.
func winoPlanFor(s ConvShape, a conv3x3Algo) *winoPlan {
	return newWinoPlan(winoMatsOf(a), s.N, s.Cin, s.H, s.W, s.Cout, s.Pad)
}

// winoInputGradPlan returns the plan of the input gradient of s: the convolution of dy
// with the flipped kernel, padding 2 − pad.
func winoInputGradPlan(s ConvShape, a conv3x3Algo) *winoPlan {
	ho, wo := s.OutSize()
	return newWinoPlan(winoMatsOf(a), s.N, s.Cout, ho, wo, s.Cin, 2-s.Pad)
}

func winoMatsOf(a conv3x3Algo) *winoMats {
	if a == 2 {
		return winoF2
	}
	return winoF4
}

// conv3x3Forward runs the forward pass through Winograd when that is the path of s and
// reports whether it did.
func conv3x3Forward[F Float](s ConvShape, x, w, b, y []F) bool {
	x32, ok := any(x).([]float32)
	if !ok || !winoEligible(s) {
		return false
	}
	w32, y32 := any(w).([]float32), any(y).([]float32)
	b32, _ := any(b).([]float32)
	a := conv3x3Choice(s, passForward)
	if a == 0 {
		return false
	}
	winoPlanFor(s, a).forward(x32, w32, b32, y32, false)
	return true
}

// conv3x3Backward runs the input and weight gradients whose path is Winograd, the rest
// and the bias gradient through the default kernels (which return at once when nothing
// is left), and reports whether it handled the call.
func conv3x3Backward[F Float](s ConvShape, x, w, dy, dx, dw, db []F) bool {
	x32, ok := any(x).([]float32)
	if !ok || !winoEligible(s) || (dx == nil && dw == nil) {
		return false
	}
	w32, dy32 := any(w).([]float32), any(dy).([]float32)
	dx32, _ := any(dx).([]float32)
	dw32, _ := any(dw).([]float32)
	db32, _ := any(db).([]float32)
	var adx, adw conv3x3Algo
	if dx != nil {
		adx = conv3x3Choice(s, passInputGrad)
	}
	if dw != nil {
		adw = conv3x3Choice(s, passWeightGrad)
	}
	if adx == 0 && adw == 0 {
		return false
	}
	if adx != 0 {
		winoInputGradPlan(s, adx).inputGrad(w32, dy32, dx32, false)
		dx32 = nil
	}
	if adw != 0 {
		winoPlanFor(s, adw).weightGrad(x32, dy32, dw32)
		dw32 = nil
	}
	conv2dBackwardDefault(s, x32, w32, dy32, dx32, dw32, db32) // what is left, and the bias gradient
	return true
}

// conv3x3InputGradAdd adds the input gradient of s to dx through Winograd when that is
// the path of s, and reports whether it did.
func conv3x3InputGradAdd[F Float](s ConvShape, w, dy, dx []F) bool {
	w32, ok := any(w).([]float32)
	if !ok || !winoEligible(s) {
		return false
	}
	a := conv3x3Choice(s, passInputGrad)
	if a == 0 {
		return false
	}
	winoInputGradPlan(s, a).inputGrad(w32, any(dy).([]float32), any(dx).([]float32), true)
	return true
}

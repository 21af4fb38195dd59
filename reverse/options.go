package reverse

// Options holds every threshold of the reverse solvers (spec §2.1–§2.2, §4.8), with the
// original code's values as defaults (DefaultOptions).
type Options struct {
	// Kappa is the target condition number of the centred Tikhonov solve: α ≥ (σ₁/κ)².
	Kappa float64
	// MaxAbs bounds a reliable solution's largest magnitude and drives the magnitude guard.
	MaxAbs float64
	// MaxDevRatio bounds ‖x − x_ref‖ ≤ MaxDevRatio·‖x_ref‖ for a reliable solution.
	MaxDevRatio float64
	// Deviation-test floors (times √n): below them the deviation bound is waived.
	FloorMatrix, FloorConv, FloorComposite float64
	// Tolerances of the "solve" (consistent) and "lstsq" (least-squares optimality)
	// tests. The float64 values apply to our float64 solves; Float32Tolerances switches to
	// the original's float32 values for reproduction.
	TauSolve, TauLstsq       float64
	TauSolve32, TauLstsq32   float64
	Float32Tolerances        bool
	ConvMethod               ConvMethod
	Regularize               bool // run the reliability tests and fallbacks ("regu")
	CGMaxIter                int
	CGTol                    float64
	PowerIters               int
	CompositeIter            int
	CompositeDamping         float64
	CompositeMaxStep         float64
	CompositeTol             float64
	CompositeJacobianLimit   float64
	CompositeMethod          string // "auto", "linearized" or "vjp"
	CompositeOriginalGNQuirk bool   // reproduce the original's never-accepted plain GN step (§10.3)
	GlobalPoolProjection     bool   // reverse global average pooling by projection instead of broadcast
	// SkipResidual leaves Diag.RelResid of convolution reverses at 0 instead of running
	// the forward convolution on the answer (timing runs that check consistency apart).
	SkipResidual bool
}

// ConvMethod selects the convolution reverse algorithm (§4.2).
type ConvMethod string

// The four convolution reverse methods of spec §4.2.
const (
	ConvDense       ConvMethod = "exact_matrix"
	ConvCG          ConvMethod = "cg"
	ConvFFTPad      ConvMethod = "fft_pad"
	ConvFFTBoundary ConvMethod = "fft_oldbound"
)

// DefaultOptions returns the original code's settings (models call conv reverse with
// fft_pad and regularisation on).
func DefaultOptions() Options {
	return Options{
		Kappa: 1e3, MaxAbs: 1e3, MaxDevRatio: 100,
		FloorMatrix: 1e-2, FloorConv: 1e-6, FloorComposite: 1e-4,
		TauSolve: 1e-4, TauLstsq: 1e-3, TauSolve32: 1e-3, TauLstsq32: 1e-2,
		ConvMethod: ConvFFTPad, Regularize: true,
		CGMaxIter: 100, CGTol: 1e-9, PowerIters: 10,
		CompositeIter: 20, CompositeDamping: 0.8, CompositeMaxStep: 10, CompositeTol: 1e-6,
		CompositeJacobianLimit: 5e7, CompositeMethod: "auto",
	}
}

func (o Options) tauSolve() float64 {
	if o.Float32Tolerances {
		return o.TauSolve32
	}
	return o.TauSolve
}

func (o Options) tauLstsq() float64 {
	if o.Float32Tolerances {
		return o.TauLstsq32
	}
	return o.TauLstsq
}

// Package convbench reproduces the convolution-reversal experiments of FR-PT (spec
// frpt-results §2 "how fast conv reversal is" and §3 "how stable conv reversal is") with
// the four methods of reverse.Conv2D: exact_matrix, cg, fft_pad and fft_oldbound.
//
// Efficiency (§2): a bias-free 5×5 convolution, stride 1, padding 0, batch 2, Cin 2,
// Cout 4 ("expand") or 1 ("shrink"), weights with condition number 1, anchor
// x ~ U(−1, 1), target y* = conv(x) + U(0, 1) noise, no regularisation; for every size
// H = W and method it records the median time of warm calls, the bytes allocated,
// consistency ‖conv(x̂) − y*‖/‖y*‖ and front distance mean_b ‖x̂_b − x_b‖/‖x_b‖.
// Stability (§3): Cin 8, Cout ∈ {8, 16, 4}, padding ∈ {0, 1}, weight condition numbers
// 1…1e5, several seeds, regularisation on, one call per cell.
//
// Cells a method cannot run (the dense matrix would not fit in memory, its estimated
// time per call is too long, or the method returns an error) are recorded as skipped
// with the reason.
package convbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frpt/frpt/atomicfile"
	"github.com/frpt/frpt/reverse"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// AllMethods lists the four conv reverse methods in the paper's order.
var AllMethods = []reverse.ConvMethod{reverse.ConvDense, reverse.ConvCG, reverse.ConvFFTBoundary, reverse.ConvFFTPad}

// DisplayName is the paper's name of a method (effi_stab_exp/visualize.ipynb).
func DisplayName(m reverse.ConvMethod) string {
	switch m {
	case reverse.ConvDense:
		return "Matrix-Solve"
	case reverse.ConvCG:
		return "Iterative-CG"
	case reverse.ConvFFTBoundary:
		return "FFT-Boundary"
	case reverse.ConvFFTPad:
		return "FFT-Padded"
	}
	return string(m)
}

// Regimes of the efficiency experiment.
const (
	Expand = "expand"
	Shrink = "shrink"
)

// Config sets up a benchmark run. DefaultConfig gives the paper's efficiency setup.
type Config struct {
	Sizes      []int                // H = W of the efficiency experiment
	Methods    []reverse.ConvMethod // methods to run
	Cases      []string             // Expand and/or Shrink
	Batch      int
	Cin        int
	CoutExpand int // output channels of the expand case
	CoutShrink int // output channels of the shrink case
	Kernel     int
	Pad        int
	Noise      float64 // target noise U(0, Noise) (spec-results §2.1)
	// NoiseNormal draws the target noise from N(0, Noise²) instead; an alternative
	// reading of the original's setup, kept for comparison.
	NoiseNormal bool
	Seed        uint64
	Regularize  bool // reliability tests and fallbacks (the efficiency run has them off)

	Budget      time.Duration // time spent on warm calls per cell (at least one call)
	MaxRepeats  int           // warm calls per cell at most
	MaxCallTime time.Duration // skip dense cells whose estimated time per call is longer
	LongCall    time.Duration // a cold call longer than this is not repeated
	MemLimit    int64         // skip dense cells needing more bytes (0: machine-dependent default)
	CondMaxDim  int           // compute the dense matrix's condition number up to this max(m, n)

	Stability *StabilityConfig // run the stability experiment too when non-nil

	Log io.Writer // progress lines (nil: none)
}

// StabilityConfig sets up the stability experiment (spec-results §3). The paper used
// Size 64 and 10 seeds; DefaultStability uses Size 16 and 3 seeds so that the dense
// method fits a workstation.
type StabilityConfig struct {
	Size    int                  `json:"size"`
	Cin     int                  `json:"cin"`
	Couts   []int                `json:"couts"`
	Pads    []int                `json:"pads"`
	Conds   []float64            `json:"conds"`
	Seeds   int                  `json:"seeds"`
	Noise   float64              `json:"noise"`
	Methods []reverse.ConvMethod `json:"methods,omitempty"` // nil: Config.Methods
}

// DefaultConfig returns the efficiency setup of spec-results §2.1 for sizes 16, 32, 64.
func DefaultConfig() Config {
	return Config{
		Sizes: []int{16, 32, 64}, Methods: slices.Clone(AllMethods), Cases: []string{Expand, Shrink},
		Batch: 2, Cin: 2, CoutExpand: 4, CoutShrink: 1, Kernel: 5, Pad: 0, Noise: 1, Seed: 0,
		Budget: time.Second, MaxRepeats: 500, MaxCallTime: 2 * time.Minute, LongCall: 20 * time.Second,
		CondMaxDim: 2048,
	}
}

// DefaultStability returns the stability setup of spec-results §3 at H = W = 16.
func DefaultStability() *StabilityConfig {
	return &StabilityConfig{Size: 16, Cin: 8, Couts: []int{8, 16, 4}, Pads: []int{0, 1},
		Conds: []float64{1, 10, 100, 1e3, 1e4, 1e5}, Seeds: 3, Noise: 1}
}

// Cell is one measured (or skipped) configuration. Metrics are absent for skipped
// cells and when not computed.
type Cell struct {
	Experiment string  `json:"experiment"` // "efficiency" or "stability"
	Method     string  `json:"method"`
	Display    string  `json:"display"`
	Size       int     `json:"size"`
	Case       string  `json:"case"` // expand or shrink (by element counts, as exact/CG decide)
	Cin        int     `json:"cin"`
	Cout       int     `json:"cout"`
	Kernel     int     `json:"kernel"`
	Pad        int     `json:"pad"`
	Batch      int     `json:"batch"`
	WeightCond float64 `json:"weight_cond"`
	Seed       uint64  `json:"seed"`
	Regularize bool    `json:"regularize"`
	Status     string  `json:"status"` // "ok" or "skipped"
	Reason     string  `json:"reason,omitempty"`
	Note       string  `json:"note,omitempty"`

	MsPerCall     *float64 `json:"ms_per_call,omitempty"` // median over warm calls
	MsCold        *float64 `json:"ms_cold,omitempty"`     // first call, caches empty
	Repeats       int      `json:"repeats"`               // warm calls measured
	AllocMBCold   *float64 `json:"alloc_mb_cold,omitempty"`
	AllocMBWarm   *float64 `json:"alloc_mb_warm,omitempty"`
	Consistency   *float64 `json:"consistency_rel_l2,omitempty"`
	FrontDistance *float64 `json:"front_distance_rel_l2,omitempty"`
	MaxAbs        *float64 `json:"max_abs,omitempty"`
	Fallbacks     int      `json:"fallbacks"`
	DiagMethod    string   `json:"diag_method,omitempty"`
	MatrixCond    *float64 `json:"matrix_cond,omitempty"` // 2-norm condition number of the per-sample matrix
	EstMemMB      *float64 `json:"est_mem_mb,omitempty"`  // exact_matrix: DenseCost estimate
	EstCallS      *float64 `json:"est_call_s,omitempty"`  // exact_matrix: estimated seconds per call

	RefCPUMs           *float64 `json:"ref_cpu_ms,omitempty"`   // authors' CPU time per warm call
	PaperGPUMs         *float64 `json:"paper_gpu_ms,omitempty"` // spec-results §2.2
	PaperMB            *float64 `json:"paper_mb,omitempty"`     // spec-results §2.3
	PaperConsistency   *float64 `json:"paper_consistency,omitempty"`
	PaperFrontDistance *float64 `json:"paper_front_distance,omitempty"`
	PaperRange         string   `json:"paper_range,omitempty"` // stability: consistency range read from the paper's JSON
}

// Result is everything a run produced.
type Result struct {
	Date       string       `json:"date"`
	GoVersion  string       `json:"go_version"`
	GOOS       string       `json:"goos"`
	GOARCH     string       `json:"goarch"`
	NumCPU     int          `json:"num_cpu"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	Config     ConfigRecord `json:"config"`
	Efficiency []Cell       `json:"efficiency"`
	Stability  []Cell       `json:"stability,omitempty"`
}

// ConfigRecord is the JSON form of a Config.
type ConfigRecord struct {
	Sizes        []int            `json:"sizes"`
	Methods      []string         `json:"methods"`
	Cases        []string         `json:"cases"`
	Batch        int              `json:"batch"`
	Cin          int              `json:"cin"`
	CoutExpand   int              `json:"cout_expand"`
	CoutShrink   int              `json:"cout_shrink"`
	Kernel       int              `json:"kernel"`
	Pad          int              `json:"pad"`
	Noise        float64          `json:"noise"`
	NoiseNormal  bool             `json:"noise_normal"`
	Seed         uint64           `json:"seed"`
	Regularize   bool             `json:"regularize"`
	BudgetS      float64          `json:"budget_s"`
	MaxRepeats   int              `json:"max_repeats"`
	MaxCallTimeS float64          `json:"max_call_time_s"`
	LongCallS    float64          `json:"long_call_s"`
	MemLimitMB   float64          `json:"mem_limit_mb"`
	Stability    *StabilityConfig `json:"stability,omitempty"`
}

// Run runs the efficiency experiment (and the stability one if cfg.Stability is set).
// Cancelling ctx stops between cells and returns what was measured with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("convbench: %w", err)
	}
	if cfg.MemLimit == 0 {
		cfg.MemLimit = defaultMemLimit()
	}
	r := &runner{cfg: cfg, rate: map[string]float64{}}
	res := &Result{
		Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Config: cfg.record(),
	}
	for _, size := range cfg.Sizes {
		for _, cs := range cfg.Cases {
			cells, err := r.efficiency(ctx, size, cs)
			res.Efficiency = append(res.Efficiency, cells...)
			if err != nil {
				return res, err
			}
		}
	}
	if cfg.Stability != nil {
		cells, err := r.stability(ctx, *cfg.Stability)
		res.Stability = cells
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

func (cfg Config) record() ConfigRecord {
	rec := ConfigRecord{Sizes: cfg.Sizes, Cases: cfg.Cases, Batch: cfg.Batch, Cin: cfg.Cin, CoutExpand: cfg.CoutExpand,
		CoutShrink: cfg.CoutShrink, Kernel: cfg.Kernel, Pad: cfg.Pad, Noise: cfg.Noise, NoiseNormal: cfg.NoiseNormal, Seed: cfg.Seed, Regularize: cfg.Regularize,
		BudgetS: cfg.Budget.Seconds(), MaxRepeats: cfg.MaxRepeats, MaxCallTimeS: cfg.MaxCallTime.Seconds(), LongCallS: cfg.LongCall.Seconds(),
		MemLimitMB: float64(cfg.MemLimit) / (1 << 20), Stability: cfg.Stability}
	for _, m := range cfg.Methods {
		rec.Methods = append(rec.Methods, string(m))
	}
	return rec
}

// defaultMemLimit is reverse.DenseMemoryLimit, lowered to 80 % of the available memory.
func defaultMemLimit() int64 {
	lim := reverse.DenseMemoryLimit
	if avail := availableMemory(); avail > 0 {
		lim = min(lim, avail/5*4)
	}
	return lim
}

// availableMemory reads MemAvailable from /proc/meminfo (0 if unknown).
func availableMemory() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

type runner struct {
	cfg  Config
	rate map[string]float64 // measured dense flop rate per case, for time estimates
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, format+"\n", args...)
	}
}

// problem is one generated reverse problem.
type problem struct {
	weight          []float64
	cin, cout, k, h int
	pad, batch      int
	x, target       []float64
	caseName        string
	weightCond      float64
}

// newProblem draws weights with the given condition number (flattened kernel
// Cout×(Cin·k²) = U diag(s) Vᵀ, random orthonormal U, V, s log-spaced from 1 to
// 1/cond), x ~ U(−1, 1) and y* = conv(x) + U(0, noise) (N(0, noise²) with normal).
func newProblem(rng *rand.Rand, batch, cin, cout, k, pad, h int, cond, noise float64, normal bool) *problem {
	p := &problem{cin: cin, cout: cout, k: k, h: h, pad: pad, batch: batch, weightCond: cond}
	p.weight = conditionedWeight(rng, cout, cin*k*k, cond)
	p.x = make([]float64, batch*cin*h*h)
	for i := range p.x {
		p.x[i] = 2*rng.Float64() - 1
	}
	c := p.layer()
	p.target = c.Forward(p.x, batch, h, h)
	for i := range p.target {
		if normal {
			p.target[i] += noise * rng.NormFloat64()
		} else {
			p.target[i] += noise * rng.Float64()
		}
	}
	ho, wo := c.OutSize(h, h)
	p.caseName = Expand
	if cin*h*h >= cout*ho*wo {
		p.caseName = Shrink
	}
	return p
}

// layer returns a fresh bias-free Conv2D (empty caches) for the problem.
func (p *problem) layer() *reverse.Conv2D {
	c := reverse.NewConv2D(slices.Clone(p.weight), nil, p.cout, p.cin, p.k, p.k)
	c.Pad = p.pad
	return c
}

// conditionedWeight returns a rows×cols matrix U diag(s) Vᵀ with orthonormal random
// factors and singular values log-spaced from 1 down to 1/cond.
func conditionedWeight(rng *rand.Rand, rows, cols int, cond float64) []float64 {
	r := min(rows, cols)
	U, V := orthonormal(rng, rows, r), orthonormal(rng, cols, r)
	s := make([]float64, r)
	for i := range s {
		s[i] = 1
		if r > 1 {
			s[i] = math.Pow(cond, -float64(i)/float64(r-1))
		}
	}
	w := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := 0.0
			for q := 0; q < r; q++ {
				v += U.At(i, q) * s[q] * V.At(j, q)
			}
			w[i*cols+j] = v
		}
	}
	return w
}

// orthonormal returns an n×r matrix with orthonormal columns (QR of a Gaussian matrix,
// signs fixed so that the distribution is uniform).
func orthonormal(rng *rand.Rand, n, r int) *mat.Dense {
	g := mat.NewDense(n, r, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < r; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, rr mat.Dense
	qr.QTo(&q)
	qr.RTo(&rr)
	out := mat.NewDense(n, r, nil)
	for j := 0; j < r; j++ {
		sign := 1.0
		if rr.At(j, j) < 0 {
			sign = -1
		}
		for i := 0; i < n; i++ {
			out.Set(i, j, sign*q.At(i, j))
		}
	}
	return out
}

// matrixCond returns the 2-norm condition number σ_max/σ_min of the per-sample matrix
// (built from basis images), or 0 when max(m, n) exceeds maxDim.
func matrixCond(c *reverse.Conv2D, h, maxDim int) float64 {
	ho, wo := c.OutSize(h, h)
	m, n := c.Cout*ho*wo, c.Cin*h*h
	if max(m, n) > maxDim {
		return 0
	}
	A := mat.NewDense(m, n, nil)
	e := make([]float64, n)
	for j := 0; j < n; j++ {
		e[j] = 1
		for i, v := range c.Forward(e, 1, h, h) {
			A.Set(i, j, v)
		}
		e[j] = 0
	}
	var svd mat.SVD
	if !svd.Factorize(A, mat.SVDNone) {
		return 0
	}
	s := svd.Values(nil)
	if s[len(s)-1] == 0 {
		return math.Inf(1)
	}
	return s[0] / s[len(s)-1]
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// efficiency measures every method on one (size, case) problem.
func (r *runner) efficiency(ctx context.Context, size int, cs string) ([]Cell, error) {
	cfg := r.cfg
	cout := cfg.CoutExpand
	if cs == Shrink {
		cout = cfg.CoutShrink
	}
	caseIdx := uint64(0)
	if cs == Shrink {
		caseIdx = 1
	}
	base := Cell{Experiment: "efficiency", Size: size, Cin: cfg.Cin, Cout: cout, Kernel: cfg.Kernel, Pad: cfg.Pad,
		Batch: cfg.Batch, WeightCond: 1, Seed: cfg.Seed, Regularize: cfg.Regularize}
	if size+2*cfg.Pad < cfg.Kernel {
		var cells []Cell
		for _, m := range cfg.Methods {
			cell := base
			cell.Method, cell.Display, cell.Case, cell.Status = string(m), DisplayName(m), cs, "skipped"
			cell.Reason = fmt.Sprintf("kernel %d does not fit a %d×%d input", cfg.Kernel, size, size)
			cells = append(cells, cell)
		}
		return cells, nil
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(size)<<1|caseIdx))
	p := newProblem(rng, cfg.Batch, cfg.Cin, cout, cfg.Kernel, cfg.Pad, size, 1, cfg.Noise, cfg.NoiseNormal)
	if p.caseName != cs {
		base.Note = fmt.Sprintf("Cout %d makes this a %s problem by element counts", cout, p.caseName)
	}
	var cond float64
	if cfg.CondMaxDim > 0 {
		cond = matrixCond(p.layer(), size, cfg.CondMaxDim)
	}
	opt := reverse.DefaultOptions()
	opt.Regularize = cfg.Regularize
	opt.SkipResidual = true // the bench measures consistency itself, outside the timed call
	var cells []Cell
	for _, m := range cfg.Methods {
		if err := ctx.Err(); err != nil {
			return cells, err
		}
		cell := base
		cell.Method, cell.Display, cell.Case = string(m), DisplayName(m), cs
		if cond > 0 {
			cell.MatrixCond = num(cond)
		}
		addReferences(&cell)
		opt.ConvMethod = m
		r.measureCell(ctx, &cell, p, opt, cfg.MaxRepeats, cfg.Budget)
		cells = append(cells, cell)
		r.logCell(cell)
	}
	return cells, nil
}

func (r *runner) logCell(c Cell) {
	if c.Status != "ok" {
		r.logf("%-10s %3d %-6s cout %2d pad %d cond %-6g %-13s skipped: %s", c.Experiment, c.Size, c.Case, c.Cout, c.Pad, c.WeightCond, c.Method, c.Reason)
		return
	}
	r.logf("%-10s %3d %-6s cout %2d pad %d cond %-6g %-13s %10.3f ms  consistency %.3g  front %.3g  fallbacks %d",
		c.Experiment, c.Size, c.Case, c.Cout, c.Pad, c.WeightCond, c.Method, deref(c.MsPerCall), deref(c.Consistency), deref(c.FrontDistance), c.Fallbacks)
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// denseSkip returns why the dense method should not run on p (empty when it may),
// filling the estimates into the cell.
func (r *runner) denseSkip(cell *Cell, p *problem) string {
	c := p.layer()
	bytes, flops := c.DenseCost(p.batch, p.h, p.h)
	cell.EstMemMB = num(float64(bytes) / (1 << 20))
	if bytes > r.cfg.MemLimit {
		return fmt.Sprintf("dense matrix and factorisation need about %.1f GiB, more than the %.1f GiB allowed here", float64(bytes)/(1<<30), float64(r.cfg.MemLimit)/(1<<30))
	}
	rate := r.rate[p.caseName]
	if rate == 0 {
		rate = 3e9 // gonum's pure-Go LAPACK on one or two cores
	}
	est := flops / rate
	cell.EstCallS = num(est)
	if r.cfg.MaxCallTime > 0 && est > r.cfg.MaxCallTime.Seconds() {
		return fmt.Sprintf("estimated %.0f s per call (%.2g flops) exceeds the %v limit", est, flops, r.cfg.MaxCallTime)
	}
	return ""
}

// measureCell runs one method on p: a cold call, then warm calls until the budget or
// maxRepeats is used up (none when maxRepeats is 0: the cold call is the measurement),
// and fills the cell.
func (r *runner) measureCell(ctx context.Context, cell *Cell, p *problem, opt reverse.Options, maxRepeats int, budget time.Duration) {
	if opt.ConvMethod == reverse.ConvDense {
		if why := r.denseSkip(cell, p); why != "" {
			cell.Status, cell.Reason = "skipped", why
			return
		}
	}
	c := p.layer()
	defer func() {
		c = nil
		runtime.GC()
		debug.FreeOSMemory()
	}()
	// A collection runs before the cold call, before the first warm call and whenever
	// the next call could reach the heap goal, so that no timed call contains one. It
	// does not run before every warm call: a call right after a forced collection finds
	// the runtime's background work (scavenging, parked threads) still going, which
	// made the time of the fast methods swing by 2–5× from run to run. For the same
	// reason the exact allocation count (runtime.ReadMemStats, which stops the world)
	// is taken for the cold and the first warm call only; the other calls read the
	// runtime/metrics heap figures, which do not stop the world.
	var lastAlloc uint64
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	readHeap := func() (objects, goal, allocs uint64) {
		metrics.Read(heap)
		return heap[0].Value.Uint64(), heap[1].Value.Uint64(), heap[2].Value.Uint64()
	}
	call := func(exact bool) ([]float64, reverse.Diag, time.Duration, uint64, error) {
		var a0 uint64
		var ms runtime.MemStats
		if exact {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			a0 = ms.TotalAlloc
		} else {
			objects, goal, allocs := readHeap()
			if objects+2*lastAlloc >= goal {
				runtime.GC()
				_, _, allocs = readHeap()
			}
			a0 = allocs
		}
		t0 := time.Now()
		x, d, err := c.Reverse(p.x, p.batch, p.h, p.h, p.target, opt)
		el := time.Since(t0)
		if exact {
			runtime.ReadMemStats(&ms)
			lastAlloc = ms.TotalAlloc - a0
		} else {
			_, _, allocs := readHeap()
			lastAlloc = allocs - a0
		}
		return x, d, el, lastAlloc, err
	}
	x, d, cold, allocCold, err := call(true)
	if err != nil {
		cell.Status, cell.Reason = "skipped", err.Error()
		return
	}
	cell.MsCold = num(ms(cold))
	cell.AllocMBCold = num(float64(allocCold) / (1 << 20))
	var times []float64
	switch {
	case maxRepeats == 0:
		times = append(times, ms(cold))
	case r.cfg.LongCall > 0 && cold > r.cfg.LongCall:
		cell.Note = joinNote(cell.Note, fmt.Sprintf("cold call took %v: not repeated, time per call is the cold call", cold.Round(time.Millisecond)))
		times = append(times, ms(cold))
	default:
		// Untimed warm-up calls first: right after a cell with parallel work (CG, the
		// dense factorisations) the calls of a fast method ran 2–3× slower for up to
		// ~100 ms, in CPU time as well as wall time, which is longer than 500 calls of
		// fft_pad at 16² take.
		warm := min(budget/4, warmupTime)
		for st := time.Now(); time.Since(st) < warm && ctx.Err() == nil; {
			if _, _, err := c.Reverse(p.x, p.batch, p.h, p.h, p.target, opt); err != nil {
				cell.Status, cell.Reason = "skipped", "warm-up call: "+err.Error()
				return
			}
		}
		start := time.Now()
		for i := 0; i < maxRepeats && (i == 0 || time.Since(start) < budget) && ctx.Err() == nil; i++ {
			var el time.Duration
			var alloc uint64
			x, d, el, alloc, err = call(i == 0)
			if err != nil {
				cell.Status, cell.Reason = "skipped", "warm call: "+err.Error()
				return
			}
			if i == 0 {
				cell.AllocMBWarm = num(float64(alloc) / (1 << 20))
			}
			times = append(times, ms(el))
		}
		cell.Repeats = len(times)
	}
	sort.Float64s(times)
	cell.MsPerCall = num(times[len(times)/2])
	if len(times)%2 == 0 {
		cell.MsPerCall = num((times[len(times)/2-1] + times[len(times)/2]) / 2)
	}
	cell.Status = "ok"
	cell.DiagMethod = d.Method
	cell.Fallbacks = d.Fallbacks
	cons, front, maxAbs := accuracy(c, p, x)
	cell.Consistency, cell.FrontDistance, cell.MaxAbs = num(cons), num(front), num(maxAbs)
	if opt.ConvMethod == reverse.ConvDense && p.caseName == cell.Case {
		if _, flops := c.DenseCost(p.batch, p.h, p.h); deref(cell.MsPerCall) > 50 {
			r.rate[p.caseName] = flops / (deref(cell.MsPerCall) / 1e3)
		}
	}
}

// warmupTime is the longest run of untimed warm-up calls before the timed warm calls of
// a cell (a quarter of the budget when that is shorter).
const warmupTime = 250 * time.Millisecond

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// accuracy returns consistency ‖conv(x̂) − y*‖/‖y*‖ over the batch, front distance
// mean_b ‖x̂_b − x_b‖/‖x_b‖ and max |x̂|.
func accuracy(c *reverse.Conv2D, p *problem, xh []float64) (cons, front, maxAbs float64) {
	y := c.Forward(xh, p.batch, p.h, p.h)
	var num, den float64
	for i := range y {
		num += (y[i] - p.target[i]) * (y[i] - p.target[i])
		den += p.target[i] * p.target[i]
	}
	cons = math.Sqrt(num / den)
	n := len(p.x) / p.batch
	for b := 0; b < p.batch; b++ {
		var d, s float64
		for i := b * n; i < (b+1)*n; i++ {
			d += (xh[i] - p.x[i]) * (xh[i] - p.x[i])
			s += p.x[i] * p.x[i]
		}
		front += math.Sqrt(d / s)
	}
	front /= float64(p.batch)
	for _, v := range xh {
		maxAbs = max(maxAbs, math.Abs(v))
	}
	return cons, front, maxAbs
}

// stability runs the stability grid: one call per (pad, cout, cond, seed, method).
func (r *runner) stability(ctx context.Context, sc StabilityConfig) ([]Cell, error) {
	methods := sc.Methods
	if methods == nil {
		methods = r.cfg.Methods
	}
	opt := reverse.DefaultOptions()
	opt.Regularize = true
	var cells []Cell
	for _, pad := range sc.Pads {
		for _, cout := range sc.Couts {
			for ci, cond := range sc.Conds {
				for seed := 0; seed < max(sc.Seeds, 1); seed++ {
					rng := rand.New(rand.NewPCG(uint64(seed), uint64(pad)<<40|uint64(cout)<<20|uint64(ci)))
					p := newProblem(rng, r.cfg.Batch, sc.Cin, cout, r.cfg.Kernel, pad, sc.Size, cond, sc.Noise, r.cfg.NoiseNormal)
					for _, m := range methods {
						if err := ctx.Err(); err != nil {
							return cells, err
						}
						cell := Cell{Experiment: "stability", Method: string(m), Display: DisplayName(m), Size: sc.Size, Case: p.caseName,
							Cin: sc.Cin, Cout: cout, Kernel: r.cfg.Kernel, Pad: pad, Batch: r.cfg.Batch, WeightCond: cond,
							Seed: uint64(seed), Regularize: true, PaperRange: paperStability[stabKey{pad, cout, cond}][m]}
						opt.ConvMethod = m
						r.measureStabilityCell(ctx, &cell, p, opt)
						cells = append(cells, cell)
						r.logCell(cell)
					}
				}
			}
		}
	}
	return cells, nil
}

// measureStabilityCell makes a single (cold) call, the paper's one repeat.
func (r *runner) measureStabilityCell(ctx context.Context, cell *Cell, p *problem, opt reverse.Options) {
	r.measureCell(ctx, cell, p, opt, 0, 0)
}

// WriteJSON writes the result to path atomically (temporary file, then rename).
func (res *Result) WriteJSON(path string) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("convbench: encode %s: %w", path, err)
	}
	return writeAtomic(path, append(b, '\n'))
}

// ReadJSON reads a result written by WriteJSON (e.g. to redraw its plots).
func ReadJSON(path string) (*Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("convbench: %w", err)
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("convbench: read %s: %w", path, err)
	}
	return &res, nil
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.WriteBytes(path, data); err != nil {
		return fmt.Errorf("convbench: %w", err)
	}
	return nil
}

// palette is the Okabe–Ito colour-blind-safe set, one colour per method.
var palette = map[reverse.ConvMethod]color.Color{
	reverse.ConvDense:       color.RGBA{213, 94, 0, 255},
	reverse.ConvCG:          color.RGBA{0, 114, 178, 255},
	reverse.ConvFFTBoundary: color.RGBA{0, 158, 115, 255},
	reverse.ConvFFTPad:      color.RGBA{204, 121, 167, 255},
}

// WritePlot writes a PNG of the median time per warm call against H = W (log–log),
// one line per method and case (shrink dashed, legend on the right), to path atomically.
func (res *Result) WritePlot(path string) error {
	p := plot.New()
	p.Title.Text = "Conv reversal: time per warm call (batch 2, 5×5 kernel)"
	p.X.Label.Text = "H = W"
	p.Y.Label.Text = "ms per call"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	var sizes []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range AllMethods {
		for _, cs := range []string{Expand, Shrink} {
			var pts plotter.XYs
			for _, c := range res.Efficiency {
				if c.Method == string(m) && c.Case == cs && c.Status == "ok" && c.MsPerCall != nil && *c.MsPerCall > 0 {
					pts = append(pts, plotter.XY{X: float64(c.Size), Y: *c.MsPerCall})
					lo, hi = min(lo, *c.MsPerCall), max(hi, *c.MsPerCall)
					if !slices.Contains(sizes, float64(c.Size)) {
						sizes = append(sizes, float64(c.Size))
					}
				}
			}
			if len(pts) == 0 {
				continue
			}
			sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return fmt.Errorf("convbench: plot %s: %w", path, err)
			}
			l.Color, s.Color = palette[m], palette[m]
			s.Shape, s.Radius = draw.CircleGlyph{}, vg.Points(2)
			if cs == Shrink {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				s.Shape = draw.SquareGlyph{}
			}
			p.Add(l, s)
			leg.Add(DisplayName(m)+" "+cs, l, s)
		}
	}
	if len(sizes) == 0 {
		lo, hi, sizes = 0.1, 1000, []float64{16, 256}
	}
	sort.Float64s(sizes)
	var ticks []plot.Tick
	for _, s := range sizes {
		ticks = append(ticks, plot.Tick{Value: s, Label: strconv.Itoa(int(s))})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = sizes[0]/1.3, sizes[len(sizes)-1]*1.3
	p.Y.Min, p.Y.Max = lo/2, hi*2
	return savePNG(p, leg, path)
}

// decadeTicks labels powers of ten (at most about eight labels, with unlabelled ticks
// at the skipped decades and, when every decade is labelled, minor ticks at 2…9).
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	a, b := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	step := max(1, (b-a+7)/8)
	var ticks []plot.Tick
	for k := a; k <= b; k++ {
		v := math.Pow10(k)
		if v >= lo && v <= hi {
			t := plot.Tick{Value: v}
			if k%step == 0 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ticks = append(ticks, t)
		}
		if step == 1 {
			for m := 2; m <= 9; m++ {
				if w := float64(m) * v; w >= lo && w <= hi {
					ticks = append(ticks, plot.Tick{Value: w})
				}
			}
		}
	}
	return ticks
}

// savePNG draws p with its legend in a column on the right and writes the PNG to path
// atomically.
func savePNG(p *plot.Plot, leg plot.Legend, path string) error {
	const width, height, legendWidth = 9 * vg.Inch, 4.5 * vg.Inch, 2 * vg.Inch
	cw, err := draw.NewFormattedCanvas(width, height, "png")
	if err != nil {
		return fmt.Errorf("convbench: plot %s: %w", path, err)
	}
	dc := draw.New(cw)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	leg.Top, leg.Left = true, true
	leg.Draw(draw.Crop(dc, width-legendWidth+vg.Points(8), 0, 0, -vg.Points(24)))
	var buf bytes.Buffer
	if _, err := cw.WriteTo(&buf); err != nil {
		return fmt.Errorf("convbench: plot %s: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// WriteTable prints the efficiency cells, and the stability cells aggregated over seeds
// (medians), as aligned text tables.
func (res *Result) WriteTable(out io.Writer) error {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "size\tcase\tmethod\tms/call\tref CPU ms\tpaper GPU ms\tcold ms\tMB cold\tMB warm\tpaper MB\tconsistency\t(paper)\tfront dist\t(paper)\tfallbacks\tcond(A)\tnote")
	for _, c := range res.Efficiency {
		if c.Status != "ok" {
			fmt.Fprintf(tw, "%d\t%s\t%s\t-\t%s\t%s\t-\t-\t-\t%s\t-\t%s\t-\t%s\t-\t%s\tskipped: %s\n", c.Size, c.Case, c.Method,
				f3(c.RefCPUMs), f3(c.PaperGPUMs), f3(c.PaperMB), g3(c.PaperConsistency), g3(c.PaperFrontDistance), g3(c.MatrixCond), c.Reason)
			continue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Size, c.Case, c.Method,
			f3(c.MsPerCall), f3(c.RefCPUMs), f3(c.PaperGPUMs), f3(c.MsCold), f3(c.AllocMBCold), f3(c.AllocMBWarm), f3(c.PaperMB),
			g3(c.Consistency), g3(c.PaperConsistency), g3(c.FrontDistance), g3(c.PaperFrontDistance), c.Fallbacks, g3(c.MatrixCond), c.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(res.Stability) == 0 {
		return nil
	}
	fmt.Fprintf(out, "\nstability (H = W = %d; medians over seeds; paper ranges are at H = W = 64)\n", res.Stability[0].Size)
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "pad\tcout\tcase\tcond\tmethod\tok/runs\tconsistency\tfront dist\tmax |x|\tfallback runs\tms\tpaper consistency\tnote")
	for _, g := range groupStability(res.Stability) {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%g\t%s\t%d/%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", g.pad, g.cout, g.caseName, g.cond, g.method, g.ok, g.runs,
			g3(num(median(g.cons))), g3(num(median(g.front))), g3(num(median(g.maxAbs))), g.fallbackRuns, f3(num(median(g.ms))), g.paper, g.reason)
	}
	return tw.Flush()
}

type stabGroup struct {
	pad, cout              int
	cond                   float64
	method, caseName       string
	ok, runs, fallbackRuns int
	cons, front, maxAbs    []float64
	ms                     []float64
	paper, reason          string
}

// groupStability aggregates stability cells over seeds, in first-seen order.
func groupStability(cells []Cell) []*stabGroup {
	var out []*stabGroup
	idx := map[string]*stabGroup{}
	for _, c := range cells {
		key := fmt.Sprintf("%d/%d/%g/%s", c.Pad, c.Cout, c.WeightCond, c.Method)
		g := idx[key]
		if g == nil {
			g = &stabGroup{pad: c.Pad, cout: c.Cout, cond: c.WeightCond, method: c.Method, caseName: c.Case, paper: c.PaperRange}
			idx[key] = g
			out = append(out, g)
		}
		g.runs++
		if c.Status != "ok" {
			g.reason = "skipped: " + c.Reason
			continue
		}
		g.ok++
		if c.Fallbacks > 0 {
			g.fallbackRuns++
		}
		g.cons = append(g.cons, deref(c.Consistency))
		g.front = append(g.front, deref(c.FrontDistance))
		g.maxAbs = append(g.maxAbs, deref(c.MaxAbs))
		g.ms = append(g.ms, deref(c.MsPerCall))
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func f3(p *float64) string {
	if p == nil {
		return "-"
	}
	switch v := *p; {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func g3(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'g', 3, 64)
}

// WriteStabilityPlot writes a PNG of the median consistency against the weight
// condition number, one line per method and case (medians over seeds, paddings and
// output channel counts), to path atomically. It is a no-op without stability cells.
func (res *Result) WriteStabilityPlot(path string) error {
	if len(res.Stability) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Conv reversal stability (H = W = %d, regularised)", res.Stability[0].Size)
	p.X.Label.Text = "weight condition number"
	p.Y.Label.Text = "consistency ‖conv(x̂) − y*‖/‖y*‖"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = decadeTicks{}, decadeTicks{}
	p.Add(plotter.NewGrid())
	leg := plot.NewLegend()
	lo, hi := math.Inf(1), math.Inf(-1)
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, m := range AllMethods {
		for _, cs := range []string{Expand, Shrink} {
			byCond := map[float64][]float64{}
			for _, c := range res.Stability {
				if c.Method == string(m) && c.Case == cs && c.Status == "ok" && c.Consistency != nil && *c.Consistency > 0 {
					byCond[c.WeightCond] = append(byCond[c.WeightCond], *c.Consistency)
				}
			}
			if len(byCond) == 0 {
				continue
			}
			var pts plotter.XYs
			for cond, v := range byCond {
				y := median(v)
				pts = append(pts, plotter.XY{X: cond, Y: y})
				lo, hi, xlo, xhi = min(lo, y), max(hi, y), min(xlo, cond), max(xhi, cond)
			}
			sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				return fmt.Errorf("convbench: plot %s: %w", path, err)
			}
			l.Color, s.Color = palette[m], palette[m]
			s.Shape, s.Radius = draw.CircleGlyph{}, vg.Points(2)
			if cs == Shrink {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				s.Shape = draw.SquareGlyph{}
			}
			p.Add(l, s)
			leg.Add(DisplayName(m)+" "+cs, l, s)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi, xlo, xhi = 1e-6, 1, 1, 1e5
	}
	p.X.Min, p.X.Max = xlo/2, xhi*2
	p.Y.Min, p.Y.Max = lo/3, hi*3
	return savePNG(p, leg, path)
}

// Reference numbers. refKey is (method, case, size).
type refKey struct {
	method reverse.ConvMethod
	cs     string
	size   int
}

// paperGPUSeconds is spec-results §2.2 (time per call on a CUDA GPU, seconds).
var paperGPUSeconds = map[refKey]float64{
	{reverse.ConvDense, Expand, 16}: 4.21e-3, {reverse.ConvDense, Shrink, 16}: 9.57e-4,
	{reverse.ConvDense, Expand, 32}: 2.63e-2, {reverse.ConvDense, Shrink, 32}: 3.07e-3,
	{reverse.ConvDense, Expand, 64}: 3.21e-1, {reverse.ConvDense, Shrink, 64}: 3.17e-2,
	{reverse.ConvDense, Expand, 128}: 8.04, {reverse.ConvDense, Shrink, 128}: 1.13,
	{reverse.ConvCG, Expand, 16}: 3.26e-2, {reverse.ConvCG, Shrink, 16}: 3.20e-2,
	{reverse.ConvCG, Expand, 32}: 5.24e-2, {reverse.ConvCG, Shrink, 32}: 3.20e-2,
	{reverse.ConvCG, Expand, 64}: 5.75e-2, {reverse.ConvCG, Shrink, 64}: 3.18e-2,
	{reverse.ConvCG, Expand, 128}: 9.14e-2, {reverse.ConvCG, Shrink, 128}: 3.57e-2,
	{reverse.ConvCG, Expand, 256}: 2.26e-1, {reverse.ConvCG, Shrink, 256}: 3.58e-2,
	{reverse.ConvFFTBoundary, Expand, 16}: 6.22e-4, {reverse.ConvFFTBoundary, Shrink, 16}: 7.04e-4,
	{reverse.ConvFFTBoundary, Expand, 32}: 5.56e-4, {reverse.ConvFFTBoundary, Shrink, 32}: 6.93e-4,
	{reverse.ConvFFTBoundary, Expand, 64}: 5.57e-4, {reverse.ConvFFTBoundary, Shrink, 64}: 6.93e-4,
	{reverse.ConvFFTBoundary, Expand, 128}: 5.88e-4, {reverse.ConvFFTBoundary, Shrink, 128}: 7.55e-4,
	{reverse.ConvFFTBoundary, Expand, 256}: 6.94e-4, {reverse.ConvFFTBoundary, Shrink, 256}: 9.49e-4,
	{reverse.ConvFFTPad, Expand, 16}: 5.23e-4, {reverse.ConvFFTPad, Shrink, 16}: 6.67e-4,
	{reverse.ConvFFTPad, Expand, 32}: 5.23e-4, {reverse.ConvFFTPad, Shrink, 32}: 6.62e-4,
	{reverse.ConvFFTPad, Expand, 64}: 5.27e-4, {reverse.ConvFFTPad, Shrink, 64}: 6.65e-4,
	{reverse.ConvFFTPad, Expand, 128}: 5.54e-4, {reverse.ConvFFTPad, Shrink, 128}: 7.57e-4,
	{reverse.ConvFFTPad, Expand, 256}: 7.37e-4, {reverse.ConvFFTPad, Shrink, 256}: 8.21e-4,
}

// paperMB is spec-results §2.3 (extra peak CUDA memory, MB).
var paperMB = map[refKey]float64{
	{reverse.ConvDense, Expand, 16}: 3.76, {reverse.ConvDense, Shrink, 16}: 1.57,
	{reverse.ConvDense, Expand, 32}: 65.0, {reverse.ConvDense, Shrink, 32}: 28.3,
	{reverse.ConvDense, Expand, 64}: 1156, {reverse.ConvDense, Shrink, 64}: 481,
	{reverse.ConvDense, Expand, 128}: 19472, {reverse.ConvDense, Shrink, 128}: 7940,
	{reverse.ConvCG, Expand, 16}: 0.086, {reverse.ConvCG, Shrink, 16}: 0.040,
	{reverse.ConvCG, Expand, 32}: 0.35, {reverse.ConvCG, Shrink, 32}: 0.17,
	{reverse.ConvCG, Expand, 64}: 1.41, {reverse.ConvCG, Shrink, 64}: 0.70,
	{reverse.ConvCG, Expand, 128}: 5.69, {reverse.ConvCG, Shrink, 128}: 2.90,
	{reverse.ConvCG, Expand, 256}: 22.9, {reverse.ConvCG, Shrink, 256}: 11.8,
	{reverse.ConvFFTBoundary, Expand, 16}: 0.26, {reverse.ConvFFTBoundary, Shrink, 16}: 0.11,
	{reverse.ConvFFTBoundary, Expand, 32}: 1.04, {reverse.ConvFFTBoundary, Shrink, 32}: 0.45,
	{reverse.ConvFFTBoundary, Expand, 64}: 4.14, {reverse.ConvFFTBoundary, Shrink, 64}: 1.81,
	{reverse.ConvFFTBoundary, Expand, 128}: 16.6, {reverse.ConvFFTBoundary, Shrink, 128}: 7.25,
	{reverse.ConvFFTBoundary, Expand, 256}: 66.3, {reverse.ConvFFTBoundary, Shrink, 256}: 29.0,
	{reverse.ConvFFTPad, Expand, 16}: 0.25, {reverse.ConvFFTPad, Shrink, 16}: 0.12,
	{reverse.ConvFFTPad, Expand, 32}: 1.01, {reverse.ConvFFTPad, Shrink, 32}: 0.47,
	{reverse.ConvFFTPad, Expand, 64}: 4.02, {reverse.ConvFFTPad, Shrink, 64}: 1.88,
	{reverse.ConvFFTPad, Expand, 128}: 16.1, {reverse.ConvFFTPad, Shrink, 128}: 7.50,
	{reverse.ConvFFTPad, Expand, 256}: 64.3, {reverse.ConvFFTPad, Shrink, 256}: 30.0,
}

// paperAccuracy is spec-results §2.4: consistency and front distance. The two FFT
// methods coincide at padding 0.
var paperAccuracy = map[refKey][2]float64{
	{reverse.ConvDense, Expand, 16}: {0.208, 107.7}, {reverse.ConvDense, Shrink, 16}: {4.1e-7, 0.955},
	{reverse.ConvDense, Expand, 32}: {0.368, 21.8}, {reverse.ConvDense, Shrink, 32}: {1.4e-6, 1.684},
	{reverse.ConvDense, Expand, 64}: {0.409, 28.4}, {reverse.ConvDense, Shrink, 64}: {2.1e-6, 2.159},
	{reverse.ConvDense, Expand, 128}: {0.424, 7.18}, {reverse.ConvDense, Shrink, 128}: {2.3e-6, 2.406},
	{reverse.ConvCG, Expand, 16}: {0.233, 6.73}, {reverse.ConvCG, Shrink, 16}: {1.3e-7, 0.955},
	{reverse.ConvCG, Expand, 32}: {0.371, 3.13}, {reverse.ConvCG, Shrink, 32}: {1.4e-7, 1.684},
	{reverse.ConvCG, Expand, 64}: {0.410, 1.78}, {reverse.ConvCG, Shrink, 64}: {1.7e-7, 2.159},
	{reverse.ConvCG, Expand, 128}: {0.424, 1.37}, {reverse.ConvCG, Shrink, 128}: {1.3e-5, 2.406},
	{reverse.ConvCG, Expand, 256}: {0.430, 1.16}, {reverse.ConvCG, Shrink, 256}: {2.5e-5, 2.532},
	{reverse.ConvFFTPad, Expand, 16}: {0.474, 0.986}, {reverse.ConvFFTPad, Shrink, 16}: {1.6e-7, 1.597},
	{reverse.ConvFFTPad, Expand, 32}: {0.446, 0.989}, {reverse.ConvFFTPad, Shrink, 32}: {2.1e-7, 2.132},
	{reverse.ConvFFTPad, Expand, 64}: {0.443, 0.979}, {reverse.ConvFFTPad, Shrink, 64}: {2.0e-7, 2.401},
	{reverse.ConvFFTPad, Expand, 128}: {0.441, 0.982}, {reverse.ConvFFTPad, Shrink, 128}: {2.3e-7, 2.533},
	{reverse.ConvFFTPad, Expand, 256}: {0.438, 0.986}, {reverse.ConvFFTPad, Shrink, 256}: {2.5e-7, 2.595},
}

// refCPUMs are the authors' CPU times per warm call quoted in the issue (ms).
var refCPUMs = map[refKey]float64{
	{reverse.ConvFFTPad, Expand, 16}: 0.11, {reverse.ConvFFTPad, Expand, 64}: 0.72,
	{reverse.ConvFFTPad, Shrink, 16}: 1.2, {reverse.ConvFFTPad, Shrink, 64}: 8.3,
	{reverse.ConvCG, Expand, 16}: 12, {reverse.ConvCG, Expand, 64}: 570,
	{reverse.ConvDense, Expand, 16}: 40, {reverse.ConvDense, Expand, 64}: 134000,
}

// addReferences fills the paper's numbers for an efficiency cell at the paper's setup
// (batch 2, Cin 2, Cout 4/1, kernel 5, padding 0).
func addReferences(c *Cell) {
	if c.Batch != 2 || c.Cin != 2 || c.Kernel != 5 || c.Pad != 0 || (c.Case == Expand && c.Cout != 4) || (c.Case == Shrink && c.Cout != 1) {
		return
	}
	m := reverse.ConvMethod(c.Method)
	k := refKey{m, c.Case, c.Size}
	if v, ok := refCPUMs[k]; ok {
		c.RefCPUMs = num(v)
	}
	if v, ok := paperGPUSeconds[k]; ok {
		c.PaperGPUMs = num(v * 1e3)
	}
	if v, ok := paperMB[k]; ok {
		c.PaperMB = num(v)
	}
	if m == reverse.ConvFFTBoundary {
		k.method = reverse.ConvFFTPad
	}
	if v, ok := paperAccuracy[k]; ok {
		c.PaperConsistency, c.PaperFrontDistance = num(v[0]), num(v[1])
	}
}

// stabKey is (padding, Cout, weight condition number) of spec-results §3.
type stabKey struct {
	pad, cout int
	cond      float64
}

// paperStability holds the consistency ranges read from the paper's stability JSON
// (H = W = 64, Cin 8, regularisation on; spec-results §3).
var paperStability = map[stabKey]map[reverse.ConvMethod]string{
	{0, 8, 1}:    {reverse.ConvDense: "3.8e-4–5.5e-4", reverse.ConvCG: "0.027–0.036", reverse.ConvFFTBoundary: "0.47–0.49", reverse.ConvFFTPad: "0.47–0.49"},
	{0, 4, 10}:   {reverse.ConvDense: "4.0e-4–5.5e-4", reverse.ConvCG: "0.064–0.108", reverse.ConvFFTBoundary: "0.58–0.68", reverse.ConvFFTPad: "0.58–0.68"},
	{0, 16, 1}:   {reverse.ConvDense: "0.37–0.55", reverse.ConvCG: "0.35–0.54", reverse.ConvFFTBoundary: "0.59–0.63", reverse.ConvFFTPad: "0.59–0.63"},
	{0, 8, 1e3}:  {reverse.ConvDense: "0.44–0.71 (one seed 2.51)", reverse.ConvCG: "0.42–0.68", reverse.ConvFFTBoundary: "0.73–0.85", reverse.ConvFFTPad: "0.73–0.85"},
	{0, 16, 1e4}: {reverse.ConvDense: "0.83", reverse.ConvCG: "0.74", reverse.ConvFFTBoundary: "0.90", reverse.ConvFFTPad: "0.90"},
	{0, 8, 1e5}:  {reverse.ConvDense: "0.73", reverse.ConvCG: "0.71", reverse.ConvFFTBoundary: "0.88", reverse.ConvFFTPad: "0.88"},
	{1, 8, 1e3}:  {reverse.ConvDense: "0.45 (one seed 3.25)", reverse.ConvCG: "0.43–0.74", reverse.ConvFFTBoundary: "0.77–0.86", reverse.ConvFFTPad: "0.74–0.85"},
	{1, 8, 1e4}:  {reverse.ConvDense: "0.50–0.56", reverse.ConvCG: "0.48–0.54", reverse.ConvFFTBoundary: "0.79–0.86", reverse.ConvFFTPad: "0.77–0.84"},
	{1, 4, 1e5}:  {reverse.ConvDense: "0.67–0.80", reverse.ConvCG: "0.65–0.77", reverse.ConvFFTBoundary: "0.77–0.85", reverse.ConvFFTPad: "0.75–0.84"},
}

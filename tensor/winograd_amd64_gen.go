//go:build ignore

// winograd_amd64_gen.go writes winograd_amd64.s, the AVX-512 and AVX2 kernels of the
// Winograd convolution (winograd.go): `go generate ./tensor` (or `go run winograd_amd64_gen.go` in
// this directory).
//
// Transforms: one kernel per transform matrix (Bᵀ, Aᵀ, A, G and Gᵀ of F(4×4, 3×3) and
// F(2×2, 3×3)), each applying its r×k matrix to nb sets of k 16-lane vectors with only
// the non-zero entries: an add or subtract for ±1, a broadcast multiply-add otherwise
// (Bᵀ of F(4, 3) has 22 non-zeros of 36). The matrices are copied from winograd.go;
// TestWinoTransformKernels checks every kernel against the portable loop on them.
//
// Products: two micro-kernels, each computing a 14×32 tile of C like the
// SGEMM kernel (gemm_amd64_gen.go), 28 ZMM accumulators, but read A and B where the
// transforms leave them instead of from packed panels, so nothing is copied:
//
//   - winoKernelRowsAVX512: A row-major (A[r][p] at a + r·lda + p: the transformed
//     tiles, channels contiguous), B a packed 32-column panel (the transformed weights,
//     packed once per call). Five base registers reach the 14 rows with scaled indices.
//   - winoKernelStridedAVX512: A[r][p] at a + p·as + r and B[p][j] at b + p·bs + j (the
//     weight gradient: both operands are transformed tiles, k runs over tiles).
package main

import (
	"bytes"
	"fmt"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

const (
	mr    = 14
	nv    = 2 // B vectors of 16 lanes
	nacc  = mr * nv
	bcast = 30 // the A broadcasts alternate between Z30 and Z31
)

func acc(r, v int) string { return fmt.Sprintf("Z%d", r*nv+v) }
func breg(v int) string   { return fmt.Sprintf("Z%d", nacc+v) }
func bc(r int) string     { return fmt.Sprintf("Z%d", bcast+r%2) }

// rowAddr is the operand of row r of A at byte displacement d: five bases (AX = row 0,
// R9 = row 3, R10 = row 6, R11 = row 9, R12 = row 12) plus lda·{1, 2, 4, 8} (R8).
func rowAddr(r, d int) string {
	type at struct {
		base  string
		scale int
	}
	table := map[int]at{
		0: {"AX", 0}, 1: {"AX", 1}, 2: {"AX", 2}, 4: {"AX", 4}, 8: {"AX", 8},
		3: {"R9", 0}, 5: {"R9", 2}, 7: {"R9", 4}, 11: {"R9", 8},
		6: {"R10", 0}, 10: {"R10", 4},
		9: {"R11", 0}, 13: {"R11", 4},
		12: {"R12", 0},
	}
	a := table[r]
	if a.scale == 0 {
		return fmt.Sprintf("%d(%s)", d, a.base)
	}
	return fmt.Sprintf("%d(%s)(R8*%d)", d, a.base, a.scale)
}

func zeroAcc() {
	for i := 0; i < nacc; i++ {
		p("\tVPXORD Z%d, Z%d, Z%d", i, i, i)
	}
}

// store writes an rows×nv-vector tile to C (DI, row stride DX): acc when beta (at
// betaOff(FP)) is ±0, acc + beta·C otherwise. accReg names the accumulators, beta is the
// register for the broadcast beta, vec the vector width in bytes.
func store(name string, rows, nv int, accReg func(r, v int) string, beta string, vec, betaOff int) {
	p("\tMOVL beta+%d(FP), R13", betaOff)
	p("\tANDL $0x7fffffff, R13")
	p("\tJEQ %s_overwrite", name)
	p("\tVBROADCASTSS beta+%d(FP), %s", betaOff, beta)
	for r := 0; r < rows; r++ {
		for v := 0; v < nv; v++ {
			p("\tVFMADD231PS %d(DI), %s, %s", v*vec, beta, accReg(r, v))
			p("\tVMOVUPS %s, %d(DI)", accReg(r, v), v*vec)
		}
		if r < rows-1 {
			p("\tADDQ DX, DI")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("%s_overwrite:", name)
	for r := 0; r < rows; r++ {
		for v := 0; v < nv; v++ {
			p("\tVMOVUPS %s, %d(DI)", accReg(r, v), v*vec)
		}
		if r < rows-1 {
			p("\tADDQ DX, DI")
		}
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// rowsPrologue loads the arguments of a rows kernel: CX = k, AX = a (row 0), R8 = lda in
// bytes, BX = b, DI = c, DX = ldc in bytes, R9 = row 3 of a.
func rowsPrologue(name string) {
	p("TEXT ·%s(SB), NOSPLIT, $0-52", name)
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), AX")
	p("\tMOVQ lda+16(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tMOVQ b+24(FP), BX")
	p("\tMOVQ c+32(FP), DI")
	p("\tMOVQ ldc+40(FP), DX")
	p("\tSHLQ $2, DX")
	p("\tLEAQ (AX)(R8*2), R9")
	p("\tADDQ R8, R9") // row 3
}

// stridedPrologue loads the arguments of a strided kernel: CX = k, AX = a, R8 = as and
// R9 = bs in bytes, BX = b, DI = c, DX = ldc in bytes.
func stridedPrologue(name string) {
	p("TEXT ·%s(SB), NOSPLIT, $0-60", name)
	p("\tMOVQ k+0(FP), CX")
	p("\tMOVQ a+8(FP), AX")
	p("\tMOVQ as+16(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tMOVQ b+24(FP), BX")
	p("\tMOVQ bs+32(FP), R9")
	p("\tSHLQ $2, R9")
	p("\tMOVQ c+40(FP), DI")
	p("\tMOVQ ldc+48(FP), DX")
	p("\tSHLQ $2, DX")
}

// rows emits winoKernelRowsAVX512; k is a multiple of 4.
func rows() {
	const name, unroll = "winoKernelRowsAVX512", 4
	p("// func %s(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)", name)
	p("// c[r][j] (+)= Σ_p a[r·lda+p]·b[p·32+j] for r < 14, j < 32, p < k (k a multiple of 4).")
	rowsPrologue(name)
	p("\tLEAQ (R9)(R8*2), R10")
	p("\tADDQ R8, R10") // row 6
	p("\tLEAQ (R10)(R8*2), R11")
	p("\tADDQ R8, R11") // row 9
	p("\tLEAQ (R11)(R8*2), R12")
	p("\tADDQ R8, R12") // row 12
	zeroAcc()
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_store", name)
	p("%s_loop:", name)
	for u := 0; u < unroll; u++ {
		for v := 0; v < nv; v++ {
			p("\tVMOVUPS %d(BX), %s", (u*nv*16+v*16)*4, breg(v))
		}
		for r := 0; r < mr; r++ {
			p("\tVBROADCASTSS %s, %s", rowAddr(r, u*4), bc(r))
			for v := 0; v < nv; v++ {
				p("\tVFMADD231PS %s, %s, %s", bc(r), breg(v), acc(r, v))
			}
		}
	}
	for _, r := range []string{"AX", "R9", "R10", "R11", "R12"} {
		p("\tADDQ $%d, %s", unroll*4, r)
	}
	p("\tADDQ $%d, BX", unroll*nv*16*4)
	p("\tSUBQ $%d, CX", unroll)
	p("\tJGT %s_loop", name)
	p("%s_store:", name)
	store(name, mr, nv, acc, bc(0), 64, 48)
}

// strided emits winoKernelStridedAVX512.
func strided() {
	const name = "winoKernelStridedAVX512"
	p("// func %s(k int, a *float32, as int, b *float32, bs int, c *float32, ldc int, beta float32)", name)
	p("// c[r][j] (+)= Σ_p a[p·as+r]·b[p·bs+j] for r < 14, j < 32, p < k.")
	stridedPrologue(name)
	zeroAcc()
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_store", name)
	p("%s_loop:", name)
	for v := 0; v < nv; v++ {
		p("\tVMOVUPS %d(BX), %s", v*64, breg(v))
	}
	for r := 0; r < mr; r++ {
		p("\tVBROADCASTSS %d(AX), %s", r*4, bc(r))
		for v := 0; v < nv; v++ {
			p("\tVFMADD231PS %s, %s, %s", bc(r), breg(v), acc(r, v))
		}
	}
	p("\tADDQ R8, AX")
	p("\tADDQ R9, BX")
	p("\tDECQ CX")
	p("\tJNE %s_loop", name)
	p("%s_store:", name)
	store(name, mr, nv, acc, bc(0), 64, 56)
}

// transform emits winoLin<name>AVX512 (avx2 false) or winoLin<name>AVX2 (lc *float32, k,
// r int, x *float32, xk, xb int, y *float32, yr, yb, nb int): for b < nb and q < r,
// y[b·yb+q·yr : +16] = Σ_p m[q][p]·x[b·xb+p·xk : +16], m fixed at generation; lc is the
// same matrix in winoLin's column-major 6-row form, read for the broadcast coefficients
// (k and r are the generated ones and not read). AVX2 does the 16 lanes as two halves of
// 8 and broadcasts each coefficient into Y14 where AVX-512 embeds the broadcast; both
// round the same operations, so they give the same bits.
func transform(name string, m [][]float64, avx2 bool) {
	r, k := len(m), len(m[0])
	isa, reg, zero, halves := "AVX512", "Z", "VPXORD", 1
	if avx2 {
		isa, reg, zero, halves = "AVX2", "Y", "VXORPS", 2
	}
	v := func(i int) string { return fmt.Sprintf("%s%d", reg, i) }
	fn := "winoLin" + name + isa
	p("// func %s(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)", fn)
	p("TEXT ·%s(SB), NOSPLIT, $0-80", fn)
	p("\tMOVQ lc+0(FP), BX")
	p("\tMOVQ x+24(FP), SI")
	p("\tMOVQ xk+32(FP), R8")
	p("\tSHLQ $2, R8")
	p("\tMOVQ xb+40(FP), R9")
	p("\tSHLQ $2, R9")
	p("\tMOVQ y+48(FP), DI")
	p("\tMOVQ yr+56(FP), R10")
	p("\tSHLQ $2, R10")
	p("\tMOVQ yb+64(FP), R11")
	p("\tSHLQ $2, R11")
	p("\tMOVQ nb+72(FP), R12")
	p("\t%s %s, %s, %s", zero, v(15), v(15), v(15))
	p("\tTESTQ R12, R12")
	p("\tJEQ %s_done", fn)
	p("%s_loop:", fn)
	for h := 0; h < halves; h++ {
		d := h * 32
		p("\tMOVQ SI, R13")
		for q := 0; q < k; q++ {
			p("\tVMOVUPS %d(R13), %s", d, v(q))
			if q < k-1 {
				p("\tADDQ R8, R13")
			}
		}
		for q := 0; q < r; q++ {
			dst := v(8 + q)
			first := true
			for c := 0; c < k; c++ {
				w := m[q][c]
				if w == 0 {
					continue
				}
				src := v(c)
				coef := fmt.Sprintf("%d(BX)", (c*6+q)*4)
				bcst := ".BCST " + coef
				if avx2 {
					bcst = " Y14"
					if w != 1 && w != -1 {
						p("\tVBROADCASTSS %s, Y14", coef)
					}
				}
				switch {
				case first && w == 1:
					p("\tVMOVAPS %s, %s", src, dst)
				case first && w == -1:
					p("\tVSUBPS %s, %s, %s", src, v(15), dst)
				case first:
					p("\tVMULPS%s, %s, %s", bcst, src, dst)
				case w == 1:
					p("\tVADDPS %s, %s, %s", src, dst, dst)
				case w == -1:
					p("\tVSUBPS %s, %s, %s", src, dst, dst)
				default:
					p("\tVFMADD231PS%s, %s, %s", bcst, src, dst)
				}
				first = false
			}
			if first {
				p("\t%s %s, %s, %s", zero, dst, dst, dst)
			}
		}
		p("\tMOVQ DI, R13")
		for q := 0; q < r; q++ {
			p("\tVMOVUPS %s, %d(R13)", v(8+q), d)
			if q < r-1 {
				p("\tADDQ R10, R13")
			}
		}
	}
	p("\tADDQ R9, SI")
	p("\tADDQ R11, DI")
	p("\tDECQ R12")
	p("\tJNE %s_loop", fn)
	p("%s_done:", fn)
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// The transform matrices of winograd.go (winoF4, winoF2): Bᵀ and Aᵀ; A is Aᵀ transposed.
var (
	bt4 = [][]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	at4 = [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	}
	bt2 = [][]float64{
		{1, 0, -1, 0},
		{0, 1, 1, 0},
		{0, -1, 1, 0},
		{0, 1, 0, -1},
	}
	at2 = [][]float64{
		{1, 1, 1, 0},
		{0, 1, -1, -1},
	}
	g4 = [][]float64{ // only which entries are 0 and ±1 matters here
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}
	g2 = [][]float64{
		{1, 0, 0},
		{0.5, 0.5, 0.5},
		{0.5, -0.5, 0.5},
		{0, 0, 1},
	}
)

func transpose(m [][]float64) [][]float64 {
	t := make([][]float64, len(m[0]))
	for j := range t {
		t[j] = make([]float64, len(m))
		for i := range m {
			t[j][i] = m[i][j]
		}
	}
	return t
}

// The AVX2 kernels: the same transforms on two 8-lane halves of each 16-lane vector, and
// product kernels for an R×16 part of the 14×32 tile (R = 5 or 4; 2R accumulators, two
// B vectors and one broadcast fit in the 16 YMM registers). winograd_amd64.go runs
// six parts per tile. The strips' 8×8 transposes are transpose8AVX2, with the SGEMM
// packing in gemm_amd64_gen.go.

func accY(r, v int) string { return fmt.Sprintf("Y%d", r*2+v) }

// rowAddrAVX2 is the operand of row r < 6 of A at byte displacement d: AX = row 0,
// R9 = row 3, R8 = lda in bytes.
func rowAddrAVX2(r, d int) string {
	switch r {
	case 0:
		return fmt.Sprintf("%d(AX)", d)
	case 1, 2, 4:
		return fmt.Sprintf("%d(AX)(R8*%d)", d, r)
	case 3:
		return fmt.Sprintf("%d(R9)", d)
	default:
		return fmt.Sprintf("%d(R9)(R8*2)", d)
	}
}

func zeroAccAVX2(mr int) {
	for i := 0; i < 2*mr; i++ {
		p("\tVXORPS Y%d, Y%d, Y%d", i, i, i)
	}
}

// rowsAVX2 emits winoKernelRows<mr>AVX2: c[r][j] (+)= Σ_p a[r·lda+p]·b[p·32+j] for
// r < mr, j < 16, p < k (k a multiple of 4).
func rowsAVX2(mr int) {
	const unroll = 4
	name := fmt.Sprintf("winoKernelRows%dAVX2", mr)
	p("// func %s(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)", name)
	rowsPrologue(name)
	zeroAccAVX2(mr)
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_store", name)
	p("%s_loop:", name)
	for u := 0; u < unroll; u++ {
		for v := 0; v < 2; v++ {
			p("\tVMOVUPS %d(BX), Y%d", (u*32+v*8)*4, 12+v)
		}
		for r := 0; r < mr; r++ {
			p("\tVBROADCASTSS %s, Y14", rowAddrAVX2(r, u*4))
			for v := 0; v < 2; v++ {
				p("\tVFMADD231PS Y14, Y%d, %s", 12+v, accY(r, v))
			}
		}
	}
	p("\tADDQ $%d, AX", unroll*4)
	p("\tADDQ $%d, R9", unroll*4)
	p("\tADDQ $%d, BX", unroll*32*4)
	p("\tSUBQ $%d, CX", unroll)
	p("\tJGT %s_loop", name)
	p("%s_store:", name)
	store(name, mr, 2, accY, "Y15", 32, 48)
}

// stridedAVX2 emits winoKernelStrided<mr>AVX2: c[r][j] (+)= Σ_p a[p·as+r]·b[p·bs+j] for
// r < mr, j < 16, p < k.
func stridedAVX2(mr int) {
	name := fmt.Sprintf("winoKernelStrided%dAVX2", mr)
	p("// func %s(k int, a *float32, as int, b *float32, bs int, c *float32, ldc int, beta float32)", name)
	stridedPrologue(name)
	zeroAccAVX2(mr)
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_store", name)
	p("%s_loop:", name)
	for v := 0; v < 2; v++ {
		p("\tVMOVUPS %d(BX), Y%d", v*32, 12+v)
	}
	for r := 0; r < mr; r++ {
		p("\tVBROADCASTSS %d(AX), Y14", r*4)
		for v := 0; v < 2; v++ {
			p("\tVFMADD231PS Y14, Y%d, %s", 12+v, accY(r, v))
		}
	}
	p("\tADDQ R8, AX")
	p("\tADDQ R9, BX")
	p("\tDECQ CX")
	p("\tJNE %s_loop", name)
	p("%s_store:", name)
	store(name, mr, 2, accY, "Y15", 32, 56)
}

func main() {
	p("// Code generated by winograd_amd64_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego && !openblas")
	p("")
	p("#include \"textflag.h\"")
	p("")
	mats := []struct {
		name string
		m    [][]float64
	}{{"Bt4", bt4}, {"At4", at4}, {"Aa4", transpose(at4)}, {"Bt2", bt2}, {"At2", at2}, {"Aa2", transpose(at2)}, {"G4", g4}, {"Gt4", transpose(g4)}, {"G2", g2}, {"Gt2", transpose(g2)}}
	for _, t := range mats {
		transform(t.name, t.m, false)
	}
	rows()
	strided()
	for _, t := range mats {
		transform(t.name, t.m, true)
	}
	for _, mr := range []int{5, 4} {
		rowsAVX2(mr)
		stridedAVX2(mr)
	}
	if err := os.WriteFile("winograd_amd64.s", out.Bytes(), 0o644); err != nil {
		panic(err)
	}
}

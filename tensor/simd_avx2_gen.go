//go:build ignore

// simd_avx2_gen.go writes simd_avx2_amd64.s, the AVX2+FMA versions of the small-model
// kernels of simd_amd64_gen.go (the 2×2 max pool, the multi-output tap sums of the wide
// convolution and the multi-tap dot products of its weight gradient): `go generate
// ./tensor` (or `go run simd_avx2_gen.go` in this directory). Each gives the bits of the
// path it replaces (Go's pool loop, one axpyAVX2 per tap, one dotAVX2 per tap).
package main

import (
	"bytes"
	"fmt"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

// pool emits maxPool2x2Row<lanes>AVX2(r0, r1 *float32, w int, y *float32, idx *int32,
// n int, base int32, lane *[11]int32): n windows (a multiple of lanes = 8 or 4) of rows r0
// and r1 = r0 + w, window ox from columns 2·ox, 2·ox+1 of both rows; y[ox] is the maximum
// in the scalar loop's order (r0 even, r0 odd, r1 even, r1 odd, strict ordered
// greater-than, so NaN never replaces) and idx[ox] its flat index base + 2·ox (+1, +w).
// lane holds 0, 2, 4, … 14, then 1 and the index steps 16 and 8. Even and odd columns are split by VSHUFPS (and VPERMPD
// across the 128-bit halves for 8 lanes).
func pool(lanes int) {
	name := fmt.Sprintf("maxPool2x2Row%dAVX2", lanes)
	r := "Y"
	if lanes == 4 {
		r = "X"
	}
	p("// func %s(r0, r1 *float32, w int, y *float32, idx *int32, n int, base int32, lane *[11]int32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	p("\tMOVQ r0+0(FP), SI")
	p("\tMOVQ r1+8(FP), DX")
	p("\tMOVQ y+24(FP), DI")
	p("\tMOVQ idx+32(FP), BX")
	p("\tMOVQ n+40(FP), CX")
	p("\tMOVQ lane+56(FP), AX")
	p("\tMOVL base+48(FP), R8")
	p("\tMOVQ R8, X8")
	p("\tVPBROADCASTD X8, %s8", r)
	p("\tVPADDD (AX), %s8, %s8", r, r)                                    // idx0 = base + 2·k
	p("\tVPBROADCASTD 32(AX), %s9", r)                                    // 1
	p("\tVPBROADCASTD w+16(FP), %s10", r)                                 // w
	p("\tVPBROADCASTD %d(AX), %s11", map[int]int{8: 36, 4: 40}[lanes], r) // index step per block
	p("%s_loop:", name)
	for i, src := range []string{"SI", "DX"} {
		p("\tVMOVUPS (%s), %s0", src, r)
		p("\tVMOVUPS %d(%s), %s1", 4*lanes, src, r)
		p("\tVSHUFPS $0x88, %s1, %s0, %s%d", r, r, r, 2+2*i)
		p("\tVSHUFPS $0xDD, %s1, %s0, %s%d", r, r, r, 3+2*i)
		if lanes == 8 {
			p("\tVPERMPD $0xD8, Y%d, Y%d", 2+2*i, 2+2*i)
			p("\tVPERMPD $0xD8, Y%d, Y%d", 3+2*i, 3+2*i)
		}
	}
	// candidates: 2 (r0 even), 3 (r0 odd), 4 (r1 even), 5 (r1 odd); best in 6, index in 7
	p("\tVMOVAPS %s2, %s6", r, r)
	p("\tVMOVDQU %s8, %s7", r, r)
	p("\tVPADDD %s9, %s8, %s12", r, r, r)  // idx1
	p("\tVPADDD %s10, %s8, %s13", r, r, r) // idx2
	p("\tVPADDD %s9, %s13, %s14", r, r, r) // idx3
	for _, ci := range [][2]int{{3, 12}, {4, 13}, {5, 14}} {
		p("\tVCMPPS $0x1e, %s6, %s%d, %s15", r, r, ci[0], r) // candidate > best, ordered
		p("\tVBLENDVPS %s15, %s%d, %s6, %s6", r, r, ci[0], r, r)
		p("\tVBLENDVPS %s15, %s%d, %s7, %s7", r, r, ci[1], r, r)
	}
	p("\tVMOVUPS %s6, (DI)", r)
	p("\tVMOVDQU %s7, (BX)", r)
	p("\tVPADDD %s11, %s8, %s8", r, r, r)
	for _, q := range []string{"SI", "DX"} {
		p("\tADDQ $%d, %s", 8*lanes, q)
	}
	p("\tADDQ $%d, DI", 4*lanes)
	p("\tADDQ $%d, BX", 4*lanes)
	p("\tSUBQ $%d, CX", lanes)
	p("\tJNE %s_loop", name)
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// poolBack emits reluPoolBackRow<lanes>AVX2(dy, y *float32, idx *int32, dx *float32, w,
// n int, base int32, lane *[11]int32), the gradient of the fused ReLU + 2×2 pool for n
// windows (a multiple of lanes = 8 or 4) of the row pair dx, dx + w: the window's
// gradient g = dy where y and dy have non-zero bits, +0 elsewhere (the scalar scatter's
// bit masks), at the arg-max (a compare of idx with each candidate's flat index
// base + 2·ox (+1, +w)) and +0 at the other three positions; the even and odd columns
// are interleaved back into the rows (VUNPCK, and VPERM2F128 across the halves for 8
// lanes).
func poolBack(lanes int) {
	name := fmt.Sprintf("reluPoolBackRow%dAVX2", lanes)
	r := "Y"
	if lanes == 4 {
		r = "X"
	}
	p("// func %s(dy, y *float32, idx *int32, dx *float32, w, n int, base int32, lane *[11]int32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-64", name)
	p("\tMOVQ dy+0(FP), SI")
	p("\tMOVQ y+8(FP), DX")
	p("\tMOVQ idx+16(FP), BX")
	p("\tMOVQ dx+24(FP), DI")
	p("\tMOVQ w+32(FP), R8")
	p("\tMOVQ n+40(FP), CX")
	p("\tMOVQ lane+56(FP), AX")
	p("\tMOVQ R8, X7")
	p("\tVPBROADCASTD X7, %s7", r) // w
	p("\tLEAQ (DI)(R8*4), R9")     // row 1
	p("\tMOVL base+48(FP), R8")
	p("\tMOVQ R8, X8")
	p("\tVPBROADCASTD X8, %s8", r)
	p("\tVPADDD (AX), %s8, %s8", r, r) // even column of row 0
	p("\tVPBROADCASTD 32(AX), %s9", r) // 1
	p("\tVPBROADCASTD %d(AX), %s11", map[int]int{8: 36, 4: 40}[lanes], r)
	p("\tVPXOR %s15, %s15, %s15", r, r, r)
	p("%s_loop:", name)
	p("\tVMOVUPS (SI), %s1", r)
	p("\tVPCMPEQD (DX), %s15, %s2", r, r) // y is all zero bits
	p("\tVPSLLD $1, %s1, %s5", r, r)
	p("\tVPCMPEQD %s5, %s15, %s5", r, r, r) // dy is ±0
	p("\tVPOR %s5, %s2, %s2", r, r, r)
	p("\tVANDNPS %s1, %s2, %s6", r, r, r) // the window's gradient
	p("\tVMOVDQU (BX), %s3", r)
	p("\tVPADDD %s9, %s8, %s10", r, r, r)                            // odd column of row 0
	p("\tVPADDD %s7, %s8, %s12", r, r, r)                            // even column of row 1
	p("\tVPADDD %s9, %s12, %s13", r, r, r)                           // odd column of row 1
	for _, c := range [][2]int{{8, 0}, {10, 2}, {12, 5}, {13, 13}} { // index, candidate
		p("\tVPCMPEQD %s%d, %s3, %s4", r, c[0], r, r)
		p("\tVPAND %s6, %s4, %s%d", r, r, r, c[1])
	}
	// row 0 from 0 (even) and 2 (odd), row 1 from 5 and 13
	for row, pair := range [][2]int{{0, 2}, {5, 13}} {
		base := []string{"DI", "R9"}[row]
		p("\tVUNPCKLPS %s%d, %s%d, %s1", r, pair[1], r, pair[0], r)
		p("\tVUNPCKHPS %s%d, %s%d, %s14", r, pair[1], r, pair[0], r)
		if lanes == 8 {
			p("\tVPERM2F128 $0x20, Y14, Y1, Y3")
			p("\tVPERM2F128 $0x31, Y14, Y1, Y14")
			p("\tVMOVUPS Y3, (%s)", base)
			p("\tVMOVUPS Y14, 32(%s)", base)
		} else {
			p("\tVMOVUPS X1, (%s)", base)
			p("\tVMOVUPS X14, 16(%s)", base)
		}
	}
	p("\tVPADDD %s11, %s8, %s8", r, r, r)
	for _, q := range []string{"SI", "DX", "BX"} {
		p("\tADDQ $%d, %s", 4*lanes, q)
	}
	for _, q := range []string{"DI", "R9"} {
		p("\tADDQ $%d, %s", 8*lanes, q)
	}
	p("\tSUBQ $%d, CX", lanes)
	p("\tJNE %s_loop", name)
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// copyRows emits copyRowsAVX2(dst, src []float32, rows, width, dstStride, srcStride int):
// dst[r·dstStride+j] = src[r·srcStride+j] for r < rows, j < width (width ≥ 8; dst and src
// do not overlap), whole vectors and then, for a partial one, the row's last 8 values
// again, instead of one memmove call per short row.
func copyRows() {
	p("// func copyRowsAVX2(dst, src []float32, rows, width, dstStride, srcStride int)")
	p("TEXT ·copyRowsAVX2(SB), NOSPLIT, $0-80")
	p("\tMOVQ dst_base+0(FP), DI")
	p("\tMOVQ src_base+24(FP), SI")
	p("\tMOVQ rows+48(FP), R8")
	p("\tMOVQ width+56(FP), R9")
	p("\tMOVQ dstStride+64(FP), R10")
	p("\tMOVQ srcStride+72(FP), R11")
	p("\tSHLQ $2, R10")
	p("\tSHLQ $2, R11")
	p("\tLEAQ -32(R9*4), R12") // byte offset of the last 8 values
	p("\tMOVQ R9, R13")
	p("\tSHRQ $3, R13") // whole vectors per row
	p("\tTESTQ R8, R8")
	p("\tJEQ cr2done")
	p("cr2row:")
	p("\tXORQ DX, DX")
	p("\tMOVQ R13, BX")
	p("cr2blk:")
	p("\tVMOVUPS (SI)(DX*1), Y0")
	p("\tVMOVUPS Y0, (DI)(DX*1)")
	p("\tADDQ $32, DX")
	p("\tDECQ BX")
	p("\tJNE cr2blk")
	p("\tVMOVUPS (SI)(R12*1), Y0")
	p("\tVMOVUPS Y0, (DI)(R12*1)")
	p("\tADDQ R10, DI")
	p("\tADDQ R11, SI")
	p("\tDECQ R8")
	p("\tJNE cr2row")
	p("cr2done:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// convTaps emits convTaps<c>AVX2(x []float32, offs []int32, w []float32, y []float32, n
// int): y[ch·n+j] += Σ_t w[t·c+ch]·x[offs[t]+j] for ch < c, j < n, the taps in order with
// one fused multiply-add each, so every element gets the bits of one axpyAVX2 per tap.
// Blocks of nv vectors of j keep the c·nv sums in registers across the taps and load
// each input vector once for all c outputs; then single vectors, then single floats.
func convTaps(c, nv int) {
	name := fmt.Sprintf("convTaps%dAVX2", c)
	p("// func %s(x []float32, offs []int32, w []float32, y []float32, n int)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-104", name)
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ offs_base+24(FP), R8")
	p("\tMOVQ offs_len+32(FP), R9")
	p("\tMOVQ w_base+48(FP), R10")
	p("\tMOVQ y_base+72(FP), DI")
	p("\tMOVQ n+96(FP), CX")
	p("\tMOVQ CX, R11")
	p("\tSHLQ $2, R11") // output stride in bytes
	p("\tLEAQ (R11)(R11*2), R12")
	yAddr := func(ch, d int) string {
		switch ch {
		case 0:
			return fmt.Sprintf("%d(DI)", d)
		case 3:
			return fmt.Sprintf("%d(DI)(R12*1)", d)
		default:
			return fmt.Sprintf("%d(DI)(R11*%d)", d, ch)
		}
	}
	block := func(label string, nv int, scalar bool) {
		reg, mov, fma, bcast, step := "Y", "VMOVUPS", "VFMADD231PS", "VBROADCASTSS", 32
		if scalar {
			reg, mov, fma, bcast, step = "X", "VMOVSS", "VFMADD231SS", "VMOVSS", 4
		}
		lanes := step / 4
		acc := func(ch, v int) string { return fmt.Sprintf("%s%d", reg, ch*nv+v) }
		xr := func(v int) string { return fmt.Sprintf("%s%d", reg, c*nv+v) }
		wr := fmt.Sprintf("%s15", reg)
		p("%s_%s:", name, label)
		p("\tCMPQ CX, $%d", nv*lanes)
		p("\tJL %s_%s_end", name, label)
		for ch := 0; ch < c; ch++ {
			for v := 0; v < nv; v++ {
				p("\t%s %s, %s", mov, yAddr(ch, v*step), acc(ch, v))
			}
		}
		p("\tXORQ DX, DX")
		p("\tMOVQ R10, R13")
		p("%s_%s_tap:", name, label)
		p("\tMOVLQSX (R8)(DX*4), AX")
		p("\tLEAQ (SI)(AX*4), BX")
		for v := 0; v < nv; v++ {
			p("\t%s %d(BX), %s", mov, v*step, xr(v))
		}
		for ch := 0; ch < c; ch++ {
			p("\t%s %d(R13), %s", bcast, 4*ch, wr)
			for v := 0; v < nv; v++ {
				p("\t%s %s, %s, %s", fma, xr(v), wr, acc(ch, v))
			}
		}
		p("\tADDQ $%d, R13", 4*c)
		p("\tINCQ DX")
		p("\tCMPQ DX, R9")
		p("\tJL %s_%s_tap", name, label)
		for ch := 0; ch < c; ch++ {
			for v := 0; v < nv; v++ {
				p("\t%s %s, %s", mov, acc(ch, v), yAddr(ch, v*step))
			}
		}
		p("\tADDQ $%d, SI", nv*step)
		p("\tADDQ $%d, DI", nv*step)
		p("\tSUBQ $%d, CX", nv*lanes)
		p("\tJMP %s_%s", name, label)
		p("%s_%s_end:", name, label)
	}
	block("wide", nv, false)
	block("vec", 1, false)
	block("one", 1, true)
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// dotTaps emits dotTaps3AVX2(x []float32, offs []int32, g []float32, out []float32): the
// three dot products out[t] = Σ_j x[offs[t]+j]·g[j], j < len(g), sharing the loads of g,
// each rounded as dotAVX2 (vec_amd64.s) rounds it: four accumulators over 32-element
// steps, 8-element steps into the first, the same reduction, then a scalar tail.
func dotTaps() {
	const name, nt = "dotTaps3AVX2", 3
	p("// func %s(x []float32, offs []int32, g []float32, out []float32)", name)
	p("TEXT ·%s(SB), NOSPLIT, $0-96", name)
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ offs_base+24(FP), R8")
	p("\tMOVQ g_base+48(FP), DI")
	p("\tMOVQ g_len+56(FP), CX")
	p("\tMOVQ out_base+72(FP), R9")
	xs := []string{"AX", "BX", "DX"}
	for t, r := range xs {
		p("\tMOVLQSX %d(R8), %s", 4*t, r)
		p("\tLEAQ (SI)(%s*4), %s", r, r)
	}
	acc := func(t, v int) string { return fmt.Sprintf("Y%d", t*4+v) }
	for t := 0; t < nt; t++ {
		for v := 0; v < 4; v++ {
			p("\tVXORPS %s, %s, %s", acc(t, v), acc(t, v), acc(t, v))
		}
	}
	p("%s_32:", name)
	p("\tCMPQ CX, $32")
	p("\tJL %s_8", name)
	for v := 0; v < 4; v++ {
		p("\tVMOVUPS %d(DI), Y%d", 32*v, 12+v)
	}
	for t, r := range xs {
		for v := 0; v < 4; v++ {
			p("\tVFMADD231PS %d(%s), Y%d, %s", 32*v, r, 12+v, acc(t, v))
		}
	}
	for _, r := range append([]string{"DI"}, xs...) {
		p("\tADDQ $128, %s", r)
	}
	p("\tSUBQ $32, CX")
	p("\tJMP %s_32", name)
	p("%s_8:", name)
	p("\tCMPQ CX, $8")
	p("\tJL %s_reduce", name)
	p("\tVMOVUPS (DI), Y12")
	for t, r := range xs {
		p("\tVFMADD231PS (%s), Y12, %s", r, acc(t, 0))
	}
	for _, r := range append([]string{"DI"}, xs...) {
		p("\tADDQ $32, %s", r)
	}
	p("\tSUBQ $8, CX")
	p("\tJMP %s_8", name)
	p("%s_reduce:", name)
	for t := 0; t < nt; t++ {
		a0, a1, a2, a3 := acc(t, 0), acc(t, 1), acc(t, 2), acc(t, 3)
		x0 := fmt.Sprintf("X%d", t*4)
		p("\tVADDPS %s, %s, %s", a1, a0, a0)
		p("\tVADDPS %s, %s, %s", a3, a2, a2)
		p("\tVADDPS %s, %s, %s", a2, a0, a0)
		p("\tVEXTRACTF128 $1, %s, X12", a0)
		p("\tVADDPS X12, %s, %s", x0, x0)
		p("\tVHADDPS %s, %s, %s", x0, x0, x0)
		p("\tVHADDPS %s, %s, %s", x0, x0, x0)
	}
	p("%s_one:", name)
	p("\tTESTQ CX, CX")
	p("\tJEQ %s_done", name)
	for t, r := range xs {
		p("\tVMOVSS (%s), X12", r)
		p("\tVFMADD231SS (DI), X12, X%d", t*4)
		p("\tADDQ $4, %s", r)
	}
	p("\tADDQ $4, DI")
	p("\tDECQ CX")
	p("\tJMP %s_one", name)
	p("%s_done:", name)
	for t := 0; t < nt; t++ {
		p("\tVMOVSS X%d, %d(R9)", t*4, 4*t)
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	p("// Code generated by simd_avx2_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego && !openblas")
	p("")
	p("#include \"textflag.h\"")
	p("")
	pool(8)
	pool(4)
	poolBack(8)
	poolBack(4)
	copyRows()
	convTaps(1, 4)
	convTaps(2, 4)
	convTaps(3, 3)
	convTaps(4, 2)
	dotTaps()
	if err := os.WriteFile("simd_avx2_amd64.s", append(bytes.TrimRight(out.Bytes(), "\n"), '\n'), 0o644); err != nil {
		panic(err)
	}
}

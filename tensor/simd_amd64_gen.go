//go:build ignore

// simd_amd64_gen.go writes simd_amd64.s, the SIMD kernels of the small-model training
// step: the fused ReLU + 2×2 max pool, the MSE sums and the multi-tap dot products of the
// wide convolution's weight gradient: `go generate ./tensor` (or `go run
// simd_amd64_gen.go` in this directory). Unrolled blocks, the candidates of the pool and
// the taps of dotTaps are emitted by loops, so their registers stay consistent.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

// reluBlock emits a[i] = max(x[i], 0) for 16 floats at byte offset off (Go's max: NaN
// stays NaN, −0 becomes +0): VMAXPS gives x > 0 ? x : +0, and the NaN lanes take x back.
// mask is "" or ", K2" (masked tail: masked-off lanes are neither loaded nor stored).
func reluBlock(off int, mask string, in, res int) {
	load := "VMOVUPS"
	if mask != "" {
		load = "VMOVUPS.Z"
	}
	p("\t%s %d(SI)%s, Z%d", load, off, mask, in)
	p("\tVMAXPS Z0, Z%d, Z%d", in, res)
	p("\tVCMPPS $3, Z%d, Z%d, K1", in, in) // unordered: x is NaN
	p("\tVMOVAPS Z%d, K1, Z%d", in, res)
	p("\tVMOVUPS Z%d%s, %d(DI)", res, mask, off)
}

func relu() {
	p("// func reluAVX512(x, a []float32)")
	p("// a[i] = max(x[i], 0) for i < len(a) (len(x) ≥ len(a)), with Go's max semantics.")
	p("TEXT ·reluAVX512(SB), NOSPLIT, $0-48")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ a_base+24(FP), DI")
	p("\tMOVQ a_len+32(FP), CX")
	p("\tVPXORD Z0, Z0, Z0")
	p("")
	p("relu64:")
	p("\tCMPQ CX, $64")
	p("\tJL   relu16")
	for b := 0; b < 4; b++ {
		reluBlock(64*b, "", 1+b, 5+b)
	}
	p("\tADDQ $256, SI")
	p("\tADDQ $256, DI")
	p("\tSUBQ $64, CX")
	p("\tJMP  relu64")
	p("")
	p("relu16:")
	p("\tCMPQ CX, $16")
	p("\tJL   relutail")
	reluBlock(0, "", 1, 5)
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP  relu16")
	p("")
	p("relutail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    reludone")
	p("\tMOVL  $1, AX")
	p("\tSHLL  CX, AX")
	p("\tDECL  AX")
	p("\tKMOVW AX, K2")
	reluBlock(0, ", K2", 1, 5)
	p("")
	p("reludone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// pool emits maxPool2x2PlaneAVX512. Per pair of rows, 16 windows at a time: the two rows'
// 32 values are split into even and odd columns (VPERMI2PS), and the window maximum runs
// through the candidates in row-major order with a strict greater-than (ordered, so NaN
// never replaces), as the scalar loop does; the flat arg-max follows in the same lanes.
func pool() {
	p("// func maxPool2x2PlaneAVX512(a, y []float32, idx []int32, h, w int)")
	p("// 2×2, stride-2 max pooling of one h×w plane a into y and idx (h/2 × w/2, the first")
	p("// arg-max in row-major window order, as a flat index into the plane).")
	p("TEXT ·maxPool2x2PlaneAVX512(SB), NOSPLIT, $0-88")
	p("\tMOVQ a_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), DI")
	p("\tMOVQ idx_base+48(FP), R8")
	p("\tMOVQ h+72(FP), R9")
	p("\tMOVQ w+80(FP), R10")
	p("\tSHRQ $1, R9") // ho
	p("\tMOVQ R10, R11")
	p("\tSHRQ $1, R11") // wo
	p("\tVMOVDQU32 poolEven<>(SB), Z20")
	p("\tVMOVDQU32 poolOdd<>(SB), Z21")
	p("\tMOVL $1, AX")
	p("\tVPBROADCASTD AX, Z24")
	p("\tVPBROADCASTD R10, Z23")
	p("\tXORQ R12, R12") // oy
	p("\tXORQ R13, R13") // base = 2·oy·w
	p("")
	p("poolrow:")
	p("\tCMPQ R12, R9")
	p("\tJGE  pooldone")
	p("\tLEAQ (SI)(R13*4), AX") // row 2·oy
	p("\tLEAQ (AX)(R10*4), BX") // row 2·oy+1
	p("\tXORQ R15, R15")        // ox0
	p("")
	p("poolcol:")
	p("\tMOVQ R11, DX")
	p("\tSUBQ R15, DX") // windows left
	p("\tJLE  poolrowdone")
	p("\tCMPQ DX, $16")
	p("\tJL   poolpart")
	p("\tMOVL $0xffff, R14")
	p("\tKMOVW R14, K1")
	p("\tKMOVW R14, K2")
	p("\tKMOVW R14, K3")
	p("\tJMP  poolbody")
	p("")
	p("poolpart:") // 1–15 windows: 2·DX values per row
	p("\tMOVQ DX, CX")
	p("\tMOVL $1, R14")
	p("\tSHLL CX, R14")
	p("\tDECL R14")
	p("\tKMOVW R14, K3")
	p("\tLEAQ (DX)(DX*1), CX")
	p("\tCMPQ CX, $16")
	p("\tJL   poolsmall")
	p("\tSUBQ $16, CX")
	p("\tMOVL $1, R14")
	p("\tSHLL CX, R14")
	p("\tDECL R14")
	p("\tKMOVW R14, K2")
	p("\tMOVL $0xffff, R14")
	p("\tKMOVW R14, K1")
	p("\tJMP  poolbody")
	p("")
	p("poolsmall:")
	p("\tMOVL $1, R14")
	p("\tSHLL CX, R14")
	p("\tDECL R14")
	p("\tKMOVW R14, K1")
	p("\tKXORW K2, K2, K2")
	p("")
	p("poolbody:")
	p("\tVMOVUPS.Z (AX)(R15*8), K1, Z1")
	p("\tVMOVUPS.Z 64(AX)(R15*8), K2, Z2")
	p("\tVMOVUPS.Z (BX)(R15*8), K1, Z3")
	p("\tVMOVUPS.Z 64(BX)(R15*8), K2, Z4")
	// Candidates in window order: even and odd columns of row 0, then of row 1.
	type cand struct{ dst, lo, hi, perm int }
	cands := []cand{{5, 1, 2, 20}, {6, 1, 2, 21}, {7, 3, 4, 20}, {8, 3, 4, 21}}
	for _, c := range cands {
		p("\tVMOVDQA32 Z%d, Z%d", c.perm, c.dst)
		p("\tVPERMI2PS Z%d, Z%d, Z%d", c.hi, c.lo, c.dst)
	}
	// Flat indices of the candidates: base + 2·ox0 + 2·lane (+1, +w, +w+1).
	p("\tLEAQ (R13)(R15*2), R14")
	p("\tVPBROADCASTD R14, Z9")
	p("\tVPADDD Z20, Z9, Z9")  // even column of row 0
	p("\tVPADDD Z24, Z9, Z10") // odd column of row 0
	p("\tVPADDD Z23, Z9, Z12") // even column of row 1
	p("\tVPADDD Z24, Z12, Z13")
	p("\tVMOVDQA32 Z9, Z11") // arg-max so far
	for i, c := range cands[1:] {
		ix := []int{10, 12, 13}[i]
		p("\tVCMPPS $0x1e, Z5, Z%d, K4", c.dst) // candidate > best (ordered)
		p("\tVMOVAPS Z%d, K4, Z5", c.dst)
		p("\tVMOVDQA32 Z%d, K4, Z11", ix)
	}
	p("\tVMOVUPS Z5, K3, (DI)(R15*4)")
	p("\tVMOVDQU32 Z11, K3, (R8)(R15*4)")
	p("\tADDQ $16, R15")
	p("\tJMP  poolcol")
	p("")
	p("poolrowdone:")
	p("\tLEAQ (DI)(R11*4), DI")
	p("\tLEAQ (R8)(R11*4), R8")
	p("\tLEAQ (R13)(R10*2), R13")
	p("\tINCQ R12")
	p("\tJMP  poolrow")
	p("")
	p("pooldone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	for _, d := range []struct {
		name  string
		first int
	}{{"poolEven", 0}, {"poolOdd", 1}} {
		for l := 0; l < 16; l++ {
			p("DATA %s<>+%d(SB)/4, $%d", d.name, 4*l, d.first+2*l)
		}
		p("GLOBL %s<>(SB), RODATA|NOPTR, $64", d.name)
		p("")
	}
}

// poolBack emits reluPoolBackPlaneAVX512, the gradient of the fused ReLU + 2×2 pool on
// one plane, 16 windows at a time: the window's gradient g = dy where y (the pooled
// ReLU output) and dy have non-zero bits, +0 elsewhere, is written at the arg-max and +0
// at the other three positions (compares of idx with each candidate's flat index), and
// the even and odd columns are interleaved back into the two rows (VPERMI2PS).
func poolBack() {
	p("// func reluPoolBackPlaneAVX512(dy, y []float32, idx []int32, dx []float32, h, w int)")
	p("// dx[idx[o]] = dy[o] where y[o] and dy[o] are not ±0 (y is never −0), +0 at every")
	p("// other position of the h/2 × w/2 windows; the last row and column of an odd h or w")
	p("// are not written.")
	p("TEXT ·reluPoolBackPlaneAVX512(SB), NOSPLIT, $0-112")
	p("\tMOVQ dy_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), R14")
	p("\tMOVQ idx_base+48(FP), R8")
	p("\tMOVQ dx_base+72(FP), DI")
	p("\tMOVQ h+96(FP), R9")
	p("\tMOVQ w+104(FP), R10")
	p("\tSHRQ $1, R9")
	p("\tMOVQ R10, R11")
	p("\tSHRQ $1, R11")
	p("\tVMOVDQU32 poolEven<>(SB), Z20")
	p("\tVMOVDQU32 poolLo<>(SB), Z21")
	p("\tVMOVDQU32 poolHi<>(SB), Z22")
	p("\tMOVL $1, AX")
	p("\tVPBROADCASTD AX, Z24")
	p("\tVPBROADCASTD R10, Z23")
	p("\tXORQ R12, R12") // oy
	p("\tXORQ R13, R13") // base = 2·oy·w
	p("")
	p("pbrow:")
	p("\tCMPQ R12, R9")
	p("\tJGE  pbdone")
	p("\tXORQ R15, R15")
	p("")
	p("pbcol:")
	p("\tMOVQ R11, DX")
	p("\tSUBQ R15, DX")
	p("\tJLE  pbrowdone")
	p("\tCMPQ DX, $16")
	p("\tJL   pbpart")
	p("\tMOVL $0xffff, CX")
	p("\tKMOVW CX, K1")
	p("\tKMOVW CX, K2")
	p("\tKMOVW CX, K3")
	p("\tJMP  pbbody")
	p("")
	p("pbpart:")
	p("\tMOVQ DX, CX")
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K3")
	p("\tLEAQ (DX)(DX*1), CX")
	p("\tCMPQ CX, $16")
	p("\tJL   pbsmall")
	p("\tSUBQ $16, CX")
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K2")
	p("\tMOVL $0xffff, AX")
	p("\tKMOVW AX, K1")
	p("\tJMP  pbbody")
	p("")
	p("pbsmall:")
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K1")
	p("\tKXORW K2, K2, K2")
	p("")
	p("pbbody:")
	p("\tLEAQ (DI)(R13*4), AX")            // row 2·oy of dx
	p("\tLEAQ (AX)(R10*4), BX")            // row 2·oy+1
	p("\tVMOVUPS.Z (SI)(R15*4), K3, Z1")   // dy
	p("\tVMOVUPS.Z (R14)(R15*4), K3, Z2")  // y
	p("\tVMOVDQU32.Z (R8)(R15*4), K3, Z3") // idx
	p("\tVPTESTMD Z2, Z2, K4")             // y has non-zero bits
	p("\tVPSLLD $1, Z1, Z5")
	p("\tVPTESTMD Z5, Z5, K5") // dy is not ±0
	p("\tKANDW K4, K5, K5")
	p("\tVMOVAPS.Z Z1, K5, Z6") // the window's gradient
	p("\tLEAQ (R13)(R15*2), CX")
	p("\tVPBROADCASTD CX, Z9")
	p("\tVPADDD Z20, Z9, Z9")   // even column of row 0
	p("\tVPADDD Z24, Z9, Z10")  // odd column of row 0
	p("\tVPADDD Z23, Z9, Z12")  // even column of row 1
	p("\tVPADDD Z24, Z12, Z13") // odd column of row 1
	for i, r := range []int{9, 10, 12, 13} {
		p("\tVPCMPEQD Z%d, Z3, K6", r)
		p("\tVMOVAPS.Z Z6, K6, Z%d", 14+i)
	}
	// Row 0 from Z14 (even) and Z15 (odd), row 1 from Z16 and Z17.
	for row, pair := range [][2]int{{14, 15}, {16, 17}} {
		base := []string{"AX", "BX"}[row]
		p("\tVMOVDQA32 Z21, Z25")
		p("\tVPERMI2PS Z%d, Z%d, Z25", pair[1], pair[0])
		p("\tVMOVDQA32 Z22, Z26")
		p("\tVPERMI2PS Z%d, Z%d, Z26", pair[1], pair[0])
		p("\tVMOVUPS Z25, K1, (%s)(R15*8)", base)
		p("\tVMOVUPS Z26, K2, 64(%s)(R15*8)", base)
	}
	p("\tADDQ $16, R15")
	p("\tJMP  pbcol")
	p("")
	p("pbrowdone:")
	p("\tLEAQ (SI)(R11*4), SI")
	p("\tLEAQ (R14)(R11*4), R14")
	p("\tLEAQ (R8)(R11*4), R8")
	p("\tLEAQ (R13)(R10*2), R13")
	p("\tINCQ R12")
	p("\tJMP  pbrow")
	p("")
	p("pbdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	// Interleave tables: lanes 2l and 2l+1 of a row take lane l of the even and of the
	// odd candidates (index 16+l selects the second table).
	for _, d := range []struct {
		name  string
		first int
	}{{"poolLo", 0}, {"poolHi", 8}} {
		for i := 0; i < 16; i++ {
			v := d.first + i/2
			if i%2 == 1 {
				v += 16
			}
			p("DATA %s<>+%d(SB)/4, $%d", d.name, 4*i, v)
		}
		p("GLOBL %s<>(SB), RODATA|NOPTR, $64", d.name)
		p("")
	}
}

// sumSqDiff emits sumSqDiff8AVX2 (store: sumSqDiffStore8AVX2, which also writes the
// differences): the eight interleaved partial sums of squared differences of the scalar
// loop, one per lane of a Y register, with the subtraction, square and addition rounded
// separately in the same order.
func sumSqDiff(store bool) {
	name, args, frame := "sumSqDiff8AVX2", "x, y []float32, acc *[8]float32", 56
	if store {
		name, args, frame = "sumSqDiffStore8AVX2", "x, y, d []float32, acc *[8]float32", 80
	}
	p("// func %s(%s)", name, args)
	p("// acc[k] += (x[i] − y[i])² for i ≡ k (mod 8), i < len(x) &^ 7, in order of i.")
	if store {
		p("// d[i] = x[i] − y[i] for the same i.")
	}
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, frame)
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ x_len+8(FP), CX")
	p("\tMOVQ y_base+24(FP), DI")
	if store {
		p("\tMOVQ d_base+48(FP), DX")
		p("\tMOVQ acc+72(FP), AX")
	} else {
		p("\tMOVQ acc+48(FP), AX")
	}
	p("\tVMOVUPS (AX), Y0")
	p("")
	p("ssd8:")
	p("\tCMPQ CX, $8")
	p("\tJL   ssddone")
	p("\tVMOVUPS (SI), Y1")
	p("\tVSUBPS (DI), Y1, Y1")
	if store {
		p("\tVMOVUPS Y1, (DX)")
		p("\tADDQ $32, DX")
	}
	p("\tVMULPS Y1, Y1, Y1")
	p("\tVADDPS Y1, Y0, Y0")
	p("\tADDQ $32, SI")
	p("\tADDQ $32, DI")
	p("\tSUBQ $8, CX")
	p("\tJMP  ssd8")
	p("")
	p("ssddone:")
	p("\tVMOVUPS Y0, (AX)")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// copyRows emits copyRowsAVX512: short strided rows (the compact and the wide layouts of
// the direct convolution) copied with full and masked Z moves instead of one memmove call
// per row.
func copyRows() {
	p("// func copyRowsAVX512(dst, src []float32, rows, width, dstStride, srcStride int)")
	p("// dst[r·dstStride+j] = src[r·srcStride+j] for r < rows, j < width. The caller checks")
	p("// the bounds.")
	p("TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-80")
	p("\tMOVQ dst_base+0(FP), DI")
	p("\tMOVQ src_base+24(FP), SI")
	p("\tMOVQ rows+48(FP), R8")
	p("\tMOVQ width+56(FP), R9")
	p("\tMOVQ dstStride+64(FP), R10")
	p("\tMOVQ srcStride+72(FP), R11")
	p("\tSHLQ $2, R10")
	p("\tSHLQ $2, R11")
	p("\tMOVQ R9, CX")
	p("\tANDQ $15, CX") // width mod 16: the masked tail of every row
	p("\tMOVL $1, AX")
	p("\tSHLL CX, AX")
	p("\tDECL AX")
	p("\tKMOVW AX, K1")
	p("\tMOVQ R9, R12")
	p("\tSHRQ $4, R12") // full blocks per row
	p("")
	p("crrow:")
	p("\tTESTQ R8, R8")
	p("\tJZ    crdone")
	p("\tXORQ DX, DX")
	p("\tMOVQ R12, BX")
	p("crblk:")
	p("\tTESTQ BX, BX")
	p("\tJZ    crtail")
	p("\tVMOVUPS (SI)(DX*1), Z0")
	p("\tVMOVUPS Z0, (DI)(DX*1)")
	p("\tADDQ $64, DX")
	p("\tDECQ BX")
	p("\tJMP  crblk")
	p("crtail:")
	p("\tVMOVUPS.Z (SI)(DX*1), K1, Z0")
	p("\tVMOVUPS Z0, K1, (DI)(DX*1)")
	p("\tADDQ R10, DI")
	p("\tADDQ R11, SI")
	p("\tDECQ R8")
	p("\tJMP  crrow")
	p("")
	p("crdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// scale emits scaleAVX512: y = k·y, one rounding per product, as in Go.
func scale() {
	p("// func scaleAVX512(k float32, y []float32)")
	p("// y[i] = k·y[i] for i < len(y).")
	p("TEXT ·scaleAVX512(SB), NOSPLIT, $0-32")
	p("\tVBROADCASTSS k+0(FP), Z0")
	p("\tMOVQ y_base+8(FP), DX")
	p("\tMOVQ y_len+16(FP), CX")
	p("")
	p("sc16:")
	p("\tCMPQ CX, $16")
	p("\tJL   sctail")
	p("\tVMULPS (DX), Z0, Z1")
	p("\tVMOVUPS Z1, (DX)")
	p("\tADDQ $64, DX")
	p("\tSUBQ $16, CX")
	p("\tJMP  sc16")
	p("")
	p("sctail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    scdone")
	p("\tMOVL  $1, AX")
	p("\tSHLL  CX, AX")
	p("\tDECL  AX")
	p("\tKMOVW AX, K1")
	p("\tVMOVUPS.Z (DX), K1, Z1")
	p("\tVMULPS Z1, Z0, Z1")
	p("\tVMOVUPS Z1, K1, (DX)")
	p("")
	p("scdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// scaledDiff emits scaledDiffAVX512: d = k·(x − y), rounded after the subtraction and
// after the product, as in Go.
func scaledDiff() {
	p("// func scaledDiffAVX512(k float32, x, y, d []float32)")
	p("// d[i] = k·(x[i] − y[i]) for i < len(d) (x and y at least as long).")
	p("TEXT ·scaledDiffAVX512(SB), NOSPLIT, $0-80")
	p("\tVBROADCASTSS k+0(FP), Z0")
	p("\tMOVQ x_base+8(FP), SI")
	p("\tMOVQ y_base+32(FP), DI")
	p("\tMOVQ d_base+56(FP), DX")
	p("\tMOVQ d_len+64(FP), CX")
	p("")
	p("sd16:")
	p("\tCMPQ CX, $16")
	p("\tJL   sdtail")
	p("\tVMOVUPS (SI), Z1")
	p("\tVSUBPS (DI), Z1, Z1")
	p("\tVMULPS Z1, Z0, Z1")
	p("\tVMOVUPS Z1, (DX)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tADDQ $64, DX")
	p("\tSUBQ $16, CX")
	p("\tJMP  sd16")
	p("")
	p("sdtail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    sddone")
	p("\tMOVL  $1, AX")
	p("\tSHLL  CX, AX")
	p("\tDECL  AX")
	p("\tKMOVW AX, K1")
	p("\tVMOVUPS.Z (SI), K1, Z1")
	p("\tVMOVUPS.Z (DI), K1, Z2")
	p("\tVSUBPS Z2, Z1, Z1")
	p("\tVMULPS Z1, Z0, Z1")
	p("\tVMOVUPS Z1, K1, (DX)")
	p("")
	p("sddone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// dotTapsGroup is the number of taps dotTapsAVX512 handles at once: two Z accumulators
// each, two registers for g, the rest scratch.
const dotTapsGroup = 13

// dotTaps emits dotTapsAVX512, which computes n = dotTapsGroup dot products
// out[t] = Σ_j x[offs[t]+j]·g[j], j < len(g), sharing the loads of g, each rounded
// exactly as dotAVX2 (vec_amd64.s) rounds it: dotAVX2's four Y accumulators of a
// 32-element step are the halves of two Z registers (lanes 0–15 and 16–31), its 8-element
// steps go to the low half of the first with a mask, and the reduction and the scalar
// tail repeat its instructions (VADDPS, VEXTRACTF128 + VADDPS, two VHADDPS, VFMADD231SS).
func dotTaps(n int) {
	if 2*n+2 > 28 {
		panic("too many taps")
	}
	acc := func(t, h int) int { return 2*t + h }
	p("// func dotTapsAVX512(x []float32, offs []int32, g []float32, out []float32)")
	p("// out[t] = Σ_j x[offs[t]+j]·g[j] over j < len(g) for the first %d taps, with the", n)
	p("// summation order and roundings of dotAVX2. The caller checks the bounds.")
	p("TEXT ·dotTapsAVX512(SB), NOSPLIT, $0-96")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ offs_base+24(FP), R9")
	p("\tMOVQ g_base+48(FP), DI")
	p("\tMOVQ g_len+56(FP), CX")
	p("\tMOVQ out_base+72(FP), R10")
	for t := 0; t < n; t++ {
		p("\tVPXORD Z%d, Z%d, Z%d", acc(t, 0), acc(t, 0), acc(t, 0))
		p("\tVPXORD Z%d, Z%d, Z%d", acc(t, 1), acc(t, 1), acc(t, 1))
	}
	g0, g1 := 2*n, 2*n+1
	p("")
	p("dt32:")
	p("\tCMPQ CX, $32")
	p("\tJL   dt8pre")
	p("\tVMOVUPS (DI), Z%d", g0)
	p("\tVMOVUPS 64(DI), Z%d", g1)
	for t := 0; t < n; t++ {
		p("\tMOVLQSX %d(R9), AX", 4*t)
		p("\tVFMADD231PS (SI)(AX*4), Z%d, Z%d", g0, acc(t, 0))
		p("\tVFMADD231PS 64(SI)(AX*4), Z%d, Z%d", g1, acc(t, 1))
	}
	p("\tADDQ $128, SI")
	p("\tADDQ $128, DI")
	p("\tSUBQ $32, CX")
	p("\tJMP  dt32")
	p("")
	p("dt8pre:")
	p("\tMOVL $0xff, AX")
	p("\tKMOVW AX, K1")
	p("")
	p("dt8:")
	p("\tCMPQ CX, $8")
	p("\tJL   dtreduce")
	p("\tVMOVUPS.Z (DI), K1, Z%d", g0)
	for t := 0; t < n; t++ {
		p("\tMOVLQSX %d(R9), AX", 4*t)
		p("\tVFMADD231PS (SI)(AX*4), Z%d, K1, Z%d", g0, acc(t, 0))
	}
	p("\tADDQ $32, SI")
	p("\tADDQ $32, DI")
	p("\tSUBQ $8, CX")
	p("\tJMP  dt8")
	p("")
	p("dtreduce:")
	// Per tap: Y0+Y1, Y2+Y3, their sum, 128-bit halves, two horizontal adds, then the
	// scalar tail. VHADDPS has no EVEX form (registers below 16 only): the sum moves to X0
	// and the tail loads go to X1, tap 0's registers, free once tap 0 is reduced (for tap
	// 0 itself they are dead by then).
	for t := 0; t < n; t++ {
		a, b := acc(t, 0), acc(t, 1)
		p("\tVEXTRACTF32X8 $1, Z%d, Y28", a)
		p("\tVADDPS Y28, Y%d, Y%d", a, a) // Y0 + Y1
		p("\tVEXTRACTF32X8 $1, Z%d, Y29", b)
		p("\tVADDPS Y29, Y%d, Y%d", b, b) // Y2 + Y3
		p("\tVADDPS Y%d, Y%d, Y%d", b, a, a)
		p("\tVEXTRACTF32X4 $1, Y%d, X28", a)
		p("\tVADDPS X28, X%d, X28", a)
		p("\tVMOVAPS X28, X0")
		p("\tVHADDPS X0, X0, X0")
		p("\tVHADDPS X0, X0, X0")
		p("\tMOVLQSX %d(R9), AX", 4*t)
		p("\tLEAQ (SI)(AX*4), BX")
		p("\tXORQ DX, DX")
		p("dttail%d:", t)
		p("\tCMPQ DX, CX")
		p("\tJGE  dtstore%d", t)
		p("\tVMOVSS (BX)(DX*4), X1")
		p("\tVFMADD231SS (DI)(DX*4), X1, X0")
		p("\tINCQ DX")
		p("\tJMP  dttail%d", t)
		p("dtstore%d:", t)
		p("\tVMOVSS X0, %d(R10)", 4*t)
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// convTapsMulti emits convTaps<c>AVX512: convTapsAVX512 (convtaps_amd64.s) for c outputs
// at once that read the same input at the same offsets with their own weights (the output
// channels of a forward convolution, or the input channels of its input gradient), so
// each input vector is loaded once for all c. Every output still gets one fused
// multiply-add per tap in tap order: the same bits as c convTapsAVX512 calls.
func convTapsMulti(c int) {
	name := fmt.Sprintf("convTaps%dAVX512", c)
	yAddr := func(off, ch int) string { // output ch at byte offset off of the block
		switch ch {
		case 0:
			return fmt.Sprintf("%d(DI)", off)
		case 1:
			return fmt.Sprintf("%d(DI)(R12*1)", off)
		case 2:
			return fmt.Sprintf("%d(DI)(R12*2)", off)
		}
		return fmt.Sprintf("%d(DI)(R13*1)", off)
	}
	p("// func %s(x []float32, offs []int32, w []float32, y []float32, n int)", name)
	p("// y[ch·n+j] += Σ_t w[t·%d+ch]·x[offs[t]+j] for ch < %d, j < n, taps in order, one fused", c, c)
	p("// multiply-add each (the weights interleaved by tap). The caller checks the bounds.")
	p("TEXT ·%s(SB), NOSPLIT, $0-104", name)
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ offs_base+24(FP), R9")
	p("\tMOVQ offs_len+32(FP), R11")
	p("\tMOVQ w_base+48(FP), R10")
	p("\tMOVQ y_base+72(FP), DI")
	p("\tMOVQ n+96(FP), CX")
	p("\tMOVQ CX, R12")
	p("\tSHLQ $2, R12")           // output stride in bytes
	p("\tLEAQ (R12)(R12*2), R13") // three strides
	for _, blk := range []struct {
		label, next string
		vecs        int
		mask        string
	}{{"m64", "m16", 4, ""}, {"m16", "mtail", 1, ""}, {"mtail", "mdone", 1, ", K1"}} {
		p("")
		p("%s:", blk.label)
		if blk.mask == "" {
			p("\tCMPQ CX, $%d", 16*blk.vecs)
			p("\tJL   %s", blk.next)
		} else {
			p("\tTESTQ CX, CX")
			p("\tJZ    %s", blk.next)
			p("\tMOVL  $1, AX")
			p("\tSHLL  CX, AX")
			p("\tDECL  AX")
			p("\tKMOVW AX, K1")
		}
		load := "VMOVUPS"
		if blk.mask != "" {
			load = "VMOVUPS.Z"
		}
		acc := func(ch, b int) int { return ch*blk.vecs + b }
		for ch := 0; ch < c; ch++ {
			for b := 0; b < blk.vecs; b++ {
				p("\t%s %s%s, Z%d", load, yAddr(64*b, ch), blk.mask, acc(ch, b))
			}
		}
		p("\tMOVQ R9, R8")
		p("\tMOVQ R10, DX")
		p("\tMOVQ R11, BX")
		p("%staps:", blk.label)
		p("\tTESTQ BX, BX")
		p("\tJZ    %sstore", blk.label)
		p("\tMOVLQSX (R8), AX")
		for b := 0; b < blk.vecs; b++ {
			p("\t%s %d(SI)(AX*4)%s, Z%d", load, 64*b, blk.mask, 20+b)
		}
		for ch := 0; ch < c; ch++ {
			p("\tVBROADCASTSS %d(DX), Z%d", 4*ch, 16+ch)
		}
		for ch := 0; ch < c; ch++ {
			for b := 0; b < blk.vecs; b++ {
				p("\tVFMADD231PS Z%d, Z%d, Z%d", 20+b, 16+ch, acc(ch, b))
			}
		}
		p("\tADDQ $4, R8")
		p("\tADDQ $%d, DX", 4*c)
		p("\tDECQ BX")
		p("\tJMP  %staps", blk.label)
		p("%sstore:", blk.label)
		for ch := 0; ch < c; ch++ {
			for b := 0; b < blk.vecs; b++ {
				p("\tVMOVUPS Z%d%s, %s", acc(ch, b), blk.mask, yAddr(64*b, ch))
			}
		}
		if blk.mask == "" {
			p("\tADDQ $%d, SI", 64*blk.vecs)
			p("\tADDQ $%d, DI", 64*blk.vecs)
			p("\tSUBQ $%d, CX", 16*blk.vecs)
			p("\tJMP  %s", blk.label)
		}
	}
	p("")
	p("mdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// maskTail emits the mask of the last CX < 16 elements into K1 (CX ≠ 0).
func maskTail() {
	p("\tMOVL  $1, AX")
	p("\tSHLL  CX, AX")
	p("\tDECL  AX")
	p("\tKMOVW AX, K1")
}

// reluMask emits reluMaskAVX512: dx = dy where the bits of y are not all zero, 0 elsewhere
// (the scalar bit mask of nn's ReLU backward, lane by lane).
func reluMask() {
	p("// func reluMaskAVX512(dx, dy, y []float32)")
	p("// dx[i] = y[i] has a bit set ? dy[i] : 0 for i < len(dx) (dy and y at least as long).")
	p("TEXT ·reluMaskAVX512(SB), NOSPLIT, $0-72")
	p("\tMOVQ dx_base+0(FP), DI")
	p("\tMOVQ dx_len+8(FP), CX")
	p("\tMOVQ dy_base+24(FP), SI")
	p("\tMOVQ y_base+48(FP), DX")
	p("")
	p("rm16:")
	p("\tCMPQ CX, $16")
	p("\tJL   rmtail")
	p("\tVMOVDQU32 (DX), Z1")
	p("\tVPTESTMD Z1, Z1, K2")
	p("\tVMOVUPS.Z (SI), K2, Z2")
	p("\tVMOVUPS Z2, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tADDQ $64, DX")
	p("\tSUBQ $16, CX")
	p("\tJMP  rm16")
	p("")
	p("rmtail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    rmdone")
	maskTail()
	p("\tVMOVDQU32.Z (DX), K1, Z1")
	p("\tVPTESTMD Z1, Z1, K1, K2")
	p("\tVMOVUPS.Z (SI), K2, Z2")
	p("\tVMOVUPS Z2, K1, (DI)")
	p("")
	p("rmdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// affine emits affineAVX512: y = (x − m)·s + b, rounded after each operation as in Go.
func affine() {
	p("// func affineAVX512(x, y []float32, m, s, b float32)")
	p("// y[i] = (x[i] − m)·s + b for i < len(y) (x at least as long).")
	p("TEXT ·affineAVX512(SB), NOSPLIT, $0-60")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), DI")
	p("\tMOVQ y_len+32(FP), CX")
	p("\tVBROADCASTSS m+48(FP), Z0")
	p("\tVBROADCASTSS s+52(FP), Z1")
	p("\tVBROADCASTSS b+56(FP), Z2")
	p("")
	p("af16:")
	p("\tCMPQ CX, $16")
	p("\tJL   aftail")
	p("\tVMOVUPS (SI), Z3")
	p("\tVSUBPS Z0, Z3, Z3")
	p("\tVMULPS Z1, Z3, Z3")
	p("\tVADDPS Z2, Z3, Z3")
	p("\tVMOVUPS Z3, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP  af16")
	p("")
	p("aftail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    afdone")
	maskTail()
	p("\tVMOVUPS.Z (SI), K1, Z3")
	p("\tVSUBPS Z0, Z3, Z3")
	p("\tVMULPS Z1, Z3, Z3")
	p("\tVADDPS Z2, Z3, Z3")
	p("\tVMOVUPS Z3, K1, (DI)")
	p("")
	p("afdone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// affine2 emits affine2AVX512: d = (k·g + c·(x − m)) + c0, rounded after each operation
// as in Go.
func affine2() {
	p("// func affine2AVX512(g, x, d []float32, k, c, m, c0 float32)")
	p("// d[i] = (k·g[i] + c·(x[i] − m)) + c0 for i < len(d) (g and x at least as long).")
	p("TEXT ·affine2AVX512(SB), NOSPLIT, $0-88")
	p("\tMOVQ g_base+0(FP), SI")
	p("\tMOVQ x_base+24(FP), DX")
	p("\tMOVQ d_base+48(FP), DI")
	p("\tMOVQ d_len+56(FP), CX")
	p("\tVBROADCASTSS k+72(FP), Z0")
	p("\tVBROADCASTSS c+76(FP), Z1")
	p("\tVBROADCASTSS m+80(FP), Z2")
	p("\tVBROADCASTSS c0+84(FP), Z3")
	body := func(load string) {
		p("\t%s, Z4", load)
		p("\tVMULPS Z0, Z4, Z4")
	}
	p("")
	p("a2x16:")
	p("\tCMPQ CX, $16")
	p("\tJL   a2tail")
	body("VMOVUPS (SI)")
	p("\tVMOVUPS (DX), Z5")
	p("\tVSUBPS Z2, Z5, Z5")
	p("\tVMULPS Z1, Z5, Z5")
	p("\tVADDPS Z5, Z4, Z4")
	p("\tVADDPS Z3, Z4, Z4")
	p("\tVMOVUPS Z4, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DX")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP  a2x16")
	p("")
	p("a2tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    a2done")
	maskTail()
	body("VMOVUPS.Z (SI), K1")
	p("\tVMOVUPS.Z (DX), K1, Z5")
	p("\tVSUBPS Z2, Z5, Z5")
	p("\tVMULPS Z1, Z5, Z5")
	p("\tVADDPS Z5, Z4, Z4")
	p("\tVADDPS Z3, Z4, Z4")
	p("\tVMOVUPS Z4, K1, (DI)")
	p("")
	p("a2done:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// adamw emits adamwAVX512, the AdamW update of nn.AdamW, rounded after each operation
// as in its Go loop (VSQRTPS is correctly rounded, like the float64 square root of a
// float32 rounded back).
func adamw() {
	p("// func adamwAVX512(w, g, m, v []float32, c *[8]float32)")
	p("// c = β1, 1−β1, β2, 1−β2, √(1−β2ᵗ), ε, 1−lr·wd, lr/(1−β1ᵗ); for i < len(w):")
	p("// m = m·β1 + (1−β1)·g; v = v·β2 + (1−β2)·g·g; w = w·decay − step·m/(√v/bc2 + ε).")
	p("TEXT ·adamwAVX512(SB), NOSPLIT, $0-104")
	p("\tMOVQ w_base+0(FP), DI")
	p("\tMOVQ w_len+8(FP), CX")
	p("\tMOVQ g_base+24(FP), SI")
	p("\tMOVQ m_base+48(FP), R8")
	p("\tMOVQ v_base+72(FP), R9")
	p("\tMOVQ c+96(FP), AX")
	for i := 0; i < 8; i++ {
		p("\tVBROADCASTSS %d(AX), Z%d", 4*i, i)
	}
	step := func(load, lmask, store string) {
		p("\t%s(SI)%s, Z8", load, lmask)
		p("\tVMULPS Z8, Z1, Z10")
		p("\t%s(R8)%s, Z9", load, lmask)
		p("\tVMULPS Z0, Z9, Z9")
		p("\tVADDPS Z10, Z9, Z9")
		p("\tVMOVUPS Z9, %s(R8)", store)
		p("\tVMULPS Z8, Z3, Z12")
		p("\tVMULPS Z8, Z12, Z12")
		p("\t%s(R9)%s, Z11", load, lmask)
		p("\tVMULPS Z2, Z11, Z11")
		p("\tVADDPS Z12, Z11, Z11")
		p("\tVMOVUPS Z11, %s(R9)", store)
		p("\tVSQRTPS Z11, Z13")
		p("\tVDIVPS Z4, Z13, Z13")
		p("\tVADDPS Z5, Z13, Z13")
		p("\t%s(DI)%s, Z14", load, lmask)
		p("\tVMULPS Z6, Z14, Z14")
		p("\tVMULPS Z9, Z7, Z15")
		p("\tVDIVPS Z13, Z15, Z15")
		p("\tVSUBPS Z15, Z14, Z14")
		p("\tVMOVUPS Z14, %s(DI)", store)
	}
	p("")
	p("ad16:")
	p("\tCMPQ CX, $16")
	p("\tJL   adtail")
	step("VMOVUPS ", "", "")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DI")
	p("\tADDQ $64, R8")
	p("\tADDQ $64, R9")
	p("\tSUBQ $16, CX")
	p("\tJMP  ad16")
	p("")
	p("adtail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    addone")
	maskTail()
	step("VMOVUPS.Z ", ", K1", "K1, ")
	p("")
	p("addone:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

// The float64 constants of the exp/erf/GELU kernels, indices into the table expErfTable
// (elementwise.go) that the kernels get as their second argument.
const (
	cLog2E, cMagic, cLn2, cExpP0 = 0, 1, 2, 3 // cExpP0 … cExpP0+7: the Taylor coefficients, highest first
	cMinus700, cBias1023         = 11, 12
	cFour, cMinusFour, cErfP     = 13, 14, 15 // cErfP … +6: numerator; cErfQ … +4: denominator
	cErfQ                        = 22
	cInvSqrt2, cOne, cHalf       = 27, 28, 29
	cMinusHalf, cInvSqrt2Pi      = 30, 31
)

func bc(i int) string { return fmt.Sprintf("%d(AX)", 8*i) }

// expNegBody emits Zo = expNeg(Zy) for 8 float64 lanes (temps Z20–Z24, mask K3), the
// operations of expNeg (elementwise.go) in order.
func expNegBody(y, o int) {
	p("\tVCMPPD.BCST $1, %s, Z%d, K3", bc(cMinus700), y) // y < −700
	p("\tVMULPD.BCST %s, Z%d, Z20", bc(cLog2E), y)
	p("\tVADDPD.BCST %s, Z20, Z20", bc(cMagic)) // t
	p("\tVSUBPD.BCST %s, Z20, Z21", bc(cMagic)) // n
	p("\tVMULPD.BCST %s, Z21, Z21", bc(cLn2))
	p("\tVSUBPD Z21, Z%d, Z22", y) // r = y − n·ln2
	p("\tVBROADCASTSD %s, Z23", bc(cExpP0))
	for k := 1; k <= 7; k++ {
		p("\tVMULPD Z22, Z23, Z23")
		p("\tVADDPD.BCST %s, Z23, Z23", bc(cExpP0+k))
	}
	p("\tVPSLLQ $12, Z20, Z24")
	p("\tVPSRAQ $12, Z24, Z24")
	p("\tVPADDQ.BCST %s, Z24, Z24", bc(cBias1023))
	p("\tVPSLLQ $52, Z24, Z24")
	p("\tVMULPD Z24, Z23, Z%d", o)
	p("\tVPXORQ Z%d, Z%d, K3, Z%d", o, o, o)
}

// erfBody emits Zo = erf32(Zx) for 8 float64 lanes (Zx is clamped in place; temps
// Z25–Z27, masks K4, K5), the operations of Erf32 in order.
func erfBody(x, o int) {
	p("\tVCMPPD.BCST $0x1e, %s, Z%d, K4", bc(cFour), x)      // x > 4 (false for NaN)
	p("\tVCMPPD.BCST $0x11, %s, Z%d, K5", bc(cMinusFour), x) // x < −4
	p("\tVBROADCASTSD %s, K4, Z%d", bc(cFour), x)
	p("\tVBROADCASTSD %s, K5, Z%d", bc(cMinusFour), x)
	p("\tVMULPD Z%d, Z%d, Z25", x, x) // x²
	p("\tVMULPD.BCST %s, Z25, Z26", bc(cErfP))
	p("\tVADDPD.BCST %s, Z26, Z26", bc(cErfP+1))
	for k := 2; k <= 6; k++ {
		p("\tVMULPD Z26, Z25, Z26")
		p("\tVADDPD.BCST %s, Z26, Z26", bc(cErfP+k))
	}
	p("\tVMULPD.BCST %s, Z25, Z27", bc(cErfQ))
	p("\tVADDPD.BCST %s, Z27, Z27", bc(cErfQ+1))
	for k := 2; k <= 4; k++ {
		p("\tVMULPD Z27, Z25, Z27")
		p("\tVADDPD.BCST %s, Z27, Z27", bc(cErfQ+k))
	}
	p("\tVMULPD Z26, Z%d, Z%d", x, o)
	p("\tVDIVPD Z27, Z%d, Z%d", o, o)
}

// f64Kernel emits an in-place kernel over b []float64 (8 lanes at a time, a masked tail):
// body computes Z2 from the loaded Z1.
func f64Kernel(name, doc string, body func()) {
	p("// func %s(b []float64, c *[32]float64)", name)
	p("// %s", doc)
	p("TEXT ·%s(SB), NOSPLIT, $0-32", name)
	p("\tMOVQ b_base+0(FP), DI")
	p("\tMOVQ b_len+8(FP), CX")
	p("\tMOVQ c+24(FP), AX")
	p("%s_8:", name)
	p("\tCMPQ CX, $8")
	p("\tJL   %s_tail", name)
	p("\tVMOVUPD (DI), Z1")
	body()
	p("\tVMOVUPD Z2, (DI)")
	p("\tADDQ $64, DI")
	p("\tSUBQ $8, CX")
	p("\tJMP  %s_8", name)
	p("%s_tail:", name)
	p("\tTESTQ CX, CX")
	p("\tJZ    %s_done", name)
	p("\tMOVL  $1, DX")
	p("\tSHLL  CX, DX")
	p("\tDECL  DX")
	p("\tKMOVB DX, K1")
	p("\tVMOVUPD.Z (DI), K1, Z1")
	body()
	p("\tVMOVUPD Z2, K1, (DI)")
	p("%s_done:", name)
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func expErf() {
	f64Kernel("expNegF64AVX512", "b[i] = ExpNeg(b[i]).", func() { expNegBody(1, 2) })
	f64Kernel("geluF64AVX512", "b[i] = 0.5·x·(1 + Erf32(x·(1/√2))), x = b[i].", func() {
		p("\tVMULPD.BCST %s, Z1, Z3", bc(cInvSqrt2))
		erfBody(3, 4)
		p("\tVADDPD.BCST %s, Z4, Z4", bc(cOne))
		p("\tVMULPD.BCST %s, Z1, Z2", bc(cHalf))
		p("\tVMULPD Z4, Z2, Z2")
	})
	f64Kernel("geluGradF64AVX512", "b[i] = 0.5·(1 + Erf32(x·(1/√2))) + x·(1/√(2π))·ExpNeg(−0.5·x·x), x = b[i].", func() {
		p("\tVMULPD.BCST %s, Z1, Z5", bc(cMinusHalf))
		p("\tVMULPD Z1, Z5, Z5")
		expNegBody(5, 6)
		p("\tVMULPD.BCST %s, Z1, Z3", bc(cInvSqrt2))
		erfBody(3, 4)
		p("\tVADDPD.BCST %s, Z4, Z4", bc(cOne))
		p("\tVMULPD.BCST %s, Z4, Z4", bc(cHalf))
		p("\tVMULPD.BCST %s, Z1, Z2", bc(cInvSqrt2Pi))
		p("\tVMULPD Z6, Z2, Z2")
		p("\tVADDPD Z2, Z4, Z2")
	})
}

// add emits addAVX512: d = x + y.
func add() {
	p("// func addAVX512(x, y, d []float32)")
	p("// d[i] = x[i] + y[i] for i < len(d) (x and y at least as long).")
	p("TEXT ·addAVX512(SB), NOSPLIT, $0-72")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), DX")
	p("\tMOVQ d_base+48(FP), DI")
	p("\tMOVQ d_len+56(FP), CX")
	p("ad2x16:")
	p("\tCMPQ CX, $16")
	p("\tJL   ad2tail")
	p("\tVMOVUPS (SI), Z1")
	p("\tVADDPS (DX), Z1, Z1")
	p("\tVMOVUPS Z1, (DI)")
	p("\tADDQ $64, SI")
	p("\tADDQ $64, DX")
	p("\tADDQ $64, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP  ad2x16")
	p("ad2tail:")
	p("\tTESTQ CX, CX")
	p("\tJZ    ad2done")
	maskTail()
	p("\tVMOVUPS.Z (SI), K1, Z1")
	p("\tVMOVUPS.Z (DX), K1, Z2")
	p("\tVADDPS Z2, Z1, Z1")
	p("\tVMOVUPS Z1, K1, (DI)")
	p("ad2done:")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func main() {
	p("// Code generated by simd_amd64_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego && !openblas")
	p("")
	p("#include \"textflag.h\"")
	p("")
	relu()
	pool()
	poolBack()
	sumSqDiff(false)
	sumSqDiff(true)
	scaledDiff()
	scale()
	reluMask()
	affine()
	affine2()
	adamw()
	expErf()
	add()
	copyRows()
	dotTaps(dotTapsGroup)
	for c := 2; c <= 4; c++ {
		convTapsMulti(c)
	}
	if err := os.WriteFile("simd_amd64.s", append(bytes.TrimRight(out.Bytes(), "\n"), '\n'), 0o644); err != nil {
		panic(err)
	}
}

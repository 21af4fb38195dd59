//go:build ignore

// pool_amd64_gen.go writes pool_amd64.s, the AVX-512 kernels of the fused ReLU + 2×2 max
// pool: `go generate ./tensor` (or `go run pool_amd64_gen.go` in this directory). The
// four candidate steps of the pool and the unrolled ReLU blocks are emitted by loops, so
// their registers stay consistent.
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

func main() {
	p("// Code generated by pool_amd64_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego && !openblas")
	p("")
	p("#include \"textflag.h\"")
	p("")
	relu()
	pool()
	if err := os.WriteFile("pool_amd64.s", append(bytes.TrimRight(out.Bytes(), "\n"), '\n'), 0o644); err != nil {
		panic(err)
	}
}

//go:build ignore

// elementwise_avx2_gen.go writes elementwise_avx2_amd64.s, the AVX2 versions of the
// element-wise kernels of elementwise.go (the AVX-512 ones are in simd_amd64_gen.go):
// `go generate ./tensor` (or `go run elementwise_avx2_gen.go` in this directory).
//
// Each kernel takes whole vectors only (a multiple of 8 float32 or 4 float64 values, at
// least one); the Go loop of elementwise.go does the rest. Every operation is the one of
// the Go loop in the same order, each rounded on its own (no fused multiply-adds), so the
// bits are the Go loop's. Constants are broadcast from memory into a register where
// AVX-512 takes them as embedded broadcasts, and the compare masks are vectors used by
// VBLENDV and VANDN where AVX-512 has mask registers.
package main

import (
	"bytes"
	"fmt"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

// loop emits the loop over CX elements, lanes per step, with the pointers ptrs advanced by
// 32 bytes per step; body is one step, after (if not nil) runs once at the end.
func loop(name string, lanes int, ptrs []string, body func(), after ...func()) {
	p("%s_loop:", name)
	body()
	for _, r := range ptrs {
		p("\tADDQ $32, %s", r)
	}
	p("\tSUBQ $%d, CX", lanes)
	p("\tJNE  %s_loop", name)
	for _, f := range after {
		f()
	}
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
}

func relu() {
	p("// func reluAVX2(x, a []float32)")
	p("// a[i] = max(x[i], 0) for i < len(a), a multiple of 8, with Go's max: VMAXPS gives")
	p("// x > 0 ? x : +0, and the NaN lanes take x back.")
	p("TEXT ·reluAVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ a_base+24(FP), DI")
	p("\tMOVQ a_len+32(FP), CX")
	p("\tVXORPS Y0, Y0, Y0")
	loop("relu", 8, []string{"SI", "DI"}, func() {
		p("\tVMOVUPS (SI), Y1")
		p("\tVMAXPS Y0, Y1, Y2")
		p("\tVCMPPS $3, Y1, Y1, Y3") // unordered: x is NaN
		p("\tVBLENDVPS Y3, Y1, Y2, Y2")
		p("\tVMOVUPS Y2, (DI)")
	})
}

func reluMask() {
	p("// func reluMaskAVX2(dx, dy, y []float32)")
	p("// dx[i] = y[i] has a bit set ? dy[i] : 0 for i < len(dx), a multiple of 8.")
	p("TEXT ·reluMaskAVX2(SB), NOSPLIT, $0-72")
	p("\tMOVQ dx_base+0(FP), DI")
	p("\tMOVQ dx_len+8(FP), CX")
	p("\tMOVQ dy_base+24(FP), SI")
	p("\tMOVQ y_base+48(FP), DX")
	p("\tVPXOR Y0, Y0, Y0")
	loop("rm", 8, []string{"SI", "DI", "DX"}, func() {
		p("\tVPCMPEQD (DX), Y0, Y1") // all ones where y is all zero bits
		p("\tVANDNPS (SI), Y1, Y2")
		p("\tVMOVUPS Y2, (DI)")
	})
}

func affine() {
	p("// func affineAVX2(x, y []float32, m, s, b float32)")
	p("// y[i] = (x[i] − m)·s + b for i < len(y), a multiple of 8.")
	p("TEXT ·affineAVX2(SB), NOSPLIT, $0-60")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), DI")
	p("\tMOVQ y_len+32(FP), CX")
	p("\tVBROADCASTSS m+48(FP), Y0")
	p("\tVBROADCASTSS s+52(FP), Y1")
	p("\tVBROADCASTSS b+56(FP), Y2")
	loop("af", 8, []string{"SI", "DI"}, func() {
		p("\tVMOVUPS (SI), Y3")
		p("\tVSUBPS Y0, Y3, Y3")
		p("\tVMULPS Y1, Y3, Y3")
		p("\tVADDPS Y2, Y3, Y3")
		p("\tVMOVUPS Y3, (DI)")
	})
}

func affine2() {
	p("// func affine2AVX2(g, x, d []float32, k, c, m, c0 float32)")
	p("// d[i] = (k·g[i] + c·(x[i] − m)) + c0 for i < len(d), a multiple of 8.")
	p("TEXT ·affine2AVX2(SB), NOSPLIT, $0-88")
	p("\tMOVQ g_base+0(FP), SI")
	p("\tMOVQ x_base+24(FP), DX")
	p("\tMOVQ d_base+48(FP), DI")
	p("\tMOVQ d_len+56(FP), CX")
	p("\tVBROADCASTSS k+72(FP), Y0")
	p("\tVBROADCASTSS c+76(FP), Y1")
	p("\tVBROADCASTSS m+80(FP), Y2")
	p("\tVBROADCASTSS c0+84(FP), Y3")
	loop("a2", 8, []string{"SI", "DX", "DI"}, func() {
		p("\tVMULPS (SI), Y0, Y4")
		p("\tVMOVUPS (DX), Y5")
		p("\tVSUBPS Y2, Y5, Y5")
		p("\tVMULPS Y1, Y5, Y5")
		p("\tVADDPS Y5, Y4, Y4")
		p("\tVADDPS Y3, Y4, Y4")
		p("\tVMOVUPS Y4, (DI)")
	})
}

func adamw() {
	p("// func adamwAVX2(w, g, m, v []float32, c *[8]float32)")
	p("// The AdamW update of adamwAVX512 for len(w), a multiple of 8.")
	p("TEXT ·adamwAVX2(SB), NOSPLIT, $0-104")
	p("\tMOVQ w_base+0(FP), DI")
	p("\tMOVQ w_len+8(FP), CX")
	p("\tMOVQ g_base+24(FP), SI")
	p("\tMOVQ m_base+48(FP), R8")
	p("\tMOVQ v_base+72(FP), R9")
	p("\tMOVQ c+96(FP), AX")
	for i := 0; i < 8; i++ {
		p("\tVBROADCASTSS %d(AX), Y%d", 4*i, i)
	}
	loop("ad", 8, []string{"SI", "DI", "R8", "R9"}, func() {
		p("\tVMOVUPS (SI), Y8")
		p("\tVMULPS Y8, Y1, Y10")
		p("\tVMULPS (R8), Y0, Y9")
		p("\tVADDPS Y10, Y9, Y9")
		p("\tVMOVUPS Y9, (R8)")
		p("\tVMULPS Y8, Y3, Y12")
		p("\tVMULPS Y8, Y12, Y12")
		p("\tVMULPS (R9), Y2, Y11")
		p("\tVADDPS Y12, Y11, Y11")
		p("\tVMOVUPS Y11, (R9)")
		p("\tVSQRTPS Y11, Y13")
		p("\tVDIVPS Y4, Y13, Y13")
		p("\tVADDPS Y5, Y13, Y13")
		p("\tVMULPS (DI), Y6, Y14")
		p("\tVMULPS Y9, Y7, Y15")
		p("\tVDIVPS Y13, Y15, Y15")
		p("\tVSUBPS Y15, Y14, Y14")
		p("\tVMOVUPS Y14, (DI)")
	})
}

func add() {
	p("// func addAVX2(x, y, d []float32)")
	p("// d[i] = x[i] + y[i] for i < len(d), a multiple of 8.")
	p("TEXT ·addAVX2(SB), NOSPLIT, $0-72")
	p("\tMOVQ x_base+0(FP), SI")
	p("\tMOVQ y_base+24(FP), DX")
	p("\tMOVQ d_base+48(FP), DI")
	p("\tMOVQ d_len+56(FP), CX")
	loop("ad2", 8, []string{"SI", "DX", "DI"}, func() {
		p("\tVMOVUPS (SI), Y1")
		p("\tVADDPS (DX), Y1, Y1")
		p("\tVMOVUPS Y1, (DI)")
	})
}

// The float64 constants, indices into expErfTable (elementwise.go), as in
// simd_amd64_gen.go.
const (
	cLog2E, cMagic, cLn2, cExpP0 = 0, 1, 2, 3
	cMinus700, cBias1023         = 11, 12
	cFour, cMinusFour, cErfP     = 13, 14, 15
	cErfQ                        = 22
	cInvSqrt2, cOne, cHalf       = 27, 28, 29
	cMinusHalf, cInvSqrt2Pi      = 30, 31
)

// op emits "INS c, Ya, Yd" with the constant c broadcast into Y15 first.
func op(ins string, c, a, d int) {
	p("\tVBROADCASTSD %d(AX), Y15", 8*c)
	p("\t%s Y15, Y%d, Y%d", ins, a, d)
}

// expNegBody emits Yo = ExpNeg(Yy) (temps Y8–Y13, Y15). 2ⁿ: the AVX-512 kernel
// sign-extends t's low 52 bits (VPSRAQ), adds 1023 and shifts left by 52; only the low 12
// bits of the sum survive the shift, and those do not depend on the sign extension, so
// adding 1023 to t's bits and shifting gives the same bits.
func expNegBody(y, o int) {
	op("VCMPPD $1,", cMinus700, y, 13) // y < −700
	op("VMULPD", cLog2E, y, 8)
	op("VADDPD", cMagic, 8, 8) // t
	op("VSUBPD", cMagic, 8, 9) // n
	op("VMULPD", cLn2, 9, 9)
	p("\tVSUBPD Y9, Y%d, Y10", y) // r = y − n·ln2
	p("\tVBROADCASTSD %d(AX), Y11", 8*cExpP0)
	for k := 1; k <= 7; k++ {
		p("\tVMULPD Y10, Y11, Y11")
		op("VADDPD", cExpP0+k, 11, 11)
	}
	p("\tVPBROADCASTQ %d(AX), Y15", 8*cBias1023)
	p("\tVPADDQ Y15, Y8, Y12")
	p("\tVPSLLQ $52, Y12, Y12")
	p("\tVMULPD Y12, Y11, Y%d", o)
	p("\tVANDNPD Y%d, Y13, Y%d", o, o) // 0 where y < −700
}

// erfBody emits Yo = Erf32(Yx) (Yx clamped in place; temps Y8–Y10, Y13–Y15).
func erfBody(x, o int) {
	p("\tVBROADCASTSD %d(AX), Y14", 8*cFour)
	p("\tVCMPPD $0x1e, Y14, Y%d, Y13", x) // x > 4 (false for NaN)
	p("\tVBLENDVPD Y13, Y14, Y%d, Y%d", x, x)
	p("\tVBROADCASTSD %d(AX), Y14", 8*cMinusFour)
	p("\tVCMPPD $0x11, Y14, Y%d, Y13", x) // x < −4
	p("\tVBLENDVPD Y13, Y14, Y%d, Y%d", x, x)
	p("\tVMULPD Y%d, Y%d, Y8", x, x) // x²
	op("VMULPD", cErfP, 8, 9)
	op("VADDPD", cErfP+1, 9, 9)
	for k := 2; k <= 6; k++ {
		p("\tVMULPD Y9, Y8, Y9")
		op("VADDPD", cErfP+k, 9, 9)
	}
	op("VMULPD", cErfQ, 8, 10)
	op("VADDPD", cErfQ+1, 10, 10)
	for k := 2; k <= 4; k++ {
		p("\tVMULPD Y10, Y8, Y10")
		op("VADDPD", cErfQ+k, 10, 10)
	}
	p("\tVMULPD Y9, Y%d, Y%d", x, o)
	p("\tVDIVPD Y10, Y%d, Y%d", o, o)
}

// f64Kernel emits an in-place kernel over b []float64, 4 lanes at a time: body computes
// Y2 from the loaded Y1.
func f64Kernel(name, doc string, body func()) {
	p("// func %s(b []float64, c *[32]float64)", name)
	p("// %s len(b) is a multiple of 4.", doc)
	p("TEXT ·%s(SB), NOSPLIT, $0-32", name)
	p("\tMOVQ b_base+0(FP), DI")
	p("\tMOVQ b_len+8(FP), CX")
	p("\tMOVQ c+24(FP), AX")
	loop(name, 4, []string{"DI"}, func() {
		p("\tVMOVUPD (DI), Y1")
		body()
		p("\tVMOVUPD Y2, (DI)")
	})
}

func expErf() {
	f64Kernel("expNegF64AVX2", "b[i] = ExpNeg(b[i]).", func() { expNegBody(1, 2) })
	f64Kernel("geluF64AVX2", "b[i] = 0.5·x·(1 + Erf32(x·(1/√2))), x = b[i].", func() {
		op("VMULPD", cInvSqrt2, 1, 3)
		erfBody(3, 4)
		op("VADDPD", cOne, 4, 4)
		op("VMULPD", cHalf, 1, 2)
		p("\tVMULPD Y4, Y2, Y2")
	})
	f64Kernel("geluGradF64AVX2", "b[i] = 0.5·(1 + Erf32(x·(1/√2))) + x·(1/√(2π))·ExpNeg(−0.5·x·x), x = b[i].", func() {
		op("VMULPD", cMinusHalf, 1, 5)
		p("\tVMULPD Y1, Y5, Y5")
		expNegBody(5, 6)
		op("VMULPD", cInvSqrt2, 1, 3)
		erfBody(3, 4)
		op("VADDPD", cOne, 4, 4)
		op("VMULPD", cHalf, 4, 4)
		op("VMULPD", cInvSqrt2Pi, 1, 2)
		p("\tVMULPD Y6, Y2, Y2")
		p("\tVADDPD Y2, Y4, Y2")
	})
}

// bnSums emits the BatchNorm partial sums (nn's sumSqShifted and sumDot), one of the eight
// interleaved sums per lane of a Y register, each operation rounded on its own in the
// scalar loop's order, over len(v) &^ 7 values (the caller passes whole blocks, at least
// one):
//
//   - shiftedSums8AVX2(v []float32, s float32, a, q *[8]float32): d = v − s; a += d;
//     q += d·d.
//   - dotShifted8AVX2(g, x []float32, m float32, a, q *[8]float32): a += g;
//     q += g·(x − m).
func bnSums() {
	p("// func shiftedSums8AVX2(v []float32, s float32, a, q *[8]float32)")
	p("TEXT ·shiftedSums8AVX2(SB), NOSPLIT, $0-48")
	p("\tMOVQ v_base+0(FP), SI")
	p("\tMOVQ v_len+8(FP), CX")
	p("\tVBROADCASTSS s+24(FP), Y2")
	p("\tMOVQ a+32(FP), AX")
	p("\tMOVQ q+40(FP), BX")
	p("\tVMOVUPS (AX), Y0")
	p("\tVMOVUPS (BX), Y1")
	loopEnd := func(name string, ptrs []string) {
		for _, r := range ptrs {
			p("\tADDQ $32, %s", r)
		}
		p("\tSUBQ $8, CX")
		p("\tJNE  %s_loop", name)
		p("\tVMOVUPS Y0, (AX)")
		p("\tVMOVUPS Y1, (BX)")
		p("\tVZEROUPPER")
		p("\tRET")
		p("")
	}
	p("ss8_loop:")
	p("\tVMOVUPS (SI), Y3")
	p("\tVSUBPS Y2, Y3, Y3")
	p("\tVADDPS Y3, Y0, Y0")
	p("\tVMULPS Y3, Y3, Y3")
	p("\tVADDPS Y3, Y1, Y1")
	loopEnd("ss8", []string{"SI"})

	p("// func dotShifted8AVX2(g, x []float32, m float32, a, q *[8]float32)")
	p("TEXT ·dotShifted8AVX2(SB), NOSPLIT, $0-72")
	p("\tMOVQ g_base+0(FP), SI")
	p("\tMOVQ g_len+8(FP), CX")
	p("\tMOVQ x_base+24(FP), DX")
	p("\tVBROADCASTSS m+48(FP), Y2")
	p("\tMOVQ a+56(FP), AX")
	p("\tMOVQ q+64(FP), BX")
	p("\tVMOVUPS (AX), Y0")
	p("\tVMOVUPS (BX), Y1")
	p("ds8_loop:")
	p("\tVMOVUPS (SI), Y3")
	p("\tVADDPS Y3, Y0, Y0")
	p("\tVMOVUPS (DX), Y4")
	p("\tVSUBPS Y2, Y4, Y4")
	p("\tVMULPS Y4, Y3, Y3")
	p("\tVADDPS Y3, Y1, Y1")
	loopEnd("ds8", []string{"SI", "DX"})
}

// softmaxParts emits the vector parts of nn's float32 softmax rows, over len &^ 7 values
// (at least one block):
//
//   - max8AVX2(s []float32, m *[8]float32): m[k] = s[i] where s[i] > m[k] (ordered: NaN
//     never replaces) for i ≡ k (mod 8), in order of i: the scalar loop's rule per lane.
//   - shiftF64AVX2(b []float64, s []float32, m float32): b[i] = float64(s[i] − m), the
//     subtraction rounded in float32.
//   - scaleAVX2(k float32, y []float32): y[i] = k·y[i].
func softmaxParts() {
	p("// func max8AVX2(s []float32, m *[8]float32)")
	p("TEXT ·max8AVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ s_base+0(FP), SI")
	p("\tMOVQ s_len+8(FP), CX")
	p("\tMOVQ m+24(FP), AX")
	p("\tVMOVUPS (AX), Y0")
	loop("mx", 8, []string{"SI"}, func() {
		p("\tVMOVUPS (SI), Y1")
		p("\tVCMPPS $0x1e, Y0, Y1, Y2") // s > m, ordered
		p("\tVBLENDVPS Y2, Y1, Y0, Y0")
	}, func() { p("\tVMOVUPS Y0, (AX)") })
	p("// func shiftF64AVX2(b []float64, s []float32, m float32)")
	p("TEXT ·shiftF64AVX2(SB), NOSPLIT, $0-52")
	p("\tMOVQ b_base+0(FP), DI")
	p("\tMOVQ b_len+8(FP), CX")
	p("\tMOVQ s_base+24(FP), SI")
	p("\tVBROADCASTSS m+48(FP), X0")
	p("sh_loop:")
	p("\tVMOVUPS (SI), X1")
	p("\tVSUBPS X0, X1, X1")
	p("\tVCVTPS2PD X1, Y1")
	p("\tVMOVUPD Y1, (DI)")
	p("\tADDQ $16, SI")
	p("\tADDQ $32, DI")
	p("\tSUBQ $4, CX")
	p("\tJNE  sh_loop")
	p("\tVZEROUPPER")
	p("\tRET")
	p("")
	p("// func scaleAVX2(k float32, y []float32)")
	p("TEXT ·scaleAVX2(SB), NOSPLIT, $0-32")
	p("\tVBROADCASTSS k+0(FP), Y0")
	p("\tMOVQ y_base+8(FP), DI")
	p("\tMOVQ y_len+16(FP), CX")
	loop("sc", 8, []string{"DI"}, func() {
		p("\tVMULPS (DI), Y0, Y1")
		p("\tVMOVUPS Y1, (DI)")
	})
}

func main() {
	p("// Code generated by elementwise_avx2_gen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !purego && !openblas")
	p("")
	p("#include \"textflag.h\"")
	p("")
	relu()
	reluMask()
	affine()
	affine2()
	adamw()
	add()
	expErf()
	bnSums()
	softmaxParts()
	if err := os.WriteFile("elementwise_avx2_amd64.s", append(bytes.TrimRight(out.Bytes(), "\n"), '\n'), 0o644); err != nil {
		panic(err)
	}
}

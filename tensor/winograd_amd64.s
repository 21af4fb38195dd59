//go:build amd64 && !purego && !openblas

#include "textflag.h"

// The three AVX-512 building blocks of the Winograd convolution (winograd.go). Every
// vector holds one value of 16 tiles; written by hand (they are short loops, and
// nothing in the SIMD generator of this package gathers or scatters).

// func winoGatherAVX512(dst, src *float32, idx *int32, rows, cols, rs, cs, n int)
// dst[(i·cols+j)·16 + l] = src[idx[l] + i·rs + j·cs] for l < n, 0 for n ≤ l < 16.
TEXT ·winoGatherAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ idx+16(FP), DX
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R9
	MOVQ rs+40(FP), R10
	MOVQ cs+48(FP), R11
	MOVQ n+56(FP), CX
	SHLQ $2, R10
	SHLQ $2, R11
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	VMOVDQU32 (DX), Z1
	TESTQ R8, R8
	JEQ  gdone

grow:
	MOVQ SI, R12
	MOVQ R9, R13
	TESTQ R13, R13
	JEQ  gnextrow

gcol:
	VPXORD    Z2, Z2, Z2
	KMOVW     AX, K1
	VGATHERDPS (R12)(Z1*4), K1, Z2
	VMOVUPS   Z2, (DI)
	ADDQ      $64, DI
	ADDQ      R11, R12
	DECQ      R13
	JNE       gcol

gnextrow:
	ADDQ R10, SI
	DECQ R8
	JNE  grow

gdone:
	VZEROUPPER
	RET

// func winoScatterAVX512(dst *float32, idx *int32, src *float32, rows, cols, rs, cs, n int)
// dst[idx[l] + i·rs + j·cs] = src[(i·cols+j)·16 + l] for l < n.
TEXT ·winoScatterAVX512(SB), NOSPLIT, $0-64
	MOVQ dst+0(FP), DI
	MOVQ idx+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ rows+24(FP), R8
	MOVQ cols+32(FP), R9
	MOVQ rs+40(FP), R10
	MOVQ cs+48(FP), R11
	MOVQ n+56(FP), CX
	SHLQ $2, R10
	SHLQ $2, R11
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	VMOVDQU32 (DX), Z1
	TESTQ R8, R8
	JEQ  sdone

srow:
	MOVQ DI, R12
	MOVQ R9, R13
	TESTQ R13, R13
	JEQ  snextrow

scol:
	VMOVUPS     (SI), Z2
	KMOVW       AX, K1
	VSCATTERDPS Z2, K1, (R12)(Z1*4)
	ADDQ        $64, SI
	ADDQ        R11, R12
	DECQ        R13
	JNE         scol

snextrow:
	ADDQ R10, DI
	DECQ R8
	JNE  srow

sdone:
	VZEROUPPER
	RET

// func winoLinAVX512(lc *float32, k, r int, x *float32, xk, xb int, y *float32, yr, yb, nb int)
// For b < nb and q < r (r ≤ 6): y[b·yb + q·yr : +16] = Σ_p lc[p·6+q]·x[b·xb + p·xk : +16]
// (lc is the column-major 6×k matrix; strides in floats).
TEXT ·winoLinAVX512(SB), NOSPLIT, $0-80
	MOVQ lc+0(FP), BX
	MOVQ k+8(FP), CX
	MOVQ r+16(FP), DX
	MOVQ x+24(FP), SI
	MOVQ xk+32(FP), R8
	MOVQ xb+40(FP), R9
	MOVQ y+48(FP), DI
	MOVQ yr+56(FP), R10
	MOVQ yb+64(FP), R11
	MOVQ nb+72(FP), R12
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, R10
	SHLQ $2, R11
	TESTQ R12, R12
	JEQ  ldone

lblock:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	MOVQ   BX, R13
	MOVQ   SI, R14
	MOVQ   CX, R15

lk:
	VMOVUPS          (R14), Z6
	VFMADD231PS.BCST (R13), Z6, Z0
	VFMADD231PS.BCST 4(R13), Z6, Z1
	VFMADD231PS.BCST 8(R13), Z6, Z2
	VFMADD231PS.BCST 12(R13), Z6, Z3
	VFMADD231PS.BCST 16(R13), Z6, Z4
	VFMADD231PS.BCST 20(R13), Z6, Z5
	ADDQ             $24, R13
	ADDQ             R8, R14
	DECQ             R15
	JNE              lk

	MOVQ    DI, R13
	VMOVUPS Z0, (R13)
	CMPQ    DX, $1
	JEQ     lnext
	ADDQ    R10, R13
	VMOVUPS Z1, (R13)
	CMPQ    DX, $2
	JEQ     lnext
	ADDQ    R10, R13
	VMOVUPS Z2, (R13)
	CMPQ    DX, $3
	JEQ     lnext
	ADDQ    R10, R13
	VMOVUPS Z3, (R13)
	CMPQ    DX, $4
	JEQ     lnext
	ADDQ    R10, R13
	VMOVUPS Z4, (R13)
	CMPQ    DX, $5
	JEQ     lnext
	ADDQ    R10, R13
	VMOVUPS Z5, (R13)

lnext:
	ADDQ R9, SI
	ADDQ R11, DI
	DECQ R12
	JNE  lblock

ldone:
	VZEROUPPER
	RET

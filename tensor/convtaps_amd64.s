//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func convTapsAVX512(x []float32, offs []int32, w []float32, y []float32)
// y[j] += Σ_t w[t]·x[offs[t]+j] for j < len(y), one fused multiply-add per tap in the
// order of offs, so each y[j] is rounded exactly as by len(offs) axpy calls. The last
// len(y) mod 16 elements go through one masked block (masked-off lanes are neither loaded
// nor stored). The caller guarantees len(x) ≥ offs[t] + len(y) for every t and
// len(w) ≥ len(offs).
TEXT ·convTapsAVX512(SB), NOSPLIT, $0-96
	MOVQ x_base+0(FP), SI
	MOVQ offs_base+24(FP), R9
	MOVQ offs_len+32(FP), R11
	MOVQ w_base+48(FP), R10
	MOVQ y_base+72(FP), DI
	MOVQ y_len+80(FP), CX

block64:
	CMPQ CX, $64
	JL   block16
	VMOVUPS (DI), Z1
	VMOVUPS 64(DI), Z2
	VMOVUPS 128(DI), Z3
	VMOVUPS 192(DI), Z4
	XORQ BX, BX

tap64:
	CMPQ BX, R11
	JGE  store64
	MOVLQSX (R9)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z0
	LEAQ (SI)(AX*4), DX
	VFMADD231PS (DX), Z0, Z1
	VFMADD231PS 64(DX), Z0, Z2
	VFMADD231PS 128(DX), Z0, Z3
	VFMADD231PS 192(DX), Z0, Z4
	INCQ BX
	JMP  tap64

store64:
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JMP  block64

block16:
	CMPQ CX, $16
	JL   tail
	VMOVUPS (DI), Z1
	XORQ BX, BX

tap16:
	CMPQ BX, R11
	JGE  store16
	MOVLQSX (R9)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z0
	VFMADD231PS (SI)(AX*4), Z0, Z1
	INCQ BX
	JMP  tap16

store16:
	VMOVUPS Z1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  block16

tail:
	TESTQ CX, CX
	JZ    done
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (DI), K1, Z1
	XORQ BX, BX

taptail:
	CMPQ BX, R11
	JGE  storetail
	MOVLQSX (R9)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z0
	VFMADD231PS (SI)(AX*4), Z0, K1, Z1
	INCQ BX
	JMP  taptail

storetail:
	VMOVUPS Z1, K1, (DI)

done:
	VZEROUPPER
	RET

// Package reverse holds FR-PT's reverse operators: given a layer, its forward input (the
// anchor) and a target for its output, each returns an input that produces the target
// while staying close to the anchor (spec §2–§4 of shared/spec/frpt-method.md), plus the
// output-target embeddings that start the backward walk (§3).
//
// One file per operator family; every operator documents the formula it implements. The
// dense linear algebra (LU, QR, SVD, least squares) is gonum's; solves run in float64.
package reverse

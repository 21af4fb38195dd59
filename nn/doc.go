// Package nn holds frpt's layers, losses and optimisers, each with a hand-written backward.
//
// A layer is a small struct that owns its parameters, records in Forward exactly what
// Backward needs, and in Backward returns the input gradient while adding parameter
// gradients into Param.Grad (skipped for frozen parameters). There is no graph or tape:
// composite modules (Sequential, residual blocks, attention) call their children's
// Forward in order and their Backward in reverse order. Layers are generic over the
// element type so that every backward can be checked against finite differences in
// float64; models train in float32.
//
// Parameter and buffer names follow PyTorch's state_dict keys so that checkpoints move
// both ways (see package checkpoint).
package nn

// Package pipeline runs frpt's jobs end to end: pretraining with a recipe, evaluation,
// reconstruction of label-conditioned targets into the feature cache (cache.go documents
// the on-disk format), post-training at a tap (coupled as in the paper, or decoupled),
// the resumable post-training grid, the paired statistics and report inputs, and the demo.
//
// It composes models, data, nn, reverse and checkpoint; it holds no maths of its own beyond
// the training loops. Every file it writes is written to a temporary file and renamed, and
// long jobs resume from what they left on disk.
package pipeline

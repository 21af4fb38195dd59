// Package pipeline runs frpt's jobs end to end: pretraining with a recipe, evaluation,
// and (in later stages) reconstruction, the feature cache, post-training and statistics.
//
// It composes models, data, nn and checkpoint; it holds no maths of its own beyond the
// training loop. Every file it writes is written to a temporary file and renamed, and
// long jobs resume from what they left on disk.
package pipeline

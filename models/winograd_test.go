package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/tensor"
)

// A ResNet-18 forward and backward pass through the 3×3 convolution path "auto"
// (Winograd where its rule says so) matches the same pass in float64 — logits within
// 1e-5 and every parameter gradient within 1e-4 relative — on MNIST (7×7 and 4×4 maps,
// F(2×2) forward and input gradient, F(4×4) weight gradient, batch 32) and CIFAR (32×32
// and 16×16 maps, F(4×4), batch 4); and its bits differ from the default kernels', so
// Winograd ran. The pass is in evaluation mode: with batch statistics the float32 step
// of a randomly initialised ResNet is chaotic (a 1e-6 relative change of the input moves
// the default kernels' gradients by 1–2 %, measured 2026-12-07), so it cannot tell a
// kernel's rounding from its errors. Even in evaluation mode a ReLU or max-pool decision
// can flip on rounding: here the default kernels' MNIST gradients land 0.7 % from
// float64 (logged), the Winograd ones 2e-6; the inputs are seeded, so the outcome is
// fixed.
func TestResNetWinogradStepMatchesDefault(t *testing.T) {
	for _, c := range []struct {
		dataset string
		shape   []int
	}{{"mnist", []int{32, 1, 28, 28}}, {"cifar10", []int{4, 3, 32, 32}}} {
		t.Run(c.dataset, func(t *testing.T) { resnetWinogradStep(t, c.dataset, c.shape) })
	}
}

// resnetStep runs forward, cross-entropy and backward of m on x and returns the loss,
// the logits and the gradients of the trainable parameters, in float64.
func resnetStep[F tensor.Float](m Model[F], x *tensor.T[F], labels []int) (float64, []float64, [][]float64) {
	nn.SetTraining[F](m, false)
	logits := m.Forward(x)
	loss, d := nn.CrossEntropy(logits, labels, 0)
	m.Backward(d)
	var grads [][]float64
	for _, p := range m.Params() {
		if p.P.Trainable() {
			grads = append(grads, to64(p.P.Grad.Data))
		}
	}
	return loss, to64(logits.Data), grads
}

func to64[F tensor.Float](v []F) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func resnetWinogradStep(t *testing.T, dataset string, shape []int) {
	prev, err := tensor.SetConv3x3Path(tensor.Conv3x3Default)
	if err != nil {
		t.Fatal(err)
	}
	defer tensor.SetConv3x3Path(prev)
	rng := rand.New(rand.NewPCG(3, 4))
	x := tensor.New[float32](shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, shape[0])
	for i := range labels {
		labels[i] = i % 10
	}
	// the float64 reference: the same weights and inputs, exactly
	m64, err := New[float64]("resnet18", dataset, 0)
	if err != nil {
		t.Fatal(err)
	}
	w32 := func() Model[float32] {
		m, err := New[float32]("resnet18", dataset, 0)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ps32, ps64 := w32().Params(), m64.Params()
	for i := range ps64 {
		copy(ps64[i].P.Value.Data, to64(ps32[i].P.Value.Data))
	}
	x64 := tensor.New[float64](shape...)
	copy(x64.Data, to64(x.Data))
	loss64, logits64, grads64 := resnetStep(m64, x64, labels)

	rel := func(a, b []float64) float64 {
		var d, n float64
		for i := range a {
			d += (a[i] - b[i]) * (a[i] - b[i])
			n += b[i] * b[i]
		}
		return math.Sqrt(d / max(n, 1e-300))
	}
	type result struct {
		loss          float64
		logits, worst float64 // relative errors against float64
		grads         [][]float64
	}
	run := func(path string) result {
		if _, err := tensor.SetConv3x3Path(path); err != nil {
			t.Fatal(err)
		}
		loss, logits, grads := resnetStep(w32(), x, labels)
		r := result{loss: loss, logits: rel(logits, logits64), grads: grads}
		for i := range grads {
			r.worst = max(r.worst, rel(grads[i], grads64[i]))
		}
		return r
	}
	def, auto := run(tensor.Conv3x3Default), run(tensor.Conv3x3Auto)
	t.Logf("%s: against float64, default kernels: logits %.2g, worst gradient %.2g; auto: logits %.2g, worst gradient %.2g",
		dataset, def.logits, def.worst, auto.logits, auto.worst)
	if math.Abs(auto.loss-loss64) > 1e-5*math.Abs(loss64) || auto.logits > 1e-5 || auto.worst > 1e-4 {
		t.Errorf("auto path: loss %v against %v (float64), logits %.3g and worst gradient %.3g relative (limits 1e-5, 1e-4)",
			auto.loss, loss64, auto.logits, auto.worst)
	}
	identical := true
	for i := range def.grads {
		for j := range def.grads[i] {
			identical = identical && def.grads[i][j] == auto.grads[i][j]
		}
	}
	if identical && tensor.Conv3x3WinogradAvailable() {
		t.Error("the auto path gave the default kernels' bits: Winograd did not run")
	}
}

// Package models is frpt's model zoo, written like the paper: SimpleCNN v1–v5 for every
// dataset of spec §5.1, ResNet-18/34 (CIFAR and standard stems, 1-channel for MNIST) and
// SimpleViT (no-norm blocks) with its pre-LN variant. A model is its layers in order plus
// named taps (z1…zK, out), the top-level children the paper freezes by split index, and
// parameter names equal to the PyTorch twins' state_dict keys (bench/torch_models.py).
package models

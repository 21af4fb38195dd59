package pipeline

// Post-trained weights out (frpt posttrain --save DIR): each run of a grid keeps the
// weights of its best epoch by test accuracy (a copy of every parameter and BatchNorm
// buffer, taken when the accuracy improves; the first of equal epochs) or of its last
// epoch (--save-last), and the grid writes them into DIR before it appends the run's
// results line, so a results file never names a file that was not written:
//
//   - <stem>.safetensors: the model's parameters and buffers under the names frpt train
//     writes for a zoo model (PyTorch state_dict names) or, for an imported ONNX model,
//     its initializer names (num_batches_tracked included), so PyTorch loads them with
//     model.load_state_dict(strict=True);
//   - <stem>.onnx (ONNX models): a copy of the model's .onnx file whose initializers hold
//     the post-trained values, for any ONNX runtime.
//
// The stem is the run key made safe for a file name (savedStem). Hierarchical runs save
// the stitched model, the one their test accuracy is measured on.

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/tensor"
)

// Keep values of PostTrainConfig.Keep: which epoch's weights a run holds for saving.
const (
	KeepBest = "best" // the epoch with the highest test accuracy (the first of equals)
	KeepLast = "last" // the last epoch
)

// weightKeeper follows a run's epochs and holds the weights to save: for KeepBest a copy
// of the parameters (buffers included) of the best epoch so far, for KeepLast nothing
// until the run ends (the model then holds them). The zero keeper keeps nothing.
type weightKeeper struct {
	mode  string
	epoch int     // the kept epoch (0: none yet)
	acc   float64 // its test accuracy
	snap  []*tensor.T[float32]
}

// epochDone records epoch's test accuracy on m (after its evaluation).
func (k *weightKeeper) epochDone(m models.Model[float32], epoch int, acc float64) {
	switch k.mode {
	case KeepLast:
		k.epoch, k.acc = epoch, acc
	case KeepBest:
		if k.epoch != 0 && acc <= k.acc {
			return
		}
		k.epoch, k.acc = epoch, acc
		ps := m.Params()
		if k.snap == nil {
			k.snap = make([]*tensor.T[float32], len(ps))
		}
		for i, p := range ps {
			k.snap[i] = tensor.Ensure(k.snap[i], p.P.Value.Shape...)
			copy(k.snap[i].Data, p.P.Value.Data)
		}
	}
}

// kept puts the kept epoch's weights back into m (the run is over) and returns them, or
// nil when the keeper keeps nothing.
func (k *weightKeeper) kept(m models.Model[float32]) *keptWeights {
	if k.mode == "" || k.epoch == 0 {
		return nil
	}
	if k.snap != nil {
		for i, p := range m.Params() {
			copy(p.P.Value.Data, k.snap[i].Data)
		}
	}
	k.snap = nil
	return &keptWeights{model: m, epoch: k.epoch, acc: k.acc}
}

// keptWeights is a finished run's model holding the weights to save.
type keptWeights struct {
	model models.Model[float32]
	epoch int
	acc   float64
}

// onnxWriter is implemented by imported ONNX models: their state_dict and a copy of the
// .onnx file with the current weights.
type onnxWriter interface {
	SaveWeights(path string, meta map[string]string) error
	SaveONNX(path string) error
}

// savedStem is the file name (without extension) of a run's saved weights: the model
// (an ONNX file's base name), mode, tap, c_rec and seed, with every character other than
// letters, digits, '.', '_' and '-' replaced by '_' (and then a short hash of the key, so
// two keys never share a name).
func savedStem(run PostTrainConfig) string {
	model := run.Model
	if models.IsONNX(model) {
		model = strings.TrimSuffix(filepath.Base(model), filepath.Ext(model))
	}
	raw := fmt.Sprintf("%s-%s-%s-c%g-s%d", model, run.Mode, run.Tap, run.CRec, run.Seed)
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, raw)
	if safe != raw || strings.HasPrefix(safe, ".") {
		h := fnv.New32a()
		h.Write([]byte(run.Key()))
		safe = fmt.Sprintf("%s-%08x", strings.TrimLeft(safe, "."), h.Sum32())
	}
	return safe
}

// saveKept writes the weights r kept into dir (atomically) and records the files in r,
// relative to the folder of the results file results, with their SHA-256 and the epoch.
// It drops r's hold on the model.
func saveKept(dir, results string, r *RunResult) error {
	k := r.kept
	r.kept = nil
	if k == nil {
		return fmt.Errorf("post-training %s: no weights kept to save", r.Key())
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--save: %w", err)
	}
	stem := filepath.Join(dir, savedStem(r.PostTrainConfig))
	st := stem + ".safetensors"
	meta := savedMeta(r, k)
	if ow, ok := k.model.(onnxWriter); ok {
		if err := ow.SaveWeights(st, meta); err != nil {
			return err
		}
		on := stem + ".onnx"
		if err := ow.SaveONNX(on); err != nil {
			return err
		}
		sha, err := FileSHA256(on)
		if err != nil {
			return err
		}
		r.SavedONNX, r.SavedONNXSHA256 = report.RecordedPath(results, on), sha
	} else if err := checkpoint.Save(st, k.model.Params(), meta); err != nil {
		return err
	}
	sha, err := FileSHA256(st)
	if err != nil {
		return err
	}
	r.Saved, r.SavedSHA256, r.SavedEpoch = report.RecordedPath(results, st), sha, k.epoch
	return nil
}

// savedMeta is the safetensors metadata of saved weights: what frpt train writes for a
// checkpoint (format, arch, config, dataset, epoch, test_acc, seed) and the run.
func savedMeta(r *RunResult, k *keptWeights) map[string]string {
	conf, _ := json.Marshal(k.model.Config())
	return map[string]string{
		"format":   "frpt/v1",
		"kind":     "posttrain",
		"arch":     k.model.Arch(),
		"config":   string(conf),
		"dataset":  r.Dataset,
		"epoch":    strconv.Itoa(k.epoch),
		"test_acc": strconv.FormatFloat(k.acc, 'g', -1, 64),
		"seed":     strconv.FormatUint(r.Seed, 10),
		"run":      r.Key(),
		"keep":     r.Keep,
	}
}

// checkSave checks --save and --save-last (GridConfig.Validate).
func (g GridConfig) checkSave() error {
	if g.SaveLast && g.Save == "" {
		return fmt.Errorf("--save-last: saves the last epoch's weights instead of the best epoch's, so it needs --save DIR")
	}
	if g.Save == "" {
		return nil
	}
	if st, err := os.Stat(g.Save); err == nil && !st.IsDir() {
		return fmt.Errorf("--save %s: not a folder", g.Save)
	}
	return nil
}

// keepMode is the PostTrainConfig.Keep of the grid's runs.
func (g GridConfig) keepMode() string {
	switch {
	case g.Save == "":
		return ""
	case g.SaveLast:
		return KeepLast
	}
	return KeepBest
}

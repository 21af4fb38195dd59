package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/nn"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/tensor"
)

// EpochLog is one line of log.jsonl.
type EpochLog struct {
	Epoch        int     `json:"epoch"`
	LR           float64 `json:"lr"`
	TrainLoss    float64 `json:"train_loss"`
	TrainAcc     float64 `json:"train_acc"`
	TestLoss     float64 `json:"test_loss"`
	TestAcc      float64 `json:"test_acc"`
	TrainSeconds float64 `json:"train_seconds"`
	ImagesPerSec float64 `json:"images_per_sec"`
}

// TrainSummary is written to summary.json at the end of a run.
type TrainSummary struct {
	Config       TrainConfig `json:"config"`
	Epochs       []EpochLog  `json:"epochs"`
	BestAcc      float64     `json:"best_test_acc"`
	BestEpoch    int         `json:"best_epoch"`
	LastAcc      float64     `json:"last_test_acc"`
	TrainSeconds float64     `json:"train_seconds"`
	// FirstEpochAt maps accuracy thresholds ("97.5") to the first epoch reaching them.
	FirstEpochAt map[string]int `json:"first_epoch_at,omitempty"`
}

// Run file names inside TrainConfig.OutDir.
const (
	LastCheckpoint = "last.safetensors"
	BestCheckpoint = "best.safetensors"
	optimizerFile  = "optimizer.safetensors"
	optimizerPrev  = "optimizer.prev.safetensors" // the state before optimizerFile's epoch, kept until last.safetensors catches up
	logFile        = "log.jsonl"
	configFile     = "config.json"
	summaryFile    = "summary.json"
)

// EpochCheckpoint is the name of the snapshot TrainConfig.SaveEvery writes after epoch:
// epoch-NNN.safetensors (three digits or more).
func EpochCheckpoint(epoch int) string { return fmt.Sprintf("epoch-%03d.safetensors", epoch) }

// Pretrain trains cfg.Model on cfg.Dataset, evaluating on the test split after every
// epoch. It resumes from cfg.OutDir when a compatible run is there (unless cfg.Fresh),
// writes every file atomically and reports progress to w.
func Pretrain(ctx context.Context, cfg TrainConfig, w io.Writer) (*TrainSummary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	train, err := openSplit(cfg.Dataset, "train", cfg.DataDir, cfg.Limit)
	if err != nil {
		return nil, err
	}
	dropNote := ""
	if cfg.DropFraction > 0 {
		var before, after int
		if train, before, after, err = data.DropClass(train, cfg.DropClass, cfg.DropFraction, cfg.DropSeed); err != nil {
			return nil, fmt.Errorf("--drop-class: %w", err)
		}
		dropNote = fmt.Sprintf(" (class %d: %d of %d images kept)", cfg.DropClass, after, before)
	}
	test, err := openSplit(cfg.Dataset, "test", cfg.DataDir, 0)
	if err != nil {
		return nil, err
	}
	m, err := models.New[float32](cfg.Model, cfg.Dataset, cfg.Seed)
	if err != nil {
		return nil, err
	}
	params := m.Params()
	opt, err := newOptimizer(cfg, params)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", cfg.OutDir, err)
	}
	removeStale(cfg.OutDir)
	sum := &TrainSummary{Config: cfg, FirstEpochAt: map[string]int{}}
	start := 0
	if !cfg.Fresh {
		start, err = resume(cfg, m, opt, sum)
		if err != nil {
			return nil, err
		}
		if start > 0 {
			fmt.Fprintf(w, "resuming %s after epoch %d (best %.2f%%)\n", cfg.OutDir, start, 100*sum.BestAcc)
		}
	}
	if start == 0 {
		sum.Epochs = nil
		if err := WriteJSON(filepath.Join(cfg.OutDir, configFile), cfg); err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(filepath.Join(cfg.OutDir, logFile), nil); err != nil {
			return nil, err
		}
	}
	sched := newSchedule(cfg)
	if cfg.Schedule == "plateau" { // replay the finished epochs to restore the scheduler's state
		for _, e := range sum.Epochs {
			opt.SetLR(sched.plateau.Step(e.TestAcc))
		}
	}
	var trainTf data.Transform
	if !cfg.NoAugment {
		trainTf = data.TrainTransform(cfg.Dataset)
	} else {
		trainTf = data.TestTransform(cfg.Dataset)
	}
	fmt.Fprintf(w, "training %s on %s: %d train%s / %d test images, %d parameters, %s lr %g wd %g, batch %d, %d epochs\n",
		cfg.Model, cfg.Dataset, train.Len(), dropNote, test.Len(), countParams(params), cfg.Optimizer, cfg.LR, cfg.WeightDecay, cfg.BatchSize, cfg.Epochs)
	for epoch := start + 1; epoch <= cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return sum, fmt.Errorf("interrupted before epoch %d (rerun to resume): %w", epoch, err)
		}
		if cfg.Schedule == "cosine" {
			opt.SetLR(sched.cosine.LR(epoch - 1))
		}
		el, err := trainEpoch(ctx, m, opt, train, trainTf, cfg, epoch, w)
		if err != nil {
			return sum, err
		}
		ev, err := evaluate(ctx, m, test, data.TestTransform(cfg.Dataset), 1000, nil)
		if err != nil {
			return sum, err
		}
		el.TestAcc, el.TestLoss = ev.Accuracy, ev.Loss
		if cfg.Schedule == "plateau" {
			opt.SetLR(sched.plateau.Step(ev.Accuracy))
		}
		fmt.Fprintf(w, "epoch %d/%d: train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.1f s, %.0f images/s\n",
			epoch, cfg.Epochs, el.TrainLoss, 100*el.TrainAcc, el.TestLoss, 100*el.TestAcc, el.TrainSeconds, el.ImagesPerSec)
		if err := finishEpoch(cfg, m, opt, sum, el); err != nil {
			return sum, err
		}
	}
	if err := WriteJSON(filepath.Join(cfg.OutDir, summaryFile), sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// finishEpoch records el, saves the checkpoints and the log. The last checkpoint carries
// the epoch and the best accuracy so far in its metadata; it is written last, so a crash
// in between resumes from the previous epoch and redoes this one.
func finishEpoch(cfg TrainConfig, m models.Model[float32], opt nn.Optimizer, sum *TrainSummary, el EpochLog) error {
	sum.Epochs = append(sum.Epochs, el)
	sum.LastAcc = el.TestAcc
	sum.TrainSeconds += el.TrainSeconds
	for _, th := range []float64{0.9, 0.95, 0.975, 0.98, 0.99} {
		k := strconv.FormatFloat(100*th, 'f', -1, 64)
		if _, ok := sum.FirstEpochAt[k]; !ok && el.TestAcc >= th {
			sum.FirstEpochAt[k] = el.Epoch
		}
	}
	meta := checkpointMeta(cfg, m, el)
	if el.TestAcc > sum.BestAcc || sum.BestEpoch == 0 {
		sum.BestAcc, sum.BestEpoch = el.TestAcc, el.Epoch
		if err := checkpoint.Save(filepath.Join(cfg.OutDir, BestCheckpoint), m.Params(), meta); err != nil {
			return err
		}
	}
	var lines []byte
	for _, e := range sum.Epochs {
		b, _ := json.Marshal(e)
		lines = append(append(lines, b...), '\n')
	}
	if err := WriteFileAtomic(filepath.Join(cfg.OutDir, logFile), lines); err != nil {
		return err
	}
	if err := rotateOptimizer(cfg.OutDir, opt, el.Epoch); err != nil {
		return err
	}
	if cfg.SaveEvery > 0 && el.Epoch%cfg.SaveEvery == 0 { // before last: a crash redoes the epoch and rewrites it
		if err := checkpoint.Save(filepath.Join(cfg.OutDir, EpochCheckpoint(el.Epoch)), m.Params(), meta); err != nil {
			return err
		}
	}
	meta["best_test_acc"] = strconv.FormatFloat(sum.BestAcc, 'g', -1, 64)
	meta["best_epoch"] = strconv.Itoa(sum.BestEpoch)
	return checkpoint.Save(filepath.Join(cfg.OutDir, LastCheckpoint), m.Params(), meta)
}

func checkpointMeta(cfg TrainConfig, m models.Model[float32], el EpochLog) map[string]string {
	conf, _ := json.Marshal(m.Config())
	return map[string]string{
		"format":   "frpt/v1",
		"arch":     m.Arch(),
		"config":   string(conf),
		"dataset":  cfg.Dataset,
		"epoch":    strconv.Itoa(el.Epoch),
		"test_acc": strconv.FormatFloat(el.TestAcc, 'g', -1, 64),
		"seed":     strconv.FormatUint(cfg.Seed, 10),
	}
}

// resume loads the last finished epoch from cfg.OutDir; it returns 0 when there is none.
// A run made with a different model, dataset or recipe is refused rather than mixed.
func resume(cfg TrainConfig, m models.Model[float32], opt nn.Optimizer, sum *TrainSummary) (int, error) {
	last := filepath.Join(cfg.OutDir, LastCheckpoint)
	if _, err := os.Stat(last); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	var old TrainConfig
	if err := readJSON(filepath.Join(cfg.OutDir, configFile), &old); err != nil {
		return 0, fmt.Errorf("resume %s: %w (use --fresh to start over)", cfg.OutDir, err)
	}
	if d := fieldDiffs(old, cfg, "the run there", "epochs", "data_dir", "out_dir", "save_every"); len(d) > 0 {
		return 0, fmt.Errorf("resume %s: the run there was made with other settings: %s; use --fresh or another --out", cfg.OutDir, strings.Join(d, "; "))
	}
	meta, err := checkpoint.LoadInto(last, m.Params())
	if err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	epoch, err := strconv.Atoi(meta["epoch"])
	if err != nil {
		return 0, fmt.Errorf("resume %s: bad epoch in metadata: %w", last, err)
	}
	if err := resumeOptimizer(cfg.OutDir, opt, epoch); err != nil {
		return 0, err
	}
	logs, err := readLog(filepath.Join(cfg.OutDir, logFile))
	if err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	if len(logs) < epoch {
		return 0, fmt.Errorf("resume %s: log has %d epochs, checkpoint %d; use --fresh", cfg.OutDir, len(logs), epoch)
	}
	for _, el := range logs[:epoch] {
		sum.Epochs = append(sum.Epochs, el)
		sum.LastAcc = el.TestAcc
		sum.TrainSeconds += el.TrainSeconds
		if el.TestAcc > sum.BestAcc || sum.BestEpoch == 0 {
			sum.BestAcc, sum.BestEpoch = el.TestAcc, el.Epoch
		}
		for _, th := range []float64{0.9, 0.95, 0.975, 0.98, 0.99} {
			k := strconv.FormatFloat(100*th, 'f', -1, 64)
			if _, ok := sum.FirstEpochAt[k]; !ok && el.TestAcc >= th {
				sum.FirstEpochAt[k] = el.Epoch
			}
		}
	}
	return epoch, nil
}

func readLog(path string) ([]EpochLog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []EpochLog
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var el EpochLog
		if err := dec.Decode(&el); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, el)
	}
	return out, nil
}

func countParams(ps []nn.Named[float32]) int {
	n := 0
	for _, p := range ps {
		if !p.P.Buffer {
			n += p.P.Value.Numel()
		}
	}
	return n
}

// trainEpoch runs one pass over the training set.
func trainEpoch(ctx context.Context, m models.Model[float32], opt nn.Optimizer, ds data.Dataset, tf data.Transform, cfg TrainConfig, epoch int, w io.Writer) (EpochLog, error) {
	nn.SetTraining[float32](m, true)
	defer nn.SetTraining[float32](m, false)
	loader := data.NewLoader(ds, tf, cfg.BatchSize, true, cfg.Seed, false)
	defer loader.Close()
	bar := progress.New(w, int64(ds.Len()), fmt.Sprintf("epoch %d/%d", epoch, cfg.Epochs))
	c, h, wd := ds.Shape()
	var lossSum float64
	var correct, seen int
	start := time.Now()
	var dlogits *tensor.T[float32]
	for b := range loader.Epoch(epoch) {
		if err := ctx.Err(); err != nil {
			return EpochLog{}, fmt.Errorf("epoch %d interrupted (rerun to resume): %w", epoch, err)
		}
		n := len(b.Labels)
		x := tensor.FromData(b.X, n, c, h, wd)
		logits := m.Forward(x)
		var loss float64
		loss, dlogits = nn.CrossEntropyInto(dlogits, logits, b.Labels, cfg.LabelSmoothing)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return EpochLog{}, fmt.Errorf("epoch %d: loss became %v (learning rate %g too high?)", epoch, loss, opt.LR())
		}
		correct += countCorrect(logits, b.Labels)
		opt.ZeroGrad()
		m.Backward(dlogits)
		opt.Step()
		lossSum += loss * float64(n)
		seen += n
		loader.Release(b)
		bar.Add(int64(n), fmt.Sprintf("loss %.4f acc %.2f%% %.0f img/s", lossSum/float64(seen), 100*float64(correct)/float64(seen), float64(seen)/time.Since(start).Seconds()))
	}
	secs := time.Since(start).Seconds()
	el := EpochLog{Epoch: epoch, LR: opt.LR(), TrainLoss: lossSum / float64(max(seen, 1)), TrainAcc: float64(correct) / float64(max(seen, 1)), TrainSeconds: secs, ImagesPerSec: float64(seen) / secs}
	bar.Close() // Pretrain prints the epoch's one line, with its test accuracy
	return el, nil
}

// countCorrect counts rows whose arg-max equals the label.
func countCorrect[F tensor.Float](logits *tensor.T[F], labels []int) int {
	k := logits.Dim(-1)
	n := 0
	for i, y := range labels {
		row := logits.Data[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == y {
			n++
		}
	}
	return n
}

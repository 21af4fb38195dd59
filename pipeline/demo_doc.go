package pipeline

import (
	"fmt"
	"strconv"

	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/report/page"
)

// doc is the demo's page, top to bottom along the pipeline: pretraining, reconstruction,
// what the label wants at a tap, and the post-training grid (its own report embedded).
func (d *demoRun) doc() *page.Doc {
	doc := &page.Doc{Title: "frpt demo: SimpleCNN v2 on MNIST"}
	d.pretrainSection(doc)
	d.reconstructSection(doc)
	d.explainSection(doc)
	g := d.grid.Base
	doc.H(2, "Post-training grid (spec §1.3, §6)")
	doc.P("Taps %v × c_rec %v × seeds 0–%d, %d epochs each (AdamW lr %g, weight decay %g, batch %d); c_rec = 0 is the matched baseline. "+
		"The grid's own page: [grid/report/report.html](grid/report/report.html) (and [report.md](grid/report/report.md)); its runs: [grid/results.jsonl](grid/results.jsonl).",
		d.cfg.Taps, d.cfg.CRecs, len(d.grid.Seeds)-1, g.Epochs, g.LR, g.WD, g.Batch)
	doc.Embed(d.gridDoc, "grid/report", 1)
	return doc
}

func (d *demoRun) pretrainSection(doc *page.Doc) {
	tc, sum := d.train, d.pretrain
	doc.H(2, "Pretraining")
	doc.P("Recipe: %s lr %g, weight decay %g, batch %d, %d epochs, seed %d (the paper's MNIST recipe).",
		tc.Optimizer, tc.LR, tc.WeightDecay, tc.BatchSize, tc.Epochs, tc.Seed)
	items := []string{
		fmt.Sprintf("best test accuracy: **%s** at epoch %d (the paper's checkpoint: 97.71 %%)", report.Pct(sum.BestAcc), sum.BestEpoch),
		"last test accuracy: " + report.Pct(sum.LastAcc),
	}
	if e, ok := sum.FirstEpochAt["97.5"]; ok {
		items = append(items, fmt.Sprintf("first epoch at ≥ 97.5 %%: %d", e))
	}
	items = append(items, fmt.Sprintf("training time: %.1f s (%.0f images/s on average)", sum.TrainSeconds, imagesPerSec(sum)))
	doc.L(items...)
	doc.Img("pretrain_accuracy.png", "train and test accuracy per pretraining epoch")
	t := &page.Table{Caption: "Accuracy at epochs 1, 2, 5, every 10th and the best (all of them: pretrain/log.jsonl)",
		Header: []string{"epoch", "train loss", "train acc", "test acc", "images/s"}, Sortable: true}
	for _, e := range sum.Epochs {
		if e.Epoch > 2 && e.Epoch != 5 && e.Epoch%10 != 0 && e.Epoch != sum.BestEpoch && e.Epoch != len(sum.Epochs) {
			continue
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(e.Epoch), fmt.Sprintf("%.4f", e.TrainLoss), report.Pct(e.TrainAcc), report.Pct(e.TestAcc), fmt.Sprintf("%.0f", e.ImagesPerSec)})
	}
	doc.T(t)
	doc.P("Files: `pretrain/best.safetensors`, `pretrain/last.safetensors` (PyTorch state_dict names), [pretrain/log.jsonl](pretrain/log.jsonl), [pretrain/summary.json](pretrain/summary.json).")
}

func (d *demoRun) reconstructSection(doc *page.Doc) {
	rec := d.rec
	doc.H(2, "Reconstruction (spec §1.2)")
	doc.P("%d training images through the reverse chain (nearest embedding, fft_pad convolutions) in %.1f s: %.0f images/s including writing the %.0f MiB feature cache, %.0f images/s compute only ([cache/reconstruct.json](cache/reconstruct.json)).",
		rec.Samples, rec.Seconds, rec.ImagesPerSec, float64(rec.CacheBytes)/(1<<20), rec.ComputePerS)
	t := report.GapTable(rec.Taps)
	t.Header = append(t.Header, "authors' code (97.9 % ckpt)")
	for i, g := range rec.Taps {
		t.Rows[i] = append(t.Rows[i], paperGaps[g.Tap])
	}
	doc.T(t)
}

func (d *demoRun) explainSection(doc *page.Doc) {
	ex := d.explain
	doc.H(2, "What the label wants at %s (spec §8)", ex.Tap)
	doc.P("The first %d misclassified test samples (of %d scanned) through the label-conditioned reverse chain: D = r − f is how the label would change the feature at tap %s. "+
		"Click a row to see its panel (input; f, r and D per channel; the difference-driven, reconstruction and forward CAMs and the saliency overlaid on the input). "+
		"All of it, with the maps as tensors: [explain/index.html](explain/index.html), [explain/maps.safetensors](explain/maps.safetensors).",
		ex.N, ex.Scanned, ex.Tap)
	t := sampleTable(ex)
	for i := range t.Panels {
		t.Panels[i] = "explain/" + t.Panels[i]
	}
	doc.View(t)
}

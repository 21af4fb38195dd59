package pipeline

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/explain"
	"github.com/frpt/frpt/progress"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/report/page"
	"github.com/frpt/frpt/tensor"
)

// writeExplain writes an explain run's files into the (temporary) folder dir. The
// folder becomes visible only as a whole (atomicfile.WriteDir), so its files are
// written plainly.
func writeExplain(dir string, r *explainRun, sum *ExplainSummary, mp *explain.Maps, faith []explain.FaithSample, w io.Writer) error {
	cfg := r.cfg
	meta := map[string]string{"model": cfg.Model, "dataset": cfg.Dataset, "split": cfg.Split, "weights_sha256": r.sha,
		"embedding": string(cfg.Chain.Embedding), "conv_method": string(cfg.Chain.ConvMethod), "samples": cfg.Samples.String()}
	if err := mp.WriteFile(filepath.Join(dir, "maps.safetensors"), meta); err != nil {
		return err
	}
	if err := writePanels(dir, r, sum, mp, w); err != nil {
		return err
	}
	doc := explainDoc(sum, mp)
	if faith != nil {
		if err := writeFaithFiles(dir, sum.Faithfulness, faith); err != nil {
			return err
		}
		faithSection(doc, sum.Faithfulness)
	}
	if err := WriteJSON(filepath.Join(dir, "explain.json"), sum); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "explain.md"), []byte(doc.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write explain.md: %w", err)
	}
	h, err := doc.HTML()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), h, 0o644); err != nil {
		return fmt.Errorf("write index.html: %w", err)
	}
	return nil
}

// writePanels renders one PNG panel per sample, spread over the cores.
func writePanels(dir string, r *explainRun, sum *ExplainSummary, mp *explain.Maps, w io.Writer) error {
	if err := os.MkdirAll(filepath.Join(dir, "panels"), 0o755); err != nil {
		return err
	}
	norm, err := data.Norm(r.cfg.Dataset)
	if err != nil {
		return err
	}
	raw := rawImages(mp, norm)
	bar := progress.New(w, int64(mp.N()), "panels")
	next := make(chan int)
	errs := make([]error, mp.N())
	var wg sync.WaitGroup
	for range max(tensor.Workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				p := samplePanel(sum, mp, raw, i)
				b, err := report.PanelPNG(p)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, filepath.FromSlash(sum.Records[i].Panel)), b, 0o644)
				}
				errs[i] = err
				bar.Add(1, "")
			}
		}()
	}
	for i := 0; i < mp.N(); i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := joinFirst(errs); err != nil {
		return fmt.Errorf("explain panels: %w", err)
	}
	bar.Finish(fmt.Sprintf("%d panels", mp.N()))
	return nil
}

func joinFirst(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// panelChannels is the most channels a panel shows (the ones D changes most).
const panelChannels = 6

// samplePanel lays out sample i for report.PanelPNG.
func samplePanel(sum *ExplainSummary, mp *explain.Maps, raw []float32, i int) *report.Panel {
	rec := sum.Records[i]
	g, hw, HW := mp.Grid, mp.Grid.H*mp.Grid.W, mp.H*mp.W
	p := &report.Panel{Title: fmt.Sprintf("%s #%d: label %s → predicted %s   (tap %s, %s)", sum.Split, rec.Index,
		className(sum, rec.Label), className(sum, rec.Pred), sum.Tap, g),
		Input: raw[i*mp.C*HW : (i+1)*mp.C*HW], C: mp.C, H: mp.H, W: mp.W, MapH: g.H, MapW: g.W}
	p.Lines = []string{
		"logits o:   " + fmtVec(rec.Logits),
		"target ô:   " + fmtVec(rec.Targets),
		fmt.Sprintf("p(label) = %.3f", rec.PLabel),
		fmt.Sprintf("D = r − f at %s: mean %.4g, mean |D| %.4g, min %.4g, max %.4g", sum.Tap, rec.Mean, rec.MeanAbs, rec.Min, rec.Max),
		fmt.Sprintf("gap ||f − r|| / ||f|| = %.4g", rec.Gap),
	}
	var rows [3][]float64
	for k, src := range [][]float32{mp.Forward, mp.Recons, mp.Diff} {
		rows[k] = g.Channels(nil, src[i*g.Size():(i+1)*g.Size()])
	}
	chans := make([]int, g.C)
	for c := range chans {
		chans[c] = c
	}
	if !g.Vector && g.C > panelChannels {
		score := func(c int) float64 {
			s := 0.0
			for _, v := range rows[2][c*hw : (c+1)*hw] {
				s += v
			}
			return math.Abs(s)
		}
		slices.SortStableFunc(chans, func(a, b int) int { return -cmp.Compare(score(a), score(b)) })
		chans = chans[:panelChannels]
		slices.Sort(chans)
	}
	for _, c := range chans {
		p.Names = append(p.Names, "channel "+strconv.Itoa(c))
		for k := range rows {
			m := make([]float32, hw)
			for q, v := range rows[k][c*hw : (c+1)*hw] {
				m[q] = float32(v)
			}
			p.Rows[k] = append(p.Rows[k], m)
		}
	}
	sal := func(s int) []float32 {
		m := append([]float32(nil), mp.Saliency[s][i*HW:(i+1)*HW]...)
		var buf []float64
		explainNormalize(buf, m)
		return m
	}
	if g.Spatial() {
		for s, name := range []string{"difference CAM", "reconstruction CAM", "forward CAM"} {
			p.Overlays = append(p.Overlays, mp.CAMUp[s][i*HW:(i+1)*HW])
			p.OverlayNames = append(p.OverlayNames, name)
		}
		p.Overlays = append(p.Overlays, sal(explain.MapDiff))
		p.OverlayNames = append(p.OverlayNames, "saliency of D_label")
	} else {
		for s, name := range []string{"saliency of D_label", "saliency of ô_label", "saliency of o_pred"} {
			p.Overlays = append(p.Overlays, sal(s))
			p.OverlayNames = append(p.OverlayNames, name)
		}
	}
	return p
}

// explainNormalize min–max normalises a float32 map in place.
func explainNormalize(buf []float64, m []float32) {
	buf = slices.Grow(buf[:0], len(m))[:len(m)]
	for q, v := range m {
		buf[q] = float64(v)
	}
	explain.MinMax(buf)
	for q, v := range buf {
		m[q] = float32(v)
	}
}

// fmtVec prints a logit vector (index:value beyond 10 classes, the 10 largest).
func fmtVec(v []float32) string {
	if len(v) <= 10 {
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = strconv.FormatFloat(float64(x), 'f', 2, 32)
		}
		return strings.Join(parts, "  ")
	}
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return -cmp.Compare(float64(v[a]), float64(v[b])) })
	parts := []string{}
	for _, i := range idx[:10] {
		parts = append(parts, fmt.Sprintf("%d:%.2f", i, v[i]))
	}
	return strings.Join(parts, " ") + " …"
}

func className(sum *ExplainSummary, k int) string {
	if k < len(sum.ClassNames) && sum.ClassNames[k] != "" && sum.ClassNames[k] != strconv.Itoa(k) {
		return fmt.Sprintf("%d (%s)", k, sum.ClassNames[k])
	}
	return strconv.Itoa(k)
}

func softmaxAt(logits []float32, k int) float64 {
	top := float64(slices.Max(logits))
	s := 0.0
	for _, v := range logits {
		s += math.Exp(float64(v) - top)
	}
	return math.Exp(float64(logits[k])-top) / s
}

// explainDoc is the explain page (index.html) and explain.md: the run, the files and a
// sortable table of the samples whose rows open their panels.
func explainDoc(sum *ExplainSummary, mp *explain.Maps) *page.Doc {
	d := &page.Doc{Title: fmt.Sprintf("frpt explain: %s on %s (%s split), tap %s", sum.Model, sum.Dataset, sum.Split, sum.Tap)}
	sel := "`" + sum.Samples + "`"
	if sum.Class != nil {
		sel += fmt.Sprintf(" of class %s", className(sum, *sum.Class))
	}
	scanned := ""
	if sum.Scanned > 0 {
		scanned = fmt.Sprintf(" among the first %d samples predicted", sum.Scanned)
	}
	d.P("Weights `%s` (SHA-256 %s…). Samples %s: **%d** (%d misclassified%s). Reverse chain: %s embedding, %s convolutions (the options of `frpt reconstruct`). Tap %s, shape %v, read as %s.",
		sum.Weights, sum.WeightsSHA256[:min(12, len(sum.WeightsSHA256))], sel, sum.N, sum.Misclassified, scanned, sum.Embedding, sum.ConvMethod, sum.Tap, sum.TapShape, sum.Grid)
	d.P("Files: [maps.safetensors](maps.safetensors) (index, label, pred, input, forward, recons, diff, cam_diff/recons/forward at the feature grid and *_up at the input size%s), [explain.json](explain.json) (the statistics, logits and output targets below), one PNG panel per sample in `panels/`.",
		map[bool]string{true: ", saliency_diff/recons/forward", false: ""}[sum.Tap == "out"])
	d.P("Each panel shows the input, the forward feature f, the label-conditioned reconstruction r and D = r − f channel by channel (blue–red, centred at 0; f and r share one scale), and the maps overlaid on the input (jet, alpha 0.55): the difference-driven CAM (w_c = mean D_c, ReLU(Σ w_c f_c)), the reconstruction and forward CAMs (w_c = mean r_c or f_c, Σ w_c r_c or f_c), and the saliency max_channel |∂D_label/∂x|; for a tap without spatial extent, the three saliency maps of s = D_label, ô_label and o_pred.")
	d.H(2, "Samples")
	d.P("Click a row to see its panel, ← and → page through the rows in their current order, and a column heading sorts by it.")
	d.View(sampleTable(sum))
	return d
}

// sampleTable is the table of an explain run's samples, one row per sample with its
// statistics of D; each row's panel is relative to the explain folder.
func sampleTable(sum *ExplainSummary) *page.Table {
	t := &page.Table{Header: []string{"sample", "label → pred", "p(label)", "mean D", "mean |D|", "min D", "max D", "gap ||f−r||/||f||"}}
	for _, r := range sum.Records {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("%s #%d", sum.Split, r.Index), className(sum, r.Label) + " → " + className(sum, r.Pred),
			fmt.Sprintf("%.3f", r.PLabel), fmtG(r.Mean), fmtG(r.MeanAbs), fmtG(r.Min), fmtG(r.Max), fmtG(r.Gap)})
		t.Panels = append(t.Panels, r.Panel)
	}
	return t
}

func fmtG(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

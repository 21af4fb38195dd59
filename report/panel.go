package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	gpalette "gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Panel is one explained sample as a picture: the input, the forward feature, its
// label-conditioned reconstruction and their difference channel by channel (diverging
// colormap centred at 0: forward and reconstruction share one symmetric scale, the
// difference has its own, each with a colour bar), the saliency overlays on the grey
// input (jet, alpha 0.55, with a colour bar) and text lines beside the input.
type Panel struct {
	Title string
	Lines []string // printed beside the input (label, prediction, logits, statistics)
	// Input is the raw image [C, H, W] with values in [0, 1] (shown grey: mean over channels).
	Input   []float32
	C, H, W int
	// Feature maps: Names[k] and Rows[r][k] (r = forward, recons, diff) of MapH×MapW
	// values each. For a feature without spatial extent (MapH = MapW = 1) the three rows
	// are drawn as curves over the channel index instead.
	Names      []string
	Rows       [3][][]float32
	MapH, MapW int
	// Overlays are maps [H·W] in [0, 1] drawn over the grey input.
	Overlays     [][]float32
	OverlayNames []string
}

// RowNames label the feature rows of a panel.
var RowNames = [3]string{"forward f", "reconstruction r", "D = r − f"}

// Panel geometry in pixels (the canvas runs at 72 dpi: one point is one pixel).
const (
	panelTile   = 84 // edge of an input-sized tile (overlays)
	panelFeat   = 72 // edge of a feature-map tile
	panelGap    = 6
	panelLabelW = 92 // row labels
	panelBarW   = 44 // colour bar strip with its labels
	panelStripW = 12
	panelTitleH = 22
	panelTextW  = 450
	panelRowH   = panelFeat + panelGap + 12
)

// jetMap is matplotlib's "jet" (piecewise-linear blue → cyan → yellow → red) as a
// palette.ColorMap on [Min, Max].
type jetMap struct{ lo, hi float64 }

func jet(v float64) color.RGBA {
	v = min(max(v, 0), 1)
	ch := func(x float64) uint8 { return uint8(255*min(max(1.5-math.Abs(4*v-x), 0), 1) + 0.5) }
	return color.RGBA{ch(3), ch(2), ch(1), 255}
}

func (j *jetMap) At(v float64) (color.Color, error) {
	if v < j.lo || v > j.hi {
		return nil, gpalette.ErrOverflow
	}
	return jet((v - j.lo) / (j.hi - j.lo)), nil
}
func (j *jetMap) Max() float64                   { return j.hi }
func (j *jetMap) Min() float64                   { return j.lo }
func (j *jetMap) SetMax(v float64)               { j.hi = v }
func (j *jetMap) SetMin(v float64)               { j.lo = v }
func (j *jetMap) Alpha() float64                 { return 1 }
func (j *jetMap) SetAlpha(float64)               {}
func (j *jetMap) Palette(n int) gpalette.Palette { return jetPalette(n) }

// jetPalette is n evenly spaced jet colours.
type jetPalette int

func (n jetPalette) Colors() []color.Color {
	cs := make([]color.Color, n)
	for i := range cs {
		cs[i] = jet(float64(i) / math.Max(float64(n)-1, 1))
	}
	return cs
}

// divergingLUT is Moreland's smooth blue–red diverging map sampled at 256 levels over
// [−1, 1].
var divergingLUT = func() []color.RGBA {
	m := moreland.SmoothBlueRed()
	m.SetMin(-1)
	m.SetMax(1)
	lut := make([]color.RGBA, 256)
	for i := range lut {
		c, err := m.At(-1 + 2*float64(i)/255)
		if err != nil {
			panic(err)
		}
		r, g, b, _ := c.RGBA()
		lut[i] = color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}
	}
	return lut
}()

func diverging(v, scale float64) color.RGBA {
	if scale <= 0 {
		return divergingLUT[128]
	}
	t := min(max(v/scale, -1), 1)
	return divergingLUT[int(math.Round((t+1)*127.5))]
}

// PanelPNG renders p as PNG bytes.
func PanelPNG(p *Panel) ([]byte, error) {
	if len(p.Input) != p.C*p.H*p.W {
		return nil, fmt.Errorf("panel %q: input of %d values for %d×%d×%d", p.Title, len(p.Input), p.C, p.H, p.W)
	}
	vector := p.MapH*p.MapW == 1
	k := len(p.Names)
	width := max(panelLabelW+k*(panelFeat+panelGap)+panelBarW, panelLabelW+len(p.Overlays)*(panelTile+panelGap)+panelBarW,
		panelTile+2*panelGap+panelTextW)
	featH := 3 * panelRowH
	if vector {
		featH = 2*panelTile + 40
	}
	height := panelTitleH + panelTile + 2*panelGap + featH + panelTile + 14 + panelGap
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	img, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("panel: canvas image is %T, not *image.RGBA", c.Image())
	}
	dc := draw.New(c)
	title, small := textStyle(12), textStyle(10)
	// y runs down from the top in pixels; text positions convert to the canvas's points.
	put := func(sty text.Style, x, y int, s string) {
		dc.FillText(sty, vg.Point{X: vg.Length(x), Y: vg.Length(height - y)}, s)
	}
	put(title, panelGap, 16, p.Title)
	y := panelTitleH
	grey := greyImage(p)
	blit(img, grey, p.W, p.H, panelGap, y, panelTile, greyColor)
	for i, line := range p.Lines {
		put(small, panelTile+2*panelGap, y+12+14*i, line)
	}
	y += panelTile + 2*panelGap
	if vector {
		if err := drawVectorRows(dc, p, height, y, width, featH); err != nil {
			return nil, err
		}
		y += featH
	} else {
		var fr, dm float64
		for r, rows := range p.Rows {
			for _, m := range rows {
				for _, v := range m {
					if r == 2 {
						dm = max(dm, math.Abs(float64(v)))
					} else {
						fr = max(fr, math.Abs(float64(v)))
					}
				}
			}
		}
		barX := panelLabelW + k*(panelFeat+panelGap)
		for r, rows := range p.Rows {
			put(small, panelGap, y+12+panelFeat/2, RowNames[r])
			scale := fr
			if r == 2 {
				scale = dm
			}
			for j, m := range rows {
				x := panelLabelW + j*(panelFeat+panelGap)
				if r == 0 {
					put(small, x, y+10, p.Names[j])
				}
				blit(img, m, p.MapW, p.MapH, x, y+12, panelFeat, func(v float64) color.RGBA { return diverging(v, scale) })
			}
			switch r { // one bar for forward and reconstruction (beside both rows), one for D
			case 0:
				colorBar(img, put, small, divergingStrip, barX, y+12, 2*panelFeat+panelRowH-panelFeat, scale, true)
			case 2:
				colorBar(img, put, small, divergingStrip, barX, y+12, panelFeat, scale, true)
			}
			y += panelRowH
		}
	}
	for j, ov := range p.Overlays {
		x := panelLabelW + j*(panelTile+panelGap)
		put(small, x, y+10, p.OverlayNames[j])
		blit(img, overlay(grey, ov), p.W, p.H, x, y+14, panelTile, nil)
	}
	if len(p.Overlays) > 0 {
		put(small, panelGap, y+14+panelTile/2, "maps on input")
		colorBar(img, put, small, jetStrip, panelLabelW+len(p.Overlays)*(panelTile+panelGap), y+14, panelTile, 1, false)
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("panel %q: %w", p.Title, err)
	}
	return buf.Bytes(), nil
}

func greyColor(v float64) color.RGBA {
	g := uint8(255*min(max(v, 0), 1) + 0.5)
	return color.RGBA{g, g, g, 255}
}

// The colour bar strips, drawn once by gonum's plotter.ColorBar (bottom = the colour
// map's minimum) and copied into every panel.
var (
	divergingStrip = colorStrip(func() gpalette.ColorMap {
		m := moreland.SmoothBlueRed()
		m.SetMin(-1)
		m.SetMax(1)
		return m
	}())
	jetStrip = colorStrip(&jetMap{0, 1})
)

const stripH = 256

func colorStrip(cm gpalette.ColorMap) *image.RGBA {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(panelStripW), vg.Length(stripH)), vgimg.UseDPI(72))
	p := plot.New()
	p.HideAxes()
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true, Colors: stripH})
	p.Draw(draw.New(c))
	return c.Image().(*image.RGBA)
}

// colorBar copies a strip into img at (x, y) with height h and labels its ends and
// middle: ±scale and 0 for a diverging map, 0, scale/2 and scale otherwise.
func colorBar(img *image.RGBA, put func(text.Style, int, int, string), sty text.Style, strip *image.RGBA, x, y, h int, scale float64, symmetric bool) {
	for yy := 0; yy < h; yy++ {
		sy := (h - 1 - yy) * (stripH - 1) / max(h-1, 1) // top of the bar = top of the strip
		src := strip.Pix[(stripH-1-sy)*strip.Stride : (stripH-1-sy)*strip.Stride+4*panelStripW]
		copy(img.Pix[(y+yy)*img.Stride+4*x:], src)
	}
	lo, mid := 0.0, scale/2
	if symmetric {
		lo, mid = -scale, 0
	}
	lx := x + panelStripW + 3
	put(sty, lx, y+8, tick(scale))
	put(sty, lx, y+h/2+4, tick(mid))
	put(sty, lx, y+h, tick(lo))
}

func tick(v float64) string {
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

// greyImage is the panel's input as one grey channel (mean over channels).
func greyImage(p *Panel) []float32 {
	hw := p.H * p.W
	g := make([]float32, hw)
	for ch := 0; ch < p.C; ch++ {
		for i, v := range p.Input[ch*hw : (ch+1)*hw] {
			g[i] += v / float32(p.C)
		}
	}
	return g
}

// rgbaMap is a map already coloured, for blit with a nil colour function.
type rgbaMap []color.RGBA

// overlay blends jet(m) over the grey image with alpha 0.55.
func overlay(grey, m []float32) rgbaMap {
	out := make(rgbaMap, len(grey))
	for i, g := range grey {
		j := jet(float64(m[i]))
		gv := 255 * float64(min(max(g, 0), 1))
		mix := func(c uint8) uint8 { return uint8(0.55*float64(c) + 0.45*gv + 0.5) }
		out[i] = color.RGBA{mix(j.R), mix(j.G), mix(j.B), 255}
	}
	return out
}

// blit draws a w×h map (float32 values through col, or an rgbaMap) into img at (x0, y0),
// scaled by the largest whole factor that fits a tile×tile square (nearest neighbour),
// centred in it.
func blit(img *image.RGBA, m any, w, h, x0, y0, tile int, col func(float64) color.RGBA) {
	s := max(tile/max(w, h), 1)
	ox, oy := x0+(tile-s*w)/2, y0+(tile-s*h)/2
	row := make([]byte, 4*w*s)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c color.RGBA
			switch v := m.(type) {
			case []float32:
				c = col(float64(v[y*w+x]))
			case rgbaMap:
				c = v[y*w+x]
			}
			for k := 0; k < s; k++ {
				o := 4 * (x*s + k)
				row[o], row[o+1], row[o+2], row[o+3] = c.R, c.G, c.B, c.A
			}
		}
		for k := 0; k < s; k++ {
			copy(img.Pix[(oy+y*s+k)*img.Stride+4*ox:], row)
		}
	}
}

// drawVectorRows draws forward and reconstruction over the channel index, and the
// difference below, for features without spatial extent.
func drawVectorRows(dc draw.Canvas, p *Panel, height, y, width, h int) error {
	mk := func(title string, rows ...int) (*plot.Plot, error) {
		pl := plot.New()
		pl.Title.Text = title
		pl.Title.TextStyle.Font.Size = 10
		pl.X.Label.Text = "channel"
		pl.X.Tick.Label.Font.Size = 8
		pl.Y.Tick.Label.Font.Size = 8
		pl.X.Label.TextStyle.Font.Size = 9
		for i, r := range rows {
			pts := make(plotter.XYs, len(p.Rows[r]))
			for c, v := range p.Rows[r] {
				pts[c] = plotter.XY{X: float64(c), Y: float64(v[0])}
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			l.Color = paletteColor(i)
			pl.Add(l)
			pl.Legend.Add(RowNames[r], l)
		}
		pl.Legend.Top = true
		pl.Legend.TextStyle.Font.Size = 8
		return pl, nil
	}
	a, err := mk("forward and reconstruction", 0, 1)
	if err != nil {
		return err
	}
	b, err := mk("difference D = r − f", 2)
	if err != nil {
		return err
	}
	half := (width - 3*panelGap) / 2
	for i, pl := range []*plot.Plot{a, b} {
		x := panelGap + i*(half+panelGap)
		pl.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: vg.Length(x), Y: vg.Length(height - y - h + 10)},
			Max: vg.Point{X: vg.Length(x + half), Y: vg.Length(height - y)}}})
	}
	return nil
}

// Package page is the document model behind frpt's reports: a title and a sequence of
// blocks (headings, paragraphs, lists, tables, images, preformatted text, a panel
// viewer) rendered both as Markdown and as one self-contained HTML page (html/template;
// inline CSS and script, images referenced by relative paths beside the page, no
// network fetches). The run report, the demo report and the explain page are built as a
// Doc once and written in both forms, so the two never disagree.
//
// Text in paragraphs, list items and table cells may use three inline Markdown forms,
// which the HTML page renders too: **bold**, `code` and [text](relative/link).
package page

import (
	"fmt"
	"path"
	"strings"
)

// Doc is one report.
type Doc struct {
	Title  string
	Blocks []Block
}

// Block is one element of a Doc; exactly one of its content fields is used, by Kind.
type Block struct {
	Kind  Kind
	Level int      // heading level (2 = ##)
	Text  string   // heading, paragraph or preformatted text
	Items []string // list items
	Table *Table
	Image *Image
	// Viewer: a panel viewer whose pictures are the Panel column of the table of the
	// same Block (rows of a sortable table open their panel; arrow keys page through).
}

// Kind names a Block's form.
type Kind string

// The block kinds.
const (
	Heading   Kind = "h"
	Paragraph Kind = "p"
	List      Kind = "ul"
	TableKind Kind = "table"
	ImageKind Kind = "img"
	Pre       Kind = "pre"
	Viewer    Kind = "viewer"
)

// Table is a table of text cells. Sortable tables can be ordered by any column in the
// HTML page (numerically where every cell of the column reads as a number). Panels, if
// set, gives one picture per row: the rows then open it in the page's viewer (the
// Markdown form links each row's first cell to it).
type Table struct {
	Caption  string
	Header   []string
	Rows     [][]string
	Sortable bool
	Panels   []string
}

// Image is a picture beside the page (a relative path) with its alternative text.
type Image struct {
	Src, Alt string
	Width    int // display width in pixels (0: natural)
}

// H appends a heading.
func (d *Doc) H(level int, format string, args ...any) {
	d.Blocks = append(d.Blocks, Block{Kind: Heading, Level: level, Text: fmt.Sprintf(format, args...)})
}

// P appends a paragraph.
func (d *Doc) P(format string, args ...any) {
	d.Blocks = append(d.Blocks, Block{Kind: Paragraph, Text: fmt.Sprintf(format, args...)})
}

// L appends a bulleted list.
func (d *Doc) L(items ...string) { d.Blocks = append(d.Blocks, Block{Kind: List, Items: items}) }

// T appends a table.
func (d *Doc) T(t *Table) { d.Blocks = append(d.Blocks, Block{Kind: TableKind, Table: t}) }

// Img appends an image.
func (d *Doc) Img(src, alt string) {
	d.Blocks = append(d.Blocks, Block{Kind: ImageKind, Image: &Image{Src: src, Alt: alt}})
}

// Code appends preformatted text.
func (d *Doc) Code(text string) { d.Blocks = append(d.Blocks, Block{Kind: Pre, Text: text}) }

// View appends a panel viewer for the sortable table t (appended too): clicking a row
// shows its panel; ← and → page through the rows in their current order.
func (d *Doc) View(t *Table) {
	t.Sortable = true
	d.Blocks = append(d.Blocks, Block{Kind: Viewer, Table: t})
}

// Markdown renders the Doc as Markdown.
func (d *Doc) Markdown() string {
	var b strings.Builder
	if d.Title != "" {
		b.WriteString("# " + d.Title + "\n\n")
	}
	for _, bl := range d.Blocks {
		switch bl.Kind {
		case Heading:
			b.WriteString(strings.Repeat("#", max(bl.Level, 1)) + " " + bl.Text + "\n\n")
		case Paragraph:
			b.WriteString(bl.Text + "\n\n")
		case List:
			for _, it := range bl.Items {
				b.WriteString("- " + it + "\n")
			}
			b.WriteString("\n")
		case TableKind, Viewer:
			t := bl.Table
			if t.Caption != "" {
				b.WriteString("**" + t.Caption + "**\n\n")
			}
			rows := t.Rows
			if len(t.Panels) == len(rows) {
				rows = make([][]string, len(t.Rows))
				for i, r := range t.Rows {
					rows[i] = append([]string{"[" + r[0] + "](" + t.Panels[i] + ")"}, r[1:]...)
				}
			}
			b.WriteString(MarkdownTable(t.Header, rows) + "\n")
		case ImageKind:
			fmt.Fprintf(&b, "![%s](%s)\n\n", bl.Image.Alt, bl.Image.Src)
		case Pre:
			b.WriteString("```\n" + strings.TrimRight(bl.Text, "\n") + "\n```\n\n")
		}
	}
	return b.String()
}

// MarkdownTable renders a Markdown table; rows shorter than the header are padded.
func MarkdownTable(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		cells := make([]string, len(header))
		copy(cells, r)
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", "\\|")
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	return b.String()
}

// Embed appends the blocks of sub, a Doc written in the folder dir relative to d's own
// (the grid report inside the demo, for instance): images, panels and relative links are
// rewritten to be relative to d, and headings move down by shift levels. sub is unchanged.
func (d *Doc) Embed(sub *Doc, dir string, shift int) {
	rel := func(p string) string {
		if p == "" || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "#") || strings.Contains(p, ":") {
			return p
		}
		return path.Join(dir, p)
	}
	text := func(s string) string {
		return linkRE.ReplaceAllStringFunc(s, func(m string) string {
			g := linkRE.FindStringSubmatch(m)
			return "[" + g[1] + "](" + rel(g[2]) + ")"
		})
	}
	cells := func(rows [][]string) [][]string {
		out := make([][]string, len(rows))
		for i, r := range rows {
			out[i] = make([]string, len(r))
			for j, c := range r {
				out[i][j] = text(c)
			}
		}
		return out
	}
	for _, b := range sub.Blocks {
		b.Text = text(b.Text)
		if b.Kind == Heading {
			b.Level += shift
		}
		if b.Items != nil {
			items := make([]string, len(b.Items))
			for i, it := range b.Items {
				items[i] = text(it)
			}
			b.Items = items
		}
		if b.Image != nil {
			im := *b.Image
			im.Src = rel(im.Src)
			b.Image = &im
		}
		if b.Table != nil {
			t := *b.Table
			t.Caption, t.Rows = text(t.Caption), cells(t.Rows)
			t.Panels = make([]string, len(b.Table.Panels))
			for i, p := range b.Table.Panels {
				t.Panels[i] = rel(p)
			}
			if b.Table.Panels == nil {
				t.Panels = nil
			}
			b.Table = &t
		}
		d.Blocks = append(d.Blocks, b)
	}
}

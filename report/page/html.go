package page

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"regexp"
	"strings"
)

// HTML renders the Doc as one self-contained page: inline style and script, images by
// their relative paths, nothing fetched from the network.
func (d *Doc) HTML() ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("page %q: %w", d.Title, err)
	}
	return buf.Bytes(), nil
}

var (
	boldRE = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	codeRE = regexp.MustCompile("`([^`]+)`")
	linkRE = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// inline renders the inline Markdown of a text (**bold**, `code`, [text](link)) as
// escaped HTML. Links to javascript: are dropped to their text.
func inline(s string) template.HTML {
	e := html.EscapeString(s)
	e = codeRE.ReplaceAllString(e, "<code>$1</code>")
	e = boldRE.ReplaceAllString(e, "<strong>$1</strong>")
	e = linkRE.ReplaceAllStringFunc(e, func(m string) string {
		p := linkRE.FindStringSubmatch(m)
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p[2])), "javascript:") {
			return p[1]
		}
		return `<a href="` + p[2] + `">` + p[1] + `</a>`
	})
	return template.HTML(e)
}

// firstPanel is the picture a viewer shows before any row is chosen.
func firstPanel(t *Table) string {
	if t == nil || len(t.Panels) == 0 {
		return ""
	}
	return t.Panels[0]
}

func heading(level int, text string) template.HTML {
	level = min(max(level, 2), 6)
	return template.HTML(fmt.Sprintf("<h%d>%s</h%d>", level, inline(text), level))
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"inline": inline, "heading": heading, "firstPanel": firstPanel,
	"panel": func(t *Table, i int) string {
		if i < len(t.Panels) {
			return t.Panels[i]
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th.asc::after { content: " \25B2"; } table.sortable th.desc::after { content: " \25BC"; }
tr.panel-row { cursor: pointer; } tr.panel-row:hover { background: #eef5ff; } tr.current { background: #d8e8ff; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.3em; }
.viewer { display: flex; gap: 1.2em; align-items: flex-start; }
.viewer .rows { max-height: 85vh; overflow-y: auto; flex: 0 0 auto; }
.viewer figure { position: sticky; top: 0.5em; margin: 0; flex: 1 1 auto; min-width: 420px; }
.viewer figcaption { font-size: 0.9em; margin: 0.3em 0; }
.viewer button { margin-right: 0.5em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range $bi, $b := .Blocks}}{{if eq $b.Kind "h"}}{{heading $b.Level $b.Text}}
{{else if eq $b.Kind "p"}}<p>{{inline $b.Text}}</p>
{{else if eq $b.Kind "ul"}}<ul>{{range $b.Items}}<li>{{inline .}}</li>{{end}}</ul>
{{else if eq $b.Kind "pre"}}<pre>{{$b.Text}}</pre>
{{else if eq $b.Kind "img"}}<p><img src="{{$b.Image.Src}}" alt="{{$b.Image.Alt}}"{{if $b.Image.Width}} width="{{$b.Image.Width}}"{{end}}></p>
{{else if eq $b.Kind "table"}}{{template "table" $b.Table}}
{{else if eq $b.Kind "viewer"}}<div class="viewer">
<div class="rows">{{template "table" $b.Table}}</div>
<figure><div><button type="button" class="prev">← previous</button><button type="button" class="next">next →</button></div>
<figcaption>{{with $b.Table.Rows}}{{index (index . 0) 0}}{{end}}</figcaption>
<img class="shown" src="{{firstPanel $b.Table}}" alt="panel of the selected sample"></figure>
</div>
{{end}}{{end}}
<script>
"use strict";
(function () {
  function cellValue(row, col) {
    var c = row.children[col];
    return c ? c.textContent.trim() : "";
  }
  function asNumber(s) {
    var t = s.replace(/[%\s]/g, "").replace("\u2212", "-");
    if (t === "" || t === "\u2013" || t === "-") return NaN;
    return Number(t);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = rows.every(function (r) { var v = cellValue(r, col); return v === "\u2013" || !isNaN(asNumber(v)); });
        var asc = !th.classList.contains("asc");
        heads.forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        rows.sort(function (a, b) {
          var x = cellValue(a, col), y = cellValue(b, col), d;
          if (numeric) {
            var nx = asNumber(x), ny = asNumber(y);
            if (isNaN(nx)) nx = -Infinity;
            if (isNaN(ny)) ny = -Infinity;
            d = nx === ny ? 0 : (nx < ny ? -1 : 1);
          } else {
            d = x.localeCompare(y);
          }
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll(".viewer").forEach(function (v) {
    var img = v.querySelector("img.shown"), cap = v.querySelector("figcaption");
    var body = v.querySelector("tbody");
    function show(row) {
      if (!row) return;
      body.querySelectorAll("tr.current").forEach(function (r) { r.classList.remove("current"); });
      row.classList.add("current");
      img.src = row.getAttribute("data-panel");
      cap.textContent = cellValue(row, 0);
      row.scrollIntoView({ block: "nearest" });
    }
    function step(d) {
      var cur = body.querySelector("tr.current") || body.rows[0];
      show(d > 0 ? cur.nextElementSibling || cur : cur.previousElementSibling || cur);
    }
    body.querySelectorAll("tr[data-panel]").forEach(function (row) {
      row.addEventListener("click", function () { show(row); });
    });
    v.querySelector("button.prev").addEventListener("click", function () { step(-1); });
    v.querySelector("button.next").addEventListener("click", function () { step(1); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight" || e.key === "ArrowDown") { step(1); e.preventDefault(); }
      if (e.key === "ArrowLeft" || e.key === "ArrowUp") { step(-1); e.preventDefault(); }
    });
    if (body.rows.length > 0) body.rows[0].classList.add("current");
  });
})();
</script>
</body>
</html>
{{define "table"}}<table{{if .Sortable}} class="sortable"{{end}}>{{if .Caption}}<caption>{{inline .Caption}}</caption>{{end}}
<thead><tr>{{range .Header}}<th>{{inline .}}</th>{{end}}</tr></thead>
<tbody>
{{$t := .}}{{range $i, $r := .Rows}}<tr{{with panel $t $i}} class="panel-row" data-panel="{{.}}"{{end}}>{{range $r}}<td>{{inline .}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
`))

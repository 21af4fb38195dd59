package report

import (
	"fmt"
	"strings"
)

// Table renders a Markdown table; rows shorter than the header are padded.
func Table(header []string, rows [][]string) string {
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

// Pct formats a fraction as a percentage with two decimals.
func Pct(x float64) string { return fmt.Sprintf("%.2f %%", 100*x) }

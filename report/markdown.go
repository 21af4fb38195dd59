package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"

	"github.com/frpt/frpt/report/page"
)

// Table renders a Markdown table; rows shorter than the header are padded.
func Table(header []string, rows [][]string) string { return page.MarkdownTable(header, rows) }

// Pct formats a fraction as a percentage with two decimals, and NaN (an unknown value)
// as "–".
func Pct(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f %%", 100*x)
}

// WriteCSV writes rows (the header first) as a CSV file, atomically.
func WriteCSV(path string, rows [][]string) error {
	b, err := csvBytes(rows)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// csvBytes encodes rows as CSV.
func csvBytes(rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	if err := csv.NewWriter(&buf).WriteAll(rows); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

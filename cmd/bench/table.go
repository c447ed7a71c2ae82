package main

import (
	"fmt"
	"io"
	"strings"
)

// row is one line of the results table.
type row struct {
	measure, ours, baseline, ratio, target, status string
}

// verdict renders a target check.
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

// info marks rows without a target.
const info = "—"

// table is the whole result: rows and the notes printed under them.
type table struct {
	rows  []row
	notes []string
}

func (t *table) add(r row) { t.rows = append(t.rows, r) }

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// writeMarkdown writes the table as GitHub-flavoured markdown, then the
// notes as a list.
func (t *table) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| measure | ours | baseline | ratio | target | status |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, r := range t.rows {
		cells := []string{r.measure, r.ours, r.baseline, r.ratio, r.target, r.status}
		for i, c := range cells {
			cells[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.notes {
			b.WriteString("- " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/grafana/alloy/syntax/ast"
	"github.com/grafana/alloy/syntax/diag"
	"github.com/grafana/alloy/syntax/parser"
	"github.com/grafana/alloy/syntax/printer"
)

// checkAlloy parses an Alloy configuration with Alloy's own parser and prints it back with Alloy's
// printer: a file is formatted when it equals that output plus a final newline, the comparison
// `alloy fmt --test` makes. Only the language is checked: which components exist and which
// arguments they take live in Alloy's component registry, which cannot be built here.
func checkAlloy(name string, data []byte) (string, []string) {
	file, err := parser.ParseFile(name, data)
	if err != nil {
		var diags diag.Diagnostics
		if !errors.As(err, &diags) {
			return "", []string{err.Error()}
		}
		problems := make([]string, 0, len(diags))
		for _, d := range diags {
			problems = append(problems, fmt.Sprintf("%d:%d: %s", d.StartPos.Line, d.StartPos.Column, d.Message))
		}
		return "", problems
	}
	var formatted bytes.Buffer
	if err := printer.Fprint(&formatted, file); err != nil {
		return "", []string{fmt.Sprintf("alloy printer: %v", err)}
	}
	formatted.WriteByte('\n')
	if problem := firstDifference(data, formatted.Bytes()); problem != "" {
		return "", []string{problem}
	}
	var blocks []string
	for _, stmt := range file.Body {
		if b, ok := stmt.(*ast.BlockStmt); ok {
			blocks = append(blocks, strings.TrimSuffix(strings.Join(b.Name, ".")+"."+b.Label, "."))
		}
	}
	return fmt.Sprintf("%d blocks (%s), formatted as alloy fmt formats it (github.com/grafana/alloy/syntax %s)",
		len(blocks), strings.Join(blocks, ", "), moduleVersion("github.com/grafana/alloy/syntax")), nil
}

// firstDifference names the first line where have differs from the printer's want, or "".
func firstDifference(have, want []byte) string {
	if bytes.Equal(have, want) {
		return ""
	}
	haveLines := strings.Split(string(have), "\n")
	wantLines := strings.Split(string(want), "\n")
	for i := 0; i < len(haveLines) || i < len(wantLines); i++ {
		var h, w string
		if i < len(haveLines) {
			h = haveLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if h != w || i >= len(haveLines) || i >= len(wantLines) {
			col := 0
			for col < len(h) && col < len(w) && h[col] == w[col] {
				col++
			}
			return fmt.Sprintf("%d:%d: not formatted as 'alloy fmt' formats it: the line is %q, alloy fmt writes %q",
				i+1, col+1, h, w)
		}
	}
	return "not formatted as 'alloy fmt' formats it"
}

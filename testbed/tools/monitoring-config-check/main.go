// Command monitoring-config-check validates what the project ships for Grafana and Alloy, which
// cannot run here (Grafana and Loki are under the AGPL; Alloy's binary depends on Loki).
//
//	monitoring-config-check dashboard FILE...   classic dashboard JSON (what the Grafana sidecar loads)
//	monitoring-config-check alloy FILE...       Alloy configuration (the Helm chart's configMap.content)
//
// FILE may be "-" for standard input. Every problem is printed on its own line as
// "FILE: WHERE: WHAT" (WHERE is a JSON path for a dashboard, LINE:COLUMN for Alloy), and the
// exit status is 1 when any file has a problem, 2 on a usage error or an unreadable file.
//
// The dashboard is decoded with the Grafana Foundation SDK's strict decoder (the schema Grafana
// publishes for dashboards, panels, queries and field configs); the Alloy configuration is parsed
// and printed with Alloy's own syntax module, as `alloy fmt --test` does.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

const usage = `usage: monitoring-config-check dashboard|alloy FILE...
  dashboard   decode Grafana dashboard JSON strictly against the Grafana Foundation SDK schema
  alloy       parse an Alloy configuration and check it is formatted as 'alloy fmt' formats it
  FILE may be - for standard input`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var check func(name string, data []byte) (summary string, problems []string)
	switch args[0] {
	case "dashboard":
		check = checkDashboard
	case "alloy":
		check = checkAlloy
	default:
		fmt.Fprintf(stderr, "unknown mode %q\n%s\n", args[0], usage)
		return 2
	}
	status := 0
	for _, name := range args[1:] {
		data, err := readInput(name, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 2
		}
		summary, problems := check(name, data)
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s\n", name, p)
		}
		if len(problems) > 0 {
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok: %s\n", name, summary)
	}
	return status
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// moduleVersion is the version of a dependency built into this binary, for the summary line: it
// says which schema or grammar a file was checked against.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "(unknown version)"
}

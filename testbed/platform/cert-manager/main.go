// Command cert-manager runs the real cert-manager components on the test bed.
//
// cert-manager publishes its programs as separate Go modules (cmd/controller, cmd/acmesolver,
// ...) that the module proxy does not serve; the root module github.com/cert-manager/cert-manager
// is served and holds every controller, the ACME client and the HTTP-01 solver. This program is
// the bed's own launcher for them: it builds the controller context the way upstream's defaults
// configure it, registers the same controllers upstream's binary imports, and runs them. The
// behaviour under test (issuance, ACME orders and challenges, solver pods, renewal) is all
// upstream code.
//
// The module path sits under cert-manager's so the launcher may use its internal configuration
// defaults (Go's internal-package rule is by import path), as upstream's cmd modules do.
//
//	cert-manager controller [flags]   the controller manager (flags named as upstream's)
//	cert-manager acmesolver [flags]   the HTTP-01 solver the controller starts in solver pods
//	cert-manager webhook [flags]      the validating and mutating admission webhook
//	cert-manager cainjector [flags]   CA bundles into the webhook configurations
//	cert-manager startupapicheck      waits until the API (through the webhook) accepts objects
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "cert-manager" || name == "main" {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: cert-manager controller|acmesolver|webhook|cainjector|startupapicheck [flags]")
			os.Exit(2)
		}
		name, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch name {
	case "controller":
		err = runController(ctx, args)
	case "acmesolver":
		err = runSolver(ctx, args)
	case "webhook":
		err = runWebhook(ctx, args)
	case "cainjector":
		err = runCAInjector(ctx, args)
	case "startupapicheck":
		err = runStartupAPICheck(ctx, args)
	default:
		err = fmt.Errorf("unknown component %q (controller, acmesolver, webhook, cainjector, startupapicheck)", name)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager "+name+": "+err.Error())
		os.Exit(1)
	}
}

package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/spf13/pflag"
)

// runSolver serves one HTTP-01 challenge: the arguments the controller gives solver pods.
func runSolver(ctx context.Context, args []string) error {
	s := &solver.HTTP01Solver{}
	fs := pflag.NewFlagSet("acmesolver", pflag.ContinueOnError)
	fs.IntVar(&s.ListenPort, "listen-port", 8089, "port to listen on")
	fs.StringVar(&s.Domain, "domain", "", "the domain name to verify")
	fs.StringVar(&s.Token, "token", "", "the challenge token")
	fs.StringVar(&s.Key, "key", "", "the key to answer with")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := logf.FromContext(ctx, "acmesolver")
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(shutdown) //nolint:contextcheck
	}()
	if err := s.Listen(log); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

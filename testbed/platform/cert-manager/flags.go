package main

import (
	"github.com/spf13/pflag"

	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
)

// leaderElectionFlags: the leader-election flags upstream's controller and cainjector both take.
func leaderElectionFlags(fs *pflag.FlagSet, le *shared.LeaderElectionConfig) {
	fs.BoolVar(&le.Enabled, "leader-elect", le.Enabled, "elect one active instance")
	fs.StringVar(&le.Namespace, "leader-election-namespace", le.Namespace,
		"namespace of the leader election Lease")
}

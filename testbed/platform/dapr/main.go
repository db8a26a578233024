// daprd for the test bed: upstream's sidecar runtime (github.com/dapr/dapr/cmd/daprd/app) with the
// components the app's pods use registered, as upstream's component files register them.
//
// Upstream builds daprd with a build tag that registers a flavour of components (allcomponents,
// stablecomponents). Both flavours hold the Pulsar pub/sub, whose fork (a pseudo-version of
// github.com/twmb/pulsar-client-go) the Go module proxy here refuses, so neither builds here. This
// flavour is the one the app needs on Kubernetes: the Kafka pub/sub (Redpanda), the Kubernetes
// secret store (which daprd adds by itself in Kubernetes mode) and the Kubernetes name resolver.
// Everything else in the binary is upstream code at the pinned version, but for one file the build
// swaps for an empty one: upstream's guard that panics when no flavour tag was given (toolchain.sh
// build_dapr).
package main

import (
	"github.com/dapr/components-contrib/nameresolution/kubernetes"
	"github.com/dapr/components-contrib/pubsub/kafka"
	k8ssecrets "github.com/dapr/components-contrib/secretstores/kubernetes"
	"github.com/dapr/dapr/cmd/daprd/app"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
)

func init() {
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	secretstoresLoader.DefaultRegistry.RegisterComponent(k8ssecrets.NewKubernetesSecretStore, "kubernetes")
	nrLoader.DefaultRegistry.RegisterComponent(kubernetes.NewResolver, "kubernetes")
}

func main() {
	app.Run()
}

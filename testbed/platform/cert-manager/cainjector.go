package main

import (
	"context"

	config "github.com/cert-manager/cert-manager/internal/apis/config/cainjector"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/cainjector/scheme"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/cainjector/v1alpha1"
	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	logsapi "k8s.io/component-base/logs/api/v1"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// runCAInjector injects CA bundles into the webhook configurations, APIServices and CRDs that
// ask for one by annotation: upstream's reconcilers in a controller-runtime manager configured as
// upstream's binary configures it (Secrets read directly, not cached; leader election by Lease).
func runCAInjector(ctx context.Context, args []string) error {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return err
	}
	versioned := &configv1alpha1.CAInjectorConfiguration{}
	scheme.Default(versioned)
	opts := config.CAInjectorConfiguration{}
	if err := scheme.Convert(versioned, &opts, nil); err != nil {
		return err
	}
	logs := logsapi.NewLoggingConfiguration()
	fs := pflag.NewFlagSet("cainjector", pflag.ContinueOnError)
	fs.StringVar(&opts.Namespace, "namespace", opts.Namespace, "watch only this namespace")
	leaderElectionFlags(fs, &opts.LeaderElectionConfig)
	fs.StringVar(&opts.MetricsListenAddress, "metrics-listen-address", opts.MetricsListenAddress,
		"Prometheus metrics address")
	logf.AddFlags(logs, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := logf.ValidateAndApply(logs); err != nil {
		return err
	}
	ctrl.SetLogger(logf.Log)
	objects := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(objects))
	utilruntime.Must(cmscheme.AddToScheme(objects))
	utilruntime.Must(apiext.AddToScheme(objects))
	utilruntime.Must(apireg.AddToScheme(objects))
	le := opts.LeaderElectionConfig
	mgr, err := ctrl.NewManager(util.RestConfigWithUserAgent(ctrl.GetConfigOrDie(), "cainjector"), ctrl.Options{
		Scheme:                        objects,
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:                le.Enabled,
		LeaderElectionNamespace:       le.Namespace,
		LeaderElectionID:              "cert-manager-cainjector-leader-election",
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionResourceLock:    resourcelock.LeasesResourceLock,
		LeaseDuration:                 &le.LeaseDuration,
		RenewDeadline:                 &le.RenewDeadline,
		RetryPeriod:                   &le.RetryPeriod,
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsListenAddress},
	})
	if err != nil {
		return err
	}
	err = cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    opts.Namespace,
		EnableCertificatesDataSource: opts.EnableDataSourceConfig.Certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   opts.EnableInjectableConfig.MutatingWebhookConfigurations,
			cainjector.ValidatingWebhookConfigurationName: opts.EnableInjectableConfig.ValidatingWebhookConfigurations,
			cainjector.APIServiceName:                     opts.EnableInjectableConfig.APIServices,
			cainjector.CustomResourceDefinitionName:       opts.EnableInjectableConfig.CustomResourceDefinitions,
		},
	})
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	config "github.com/cert-manager/cert-manager/internal/apis/config/controller"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/controller/scheme"
	defaults "github.com/cert-manager/cert-manager/internal/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/internal/pem"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/controller"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	logsapi "k8s.io/component-base/logs/api/v1"

	// The controllers and issuers upstream's controller binary registers.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	_ "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// defaultConfiguration is upstream's ControllerConfiguration with upstream's defaults applied.
func defaultConfiguration() (*config.ControllerConfiguration, error) {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return nil, err
	}
	versioned := &configv1alpha1.ControllerConfiguration{}
	scheme.Default(versioned)
	out := &config.ControllerConfiguration{}
	return out, scheme.Convert(versioned, out, nil)
}

func controllerFlags(c *config.ControllerConfiguration, logs *logsapi.LoggingConfiguration) *pflag.FlagSet {
	fs := pflag.NewFlagSet("controller", pflag.ContinueOnError)
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "kubeconfig (out of cluster only)")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "watch only this namespace")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace,
		"namespace of the Secrets ClusterIssuers refer to")
	leaderElectionFlags(fs, &c.LeaderElectionConfig.LeaderElectionConfig)
	fs.StringSliceVar(&c.Controllers, "controllers", c.Controllers,
		"controllers to run ('*' is upstream's default set)")
	fs.StringVar(&c.ACMEHTTP01Config.SolverImage, "acme-http01-solver-image",
		c.ACMEHTTP01Config.SolverImage, "image of the HTTP-01 solver pods")
	fs.StringSliceVar(&c.ACMEHTTP01Config.SolverNameservers, "acme-http01-solver-nameservers",
		c.ACMEHTTP01Config.SolverNameservers, "nameservers for the HTTP-01 self check")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", c.MaxConcurrentChallenges,
		"challenges presented at once")
	fs.BoolVar(&c.EnableCertificateOwnerRef, "enable-certificate-owner-ref",
		c.EnableCertificateOwnerRef, "Secrets owned by their Certificate")
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress,
		"Prometheus metrics address")
	logf.AddFlags(logs, fs)
	return fs
}

// enabled expands upstream's --controllers syntax: '*' (the default set), 'name', '-name'.
func enabled(requested []string) (sets.Set[string], error) {
	known := sets.New(defaults.AllControllers...)
	out := sets.New[string]()
	for _, name := range requested {
		switch {
		case name == "*":
			out.Insert(defaults.DefaultEnabledControllers...)
		case len(name) > 1 && name[0] == '-':
			out.Delete(name[1:])
		case known.Has(name):
			out.Insert(name)
		default:
			return nil, fmt.Errorf("unknown controller %q", name)
		}
	}
	return out, nil
}

func runController(rootCtx context.Context, args []string) error {
	opts, err := defaultConfiguration()
	if err != nil {
		return err
	}
	logs := logsapi.NewLoggingConfiguration()
	if err := controllerFlags(opts, logs).Parse(args); err != nil {
		return err
	}
	if err := logf.ValidateAndApply(logs); err != nil {
		return err
	}
	want, err := enabled(opts.Controllers)
	if err != nil {
		return err
	}
	pem.SetGlobalSizeLimits(pem.NewSizeLimitsFromConfig(
		int(opts.PEMSizeLimitsConfig.MaxCertificateSize), int(opts.PEMSizeLimitsConfig.MaxPrivateKeySize),
		int(opts.PEMSizeLimitsConfig.MaxChainLength), int(opts.PEMSizeLimitsConfig.MaxBundleSize)))

	rootCtx, cancel := context.WithCancel(rootCtx)
	defer cancel()
	log := logf.FromContext(rootCtx, "controller")
	factory, err := contextFactory(rootCtx, opts)
	if err != nil {
		return err
	}
	cctx, err := factory.Build()
	if err != nil {
		return err
	}
	g, rootCtx := errgroup.WithContext(rootCtx)

	cctx.Metrics.SetupACMECollector(cctx.SharedInformerFactory.Acme().V1().Challenges().Lister())
	cctx.Metrics.SetupCertificateCollector(cctx.SharedInformerFactory.Certmanager().V1().Certificates().Lister())
	cctx.Metrics.SetupIssuerCollector(cctx.SharedInformerFactory.Certmanager().V1().Issuers().Lister())
	cctx.Metrics.SetupClusterIssuerCollector(cctx.SharedInformerFactory.Certmanager().V1().ClusterIssuers().Lister())
	ln, err := (&net.ListenConfig{}).Listen(rootCtx, "tcp", opts.MetricsListenAddress)
	if err != nil {
		return fmt.Errorf("metrics address %s: %w", opts.MetricsListenAddress, err)
	}
	metrics := cctx.Metrics.NewServer(ln)
	g.Go(func() error {
		if err := metrics.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-rootCtx.Done()
		shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		return metrics.Shutdown(shutdown) //nolint:contextcheck
	})

	if opts.LeaderElectionConfig.Enabled {
		if err := awaitLeadership(rootCtx, factory, opts, cancel); err != nil {
			return err
		}
	}
	log.Info("starting controllers", "controllers", sets.List(want))
	for name, construct := range controller.Known() {
		if !want.Has(name) {
			continue
		}
		c, err := construct(factory)
		if err != nil {
			cancel()
			_ = g.Wait()
			return fmt.Errorf("controller %s: %w", name, err)
		}
		g.Go(func() error { return c.Run(opts.NumberOfConcurrentWorkers, rootCtx) })
	}
	cctx.SharedInformerFactory.Start(rootCtx.Done())
	cctx.KubeSharedInformerFactory.Start(rootCtx.Done())
	cctx.HTTP01ResourceMetadataInformersFactory.Start(rootCtx.Done())
	return g.Wait()
}

func quantity(s string) resource.Quantity { return resource.MustParse(s) }

func contextFactory(ctx context.Context, o *config.ControllerConfiguration) (*controller.ContextFactory, error) {
	h := o.ACMEHTTP01Config
	return controller.NewContextFactory(ctx, controller.ContextOptions{
		Kubeconfig:         o.KubeConfig,
		KubernetesAPIQPS:   o.KubernetesAPIQPS,
		KubernetesAPIBurst: o.KubernetesAPIBurst,
		APIServerHost:      o.APIServerHost,
		Namespace:          o.Namespace,
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 h.SolverImage,
			HTTP01SolverResourceRequestCPU:    quantity(h.SolverResourceRequestCPU),
			HTTP01SolverResourceRequestMemory: quantity(h.SolverResourceRequestMemory),
			HTTP01SolverResourceLimitsCPU:     quantity(h.SolverResourceLimitsCPU),
			HTTP01SolverResourceLimitsMemory:  quantity(h.SolverResourceLimitsMemory),
			ACMEHTTP01SolverRunAsNonRoot:      h.SolverRunAsNonRoot,
			HTTP01SolverNameservers:           h.SolverNameservers,
			DNS01Nameservers:                  o.ACMEDNS01Config.RecursiveNameservers,
			DNS01CheckRetryPeriod:             o.ACMEDNS01Config.CheckRetryPeriod,
			DNS01CheckAuthoritative:           !o.ACMEDNS01Config.RecursiveNameserversOnly,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: o.MaxConcurrentChallenges},
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        o.ClusterResourceNamespace,
			ClusterIssuerAmbientCredentials: o.ClusterIssuerAmbientCredentials,
			IssuerAmbientCredentials:        o.IssuerAmbientCredentials,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerName:                 o.IngressShimConfig.DefaultIssuerName,
			DefaultIssuerKind:                 o.IngressShimConfig.DefaultIssuerKind,
			DefaultIssuerGroup:                o.IngressShimConfig.DefaultIssuerGroup,
			DefaultAutoCertificateAnnotations: o.IngressShimConfig.DefaultAutoCertificateAnnotations,
			ExtraCertificateAnnotations:       o.IngressShimConfig.ExtraCertificateAnnotations,
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           o.EnableCertificateOwnerRef,
			CopiedAnnotationPrefixes:                 o.CopiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: o.CertificateRequestMinimumBackoffDuration,
			CertificateRequestMaximumBackoffDuration: o.CertificateRequestMaximumBackoffDuration,
		},
	})
}

// awaitLeadership blocks until this instance holds the cert-manager-controller Lease (upstream's
// name); losing it later ends the process, as upstream does.
func awaitLeadership(ctx context.Context, f *controller.ContextFactory, o *config.ControllerConfiguration, cancel func()) error {
	lctx, err := f.Build("leader-election")
	if err != nil {
		return err
	}
	id, err := os.Hostname()
	if err != nil {
		return err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, o.LeaderElectionConfig.Namespace,
		"cert-manager-controller", lctx.Client.CoreV1(), lctx.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: id + "-external-cert-manager-controller", EventRecorder: lctx.Recorder})
	if err != nil {
		return err
	}
	elected := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.LeaderElectionConfig.LeaseDuration,
		RenewDeadline:   o.LeaderElectionConfig.RenewDeadline,
		RetryPeriod:     o.LeaderElectionConfig.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(elected) },
			OnStoppedLeading: cancel,
		},
	})
	if err != nil {
		return err
	}
	go le.Run(ctx)
	select {
	case <-elected:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

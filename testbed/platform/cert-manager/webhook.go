package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	config "github.com/cert-manager/cert-manager/internal/apis/config/webhook"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/webhook/scheme"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/webhook/v1alpha1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cmclient "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	logsapi "k8s.io/component-base/logs/api/v1"
)

// runWebhook serves cert-manager's validating and mutating admission webhook: upstream's server
// and admission chain, TLS from a CA it keeps in a Secret (upstream's "dynamic serving").
func runWebhook(ctx context.Context, args []string) error {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return err
	}
	versioned := &configv1alpha1.WebhookConfiguration{}
	scheme.Default(versioned)
	opts := config.WebhookConfiguration{}
	if err := scheme.Convert(versioned, &opts, nil); err != nil {
		return err
	}
	var dnsNames string
	logs := logsapi.NewLoggingConfiguration()
	fs := pflag.NewFlagSet("webhook", pflag.ContinueOnError)
	fs.StringVar(&opts.KubeConfig, "kubeconfig", opts.KubeConfig, "kubeconfig (out of cluster only)")
	fs.Int32Var(&opts.SecurePort, "secure-port", opts.SecurePort, "HTTPS port of the webhook")
	fs.Int32Var(&opts.HealthzPort, "healthz-port", opts.HealthzPort, "port of /healthz and /livez")
	fs.StringVar(&opts.TLSConfig.Dynamic.SecretNamespace, "dynamic-serving-ca-secret-namespace",
		opts.TLSConfig.Dynamic.SecretNamespace, "namespace of the serving CA's Secret")
	fs.StringVar(&opts.TLSConfig.Dynamic.SecretName, "dynamic-serving-ca-secret-name",
		opts.TLSConfig.Dynamic.SecretName, "name of the serving CA's Secret")
	fs.StringVar(&dnsNames, "dynamic-serving-dns-names", "", "DNS names of the serving certificate")
	logf.AddFlags(logs, fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := logf.ValidateAndApply(logs); err != nil {
		return err
	}
	if dnsNames != "" {
		opts.TLSConfig.Dynamic.DNSNames = strings.Split(dnsNames, ",")
	}
	srv, err := cmwebhook.NewCertManagerWebhookServer(logf.FromContext(ctx, "webhook"), opts)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// runStartupAPICheck waits until the cert-manager API accepts a Certificate (a server-side dry
// run, so the webhook is called and answers with a certificate the API server trusts), as
// upstream's startupapicheck job does after an install: without it a ClusterIssuer created right
// after `helm install` meets a webhook whose CA is not injected yet.
func runStartupAPICheck(ctx context.Context, args []string) error {
	var kubeconfig, namespace string
	var wait time.Duration
	fs := pflag.NewFlagSet("startupapicheck", pflag.ContinueOnError)
	fs.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig (out of cluster only)")
	fs.StringVarP(&namespace, "namespace", "n", "cert-manager", "namespace of the dry-run Certificate")
	fs.DurationVar(&wait, "wait", time.Minute, "how long to wait for the API")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return err
	}
	cl, err := cmclient.NewForConfig(rc)
	if err != nil {
		return err
	}
	probe := &cmapi.Certificate{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "startupapicheck-", Namespace: namespace},
		Spec: cmapi.CertificateSpec{
			DNSNames:   []string{"startupapicheck.cert-manager.invalid"},
			SecretName: "startupapicheck",
			IssuerRef:  cmmeta.IssuerReference{Name: "startupapicheck"},
		},
	}
	end := time.Now().Add(wait)
	for {
		_, err := cl.CertmanagerV1().Certificates(namespace).Create(ctx, probe,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil {
			fmt.Println("The cert-manager API is ready")
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("the cert-manager API is not ready after %s: %w", wait, err)
		}
		fmt.Println("not ready yet:", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

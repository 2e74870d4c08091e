package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/console"
)

// newConsoleCommand is `sluice console`: the web console alone, for any Kafka-compatible
// cluster. With SASL in --command-config, users sign in with their own credentials (the
// configured mechanism); the file's credentials are not used for them.
func newConsoleCommand() *cobra.Command {
	var o clientOptions
	var addr, registryURL, connectURL string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve the web console for a Kafka-compatible cluster",
		Long: `Serve Sluice's web console (topics, messages, consumer groups, schemas, connectors,
brokers, security and quotas) for the cluster at --brokers, until interrupted. With a
SASL security.protocol in --command-config, every user signs in with their own credentials
(the file's sasl.mechanism); TLS settings in the file apply to every connection.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConsole(cmd, &o, addr, registryURL, connectURL)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "localhost:8080", "address the console listens on (host:port)")
	f.StringVar(&registryURL, "schema-registry-url", "", "the schema registry's base URL, if any")
	f.StringVar(&connectURL, "connect-url", "", "the Kafka Connect REST API's base URL, if any")
	return cmd
}

// consoleClientOpts splits --command-config into the console's connection options (TLS) and
// the SASL mechanism users sign in with ("" for none).
func consoleClientOpts(path string) (opts []kgo.Opt, mechanism string, err error) {
	if path == "" {
		return nil, "", nil
	}
	props, err := readClientProperties(path)
	if err != nil {
		return nil, "", fmt.Errorf("--command-config: %w", err)
	}
	// Check the whole file as the other commands do (SASL credentials are optional here).
	protocol := strings.ToUpper(props["security.protocol"])
	conn := map[string]string{}
	for k, v := range props {
		if !strings.HasPrefix(k, "sasl.") && !strings.HasPrefix(k, "sluice.sasl.") {
			conn[k] = v
		}
	}
	switch protocol {
	case "SASL_PLAINTEXT":
		conn["security.protocol"] = "PLAINTEXT"
	case "SASL_SSL":
		conn["security.protocol"] = "SSL"
	}
	if opts, err = clientSecurityOpts(conn); err != nil {
		return nil, "", fmt.Errorf("--command-config %s: %w", path, err)
	}
	if protocol == "SASL_PLAINTEXT" || protocol == "SASL_SSL" {
		mechanism = strings.ToUpper(props["sasl.mechanism"])
		switch mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER":
		case "":
			return nil, "", fmt.Errorf("--command-config %s: sasl.mechanism is not set: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", path)
		default:
			return nil, "", fmt.Errorf("--command-config %s: sasl.mechanism %s: use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER", path, mechanism)
		}
	}
	return opts, mechanism, nil
}

func runConsole(cmd *cobra.Command, o *clientOptions, addr, registryURL, connectURL string) error {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	seeds := o.seeds()
	if len(seeds) == 0 {
		return errors.New("no brokers: pass --brokers host:port or set SLUICE_BROKERS")
	}
	clientOpts, mech, err := consoleClientOpts(o.sec.commandConfig)
	if err != nil {
		return err
	}
	for _, u := range []struct{ flag, v string }{{"--schema-registry-url", registryURL}, {"--connect-url", connectURL}} {
		if u.v != "" && !strings.HasPrefix(u.v, "http://") && !strings.HasPrefix(u.v, "https://") {
			return fmt.Errorf("%s %q: an http:// or https:// URL", u.flag, u.v)
		}
	}
	opts := console.Options{
		Brokers:     func() []string { return seeds },
		ClientOpts:  clientOpts,
		SignIn:      mech != "",
		RegistryURL: strings.TrimSuffix(registryURL, "/"),
		ConnectURL:  strings.TrimSuffix(connectURL, "/"),
		Logger:      logger,
	}
	if mech != "" {
		opts.Mechanisms = []string{mech}
	}
	c, err := console.New(opts)
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", addr, err)
	}
	if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		logger.Warn("the console listens beyond loopback; anyone who reaches it can use the cluster as the console's users", "addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(cmd.OutOrStdout(), "sluice console: http://%s/ for %s\n", ln.Addr().String(), strings.Join(seeds, ","))
	ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	logger.Info("sluice console is stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

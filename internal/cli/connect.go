package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/connect"
	_ "github.com/sluicehq/sluice/internal/connect/file"
	_ "github.com/sluicehq/sluice/internal/connect/httpsink"
	_ "github.com/sluicehq/sluice/internal/connect/jdbc" // the file connectors register themselves
	_ "github.com/sluicehq/sluice/internal/connect/postgres"
	_ "github.com/sluicehq/sluice/internal/connect/syslog"    // and the Postgres CDC source
	_ "github.com/sluicehq/sluice/internal/connect/transform" // and the transforms
)

func newConnectCommand() *cobra.Command {
	o := &clientOptions{}
	var addr, offsetsFile, groupID string
	var overrides []string
	cmd := &cobra.Command{
		Use:   "connect [CONNECTOR.json|CONNECTOR.properties ...]",
		Short: "Run a Kafka Connect worker, or manage its connectors (list, create, status, ...)",
		Long: `Without a subcommand, runs a Kafka Connect worker against --brokers (any Kafka-compatible
cluster), serving Kafka Connect's REST API on --connect-addr. In standalone mode (--offsets-file)
source offsets are kept in that file; connectors are created through the REST API or from the
files given as arguments (JSON {"name", "config"} or Java properties). Worker properties such as
key.converter, value.converter and offset.flush.interval.ms are set with --override key=value.
With --group-id (group.id) the worker runs in distributed mode instead: the workers of a group
share connectors and tasks, and keep configs, offsets and statuses in the compacted topics
connect-configs, connect-offsets and connect-status (config.storage.topic, ... to rename them).

The subcommands talk to a running worker's REST API (--connect-url).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			props := map[string]string{}
			for _, kv := range overrides {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--override %q: use key=value", kv)
				}
				props[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			if groupID != "" {
				props["group.id"] = groupID
			}
			if props["group.id"] != "" {
				if offsetsFile != "" || len(args) > 0 {
					return errors.New("--group-id runs a distributed worker: it keeps offsets in the offsets topic (no --offsets-file) and takes connectors through the REST API (no files)")
				}
				return runDistributedWorker(cmd, o, addr, props)
			}
			if offsetsFile == "" {
				return errors.New("--offsets-file is required: the worker runs in standalone mode, keeping source offsets in that file (or give --group-id for distributed mode)")
			}
			var conns []connectorFile
			for _, a := range args {
				c, err := readConnectorFile(a)
				if err != nil {
					return err
				}
				conns = append(conns, c)
			}
			return runConnectWorker(cmd, o, addr, offsetsFile, props, conns)
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&addr, "connect-addr", envOr("SLUICE_CONNECT_ADDR", "localhost:8083"), "the REST API's listen address (env SLUICE_CONNECT_ADDR)")
	f.StringVar(&offsetsFile, "offsets-file", "", "standalone mode: the file that keeps source connectors' offsets (offset.storage.file.filename)")
	f.StringVar(&groupID, "group-id", "", "distributed mode: the group of workers sharing connectors (group.id); configs, offsets and statuses live in the connect-configs, connect-offsets and connect-status topics")
	f.StringArrayVar(&overrides, "override", nil, "a worker property as key=value (repeatable), e.g. value.converter.schemas.enable=false")
	cmd.AddCommand(newConnectClientCommands()...)
	return cmd
}

type connectorFile struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
}

// readConnectorFile reads a connector as JSON ({"name", "config"}) or Java properties.
func readConnectorFile(path string) (connectorFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return connectorFile{}, err
	}
	var c connectorFile
	if strings.EqualFold(filepath.Ext(path), ".json") {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		c.Config = map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				k, v, _ = strings.Cut(line, ":")
			}
			c.Config[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		c.Name = c.Config["name"]
	}
	if c.Name == "" {
		c.Name = c.Config["name"]
	}
	if c.Name == "" {
		return c, fmt.Errorf("%s: the connector has no name", path)
	}
	return c, nil
}

func runConnectWorker(cmd *cobra.Command, o *clientOptions, addr, offsetsFile string, props map[string]string, conns []connectorFile) error {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	sec, err := o.sec.opts()
	if err != nil {
		return err
	}
	offsets, err := connect.OpenFileOffsets(offsetsFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--connect-addr %s: %w", addr, err)
	}
	w, err := connect.NewWorker(connect.WorkerConfig{Brokers: o.seeds(), ClientOptions: sec, ID: ln.Addr().String(),
		Props: props, Offsets: offsets, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	defer w.Close()
	srv := &http.Server{Handler: connect.Handler(w, clusterIDFunc(o)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	for _, c := range conns {
		if _, err := w.Create(c.Name, c.Config, ""); err != nil {
			return fmt.Errorf("connector %s: %w", c.Name, err)
		}
	}
	logger.Info("sluice connect is serving", "rest", ln.Addr().String(), "brokers", o.brokers, "mode", "standalone", "offsets_file", offsetsFile)
	ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	logger.Info("sluice connect is stopping")
	return nil
}

// runDistributedWorker runs a worker of the group props["group.id"].
func runDistributedWorker(cmd *cobra.Command, o *clientOptions, addr string, props map[string]string) error {
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	sec, err := o.sec.opts()
	if err != nil {
		return err
	}
	stop, err := startDistributedWorker(logger, o.seeds(), sec, addr, props, clusterIDFunc(o))
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-ctx.Done()
	logger.Info("sluice connect is stopping: leaving the group")
	return nil
}

// startDistributedWorker starts a distributed worker of the group props["group.id"] against
// brokers, with its REST API on addr; stop leaves the group and closes the API. `sluice
// connect --group-id` and `sluice serve --connect` run it.
func startDistributedWorker(logger *slog.Logger, brokers []string, sec []kgo.Opt, addr string, props map[string]string, clusterID func() string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--connect-addr %s: %w", addr, err)
	}
	id, err := advertisedAddr(ln.Addr().String(), props)
	if err != nil {
		ln.Close()
		return nil, err
	}
	scheme := "http"
	if l := props["rest.advertised.listener"]; l != "" && l != "http" {
		ln.Close()
		return nil, fmt.Errorf("rest.advertised.listener %q: only http is served", l)
	}
	d, err := connect.NewDistributed(connect.DistributedConfig{URL: scheme + "://" + id + "/",
		Worker: connect.WorkerConfig{Brokers: brokers, ClientOptions: sec, ID: id, Props: props, Logger: logger}})
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: connect.DistributedHandler(d, clusterID), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	logger.Info("sluice connect is serving", "rest", ln.Addr().String(), "worker_id", id, "brokers", brokers, "mode", "distributed", "group_id", props["group.id"])
	return func() {
		srv.Close()
		d.Close()
	}, nil
}

// advertisedAddr is the worker's host:port as the other workers reach it:
// rest.advertised.host.name and rest.advertised.port, else the listen address.
func advertisedAddr(listen string, props map[string]string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if h := props["rest.advertised.host.name"]; h != "" {
		host = h
	}
	if p := props["rest.advertised.port"]; p != "" {
		port = p
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		return "", fmt.Errorf("--connect-addr %s listens on every address: set rest.advertised.host.name (--override) to the name the other workers reach this one by", listen)
	}
	return net.JoinHostPort(host, port), nil
}

func clusterIDFunc(o *clientOptions) func() string {
	return func() string {
		cl, err := o.client()
		if err != nil {
			return ""
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		if err != nil {
			return ""
		}
		return m.Cluster
	}
}

// The client subcommands: thin calls of a worker's REST API.

type connectClient struct {
	base string
	http *http.Client
}

func (c *connectClient) call(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("connect worker at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Code    int    `json:"error_code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s (HTTP %d)", e.Message, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil && len(raw) > 0 {
		if p, ok := out.(*json.RawMessage); ok {
			*p = raw
			return nil
		}
		return json.Unmarshal(raw, out)
	}
	return nil
}

func newConnectClientCommands() []*cobra.Command {
	var base string
	cl := func() *connectClient {
		return &connectClient{base: base, http: &http.Client{Timeout: 60 * time.Second}}
	}
	printJSON := func(cmd *cobra.Command, raw json.RawMessage) error {
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			_, err = cmd.OutOrStdout().Write(raw)
			return err
		}
		buf.WriteByte('\n')
		_, err := buf.WriteTo(cmd.OutOrStdout())
		return err
	}
	seg := url.PathEscape
	list := &cobra.Command{Use: "list", Short: "List the connectors", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			if err := cl().call("GET", "/connectors", nil, &names); err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		}}
	create := &cobra.Command{Use: "create FILE", Short: "Create a connector from a JSON ({\"name\", \"config\"}) or properties file", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := readConnectorFile(args[0])
			if err != nil {
				return err
			}
			var raw json.RawMessage
			if err := cl().call("POST", "/connectors", c, &raw); err != nil {
				return err
			}
			return printJSON(cmd, raw)
		}}
	simple := func(use, short, method, suffix string, show bool) *cobra.Command {
		return &cobra.Command{Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var raw json.RawMessage
				if err := cl().call(method, "/connectors/"+seg(args[0])+suffix, nil, &raw); err != nil {
					return err
				}
				if show && len(raw) > 0 {
					return printJSON(cmd, raw)
				}
				return nil
			}}
	}
	restart := simple("restart", "Restart a connector and its tasks", "POST", "/restart?includeTasks=true", true)
	cmds := []*cobra.Command{list, create,
		simple("status", "Show a connector's and its tasks' states", "GET", "/status", true),
		simple("config", "Show a connector's configuration", "GET", "/config", true),
		simple("offsets", "Show a connector's committed offsets", "GET", "/offsets", true),
		simple("pause", "Pause a connector", "PUT", "/pause", false),
		simple("resume", "Resume a connector", "PUT", "/resume", false),
		simple("stop", "Stop a connector (its configuration stays)", "PUT", "/stop", false),
		simple("delete", "Delete a connector", "DELETE", "", false),
		restart,
	}
	for _, c := range cmds {
		c.Flags().StringVar(&base, "connect-url", envOr("SLUICE_CONNECT_URL", "http://localhost:8083"), "the worker's REST API (env SLUICE_CONNECT_URL)")
	}
	return cmds
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/internal/broker"
	"github.com/sluicehq/sluice/internal/config"
)

func newServeCommand() *cobra.Command {
	var (
		configFile string
		settings   serveSettings
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a broker (single node with embedded defaults, or a cluster member)",
		Long: `Run a Sluice broker. With no flags it serves Kafka on localhost:9092 and HTTP
(metrics, health) on localhost:9644, keeping data in ./sluice-data.

Broker configs use Kafka's names (log.retention.ms, num.partitions, ...) and can be given
with --override key=value, repeated, or in the --config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, err := readPropertiesFile(configFile)
			if err != nil {
				return err
			}
			if err := resolveSettings(cmd.Flags(), os.LookupEnv, file); err != nil {
				return err
			}
			cfg, err := settings.brokerConfig(file)
			if err != nil {
				return err
			}
			logger, err := newLogger(cmd.ErrOrStderr(), settings.logLevel, settings.logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			return runBroker(cmd.Context(), cfg, logger, settings.connectWorker(logger))
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "optional config file (Java properties: flag names or Kafka broker config names)")
	settings.register(f)
	return cmd
}

// serveSettings are the flags of `sluice serve`; each also reads SLUICE_<NAME> and the config file.
type serveSettings struct {
	dataDir        string
	kafkaAddr      string
	httpAddr       string
	registryAddr   string
	advertisedAddr string
	controllerAddr string
	controllerBind string
	peers          string
	nodeID         int32
	overrides      []string
	addScram       []string
	logLevel       string
	logFormat      string
	connect        bool
	connectAddr    string
	connectGroup   string
	console        bool
	consoleConnect string
	// flags is the set register filled: which identity flags were given (applyIdentity).
	flags *pflag.FlagSet
}

func (s *serveSettings) register(f *pflag.FlagSet) {
	s.flags = f
	f.StringVar(&s.dataDir, "data-dir", "./sluice-data", "directory for partition logs and metadata")
	f.StringVar(&s.kafkaAddr, "kafka-addr", "localhost:9092", "Kafka protocol listener address (a PLAINTEXT listener; the broker config listeners replaces it)")
	f.StringVar(&s.httpAddr, "http-addr", "localhost:9644", "HTTP listener for the web console, /metrics, /healthz and /readyz (empty disables)")
	f.StringVar(&s.registryAddr, "schema-registry-addr", "localhost:8081", "schema registry listener (Confluent's REST API; TLS and users of the HTTP listener; empty disables)")
	f.StringVar(&s.advertisedAddr, "advertised-addr", "", "host:port clients are told to connect to (default: --kafka-addr)")
	f.StringVar(&s.controllerAddr, "controller-addr", "localhost:9093", "metadata quorum (Raft) listener address")
	f.StringVar(&s.controllerBind, "controller-listen-addr", "", "where the controller listener binds, when other voters reach it at --controller-addr through a proxy (default: --controller-addr)")
	f.StringVar(&s.peers, "peers", "", "other quorum voters as id@host:port,... (empty: a one-voter quorum)")
	f.Int32Var(&s.nodeID, "node-id", 1, "this node's id (Kafka's node.id)")
	f.StringArrayVar(&s.overrides, "override", nil, "a Kafka broker config as key=value (repeatable)")
	f.StringArrayVar(&s.addScram, "add-scram", nil, "a SCRAM user the new cluster starts with, as kafka-storage format takes it: "+
		"'SCRAM-SHA-256=[name=admin,password=admin-secret]' (also iterations=, salt=, saltedpassword=; repeatable; ignored once the cluster exists)")
	f.StringVar(&s.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&s.logFormat, "log-format", "text", "log format: text or json")
	f.BoolVar(&s.connect, "connect", false, "also run a Kafka Connect worker in this process: distributed mode, group --connect-group-id, "+
		"REST API on --connect-addr, against this broker's first Kafka listener (as `sluice connect --group-id` would)")
	f.StringVar(&s.connectAddr, "connect-addr", "localhost:8083", "with --connect: the Kafka Connect REST API's listen address")
	f.BoolVar(&s.console, "console", true, "serve the web console at / of the HTTP listener (--console=false turns it off)")
	f.StringVar(&s.consoleConnect, "console-connect-url", "", "the Kafka Connect REST API the console manages connectors through (default with --connect: http://--connect-addr)")
	f.StringVar(&s.connectGroup, "connect-group-id", "connect-cluster", "with --connect: the worker's group.id (workers of other brokers or `sluice connect` processes with the same id share its connectors)")
}

// consoleConnectURL is the Connect REST API the console uses: --console-connect-url, else this
// process's worker with --connect.
func (s *serveSettings) consoleConnectURL() string {
	if s.consoleConnect != "" || !s.connect || s.connectAddr == "" {
		return s.consoleConnect
	}
	return "http://" + s.connectAddr
}

// connectWorker is what runBroker starts after the broker when --connect is given (nil
// otherwise): a distributed worker against the broker's first Kafka listener.
func (s *serveSettings) connectWorker(logger *slog.Logger) func(b *broker.Broker) (stop func(), err error) {
	if !s.connect {
		return nil
	}
	return func(b *broker.Broker) (func(), error) {
		if b.KafkaAddr() == "" {
			return nil, errors.New("--connect: this node has no Kafka listener for the worker to use")
		}
		props := map[string]string{"group.id": s.connectGroup}
		return startDistributedWorker(logger.With("component", "connect"), []string{b.KafkaAddr()}, nil, s.connectAddr, props,
			func() string { return b.ClusterID() })
	}
}

// brokerConfig turns the resolved settings, plus any Kafka broker configs from the config
// file, into the broker's configuration.
func (s *serveSettings) brokerConfig(file map[string]string) (broker.Config, error) {
	overrides := make(map[string]string)
	for key, value := range file {
		if !isServeFlag(key) {
			overrides[key] = value
		}
	}
	for _, kv := range s.overrides {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return broker.Config{}, fmt.Errorf("--override %q: want key=value, e.g. --override log.retention.ms=3600000", kv)
		}
		overrides[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	if err := s.applyIdentity(overrides); err != nil {
		return broker.Config{}, err
	}
	var peers []string
	for _, p := range strings.Split(s.peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			peers = append(peers, p)
		}
	}
	advertised := s.advertisedAddr
	if advertised == "" {
		advertised = s.kafkaAddr
	}
	return broker.Config{
		NodeID:               s.nodeID,
		DataDir:              s.dataDir,
		KafkaAddr:            s.kafkaAddr,
		AdvertisedAddr:       advertised,
		HTTPAddr:             s.httpAddr,
		SchemaRegistryAddr:   s.registryAddr,
		Console:              s.console,
		ConsoleConnectURL:    s.consoleConnectURL(),
		ControllerAddr:       s.controllerAddr,
		ControllerListenAddr: s.controllerBind,
		Peers:                peers,
		Overrides:            overrides,
		AddScram:             s.addScram,
	}, nil
}

// applyIdentity lets Kafka's node.id (or broker.id), log.dirs and controller.quorum.voters,
// given as broker configs (--override or the config file), do what --node-id, --data-dir and
// --peers/--controller-addr do, so a Kafka server.properties works as it says. A flag given
// as well (on the command line, in SLUICE_*, or by its flag name in the file) must agree.
func (s *serveSettings) applyIdentity(overrides map[string]string) error {
	static, err := config.ValidateBrokerStatic(overrides)
	if err != nil {
		return fmt.Errorf("broker configs: %w", err)
	}
	r := config.ResolveBroker(config.Layers{Static: static})
	isSet := func(name config.Name) bool { e, _ := r.Entry(name); return e.Source != config.SourceDefault }
	flagSet := func(flag string) bool { return s.flags != nil && s.flags.Changed(flag) }
	if isSet(config.NodeID) || r.Int(config.BrokerID) >= 0 {
		id, name := r.Int(config.NodeID), config.NodeID
		if !isSet(config.NodeID) {
			id, name = r.Int(config.BrokerID), config.BrokerID
		}
		if flagSet("node-id") && id != s.nodeID {
			return fmt.Errorf("broker config %s=%d differs from --node-id %d; set one of them", name, id, s.nodeID)
		}
		s.nodeID = id
	}
	if isSet(config.LogDirs) {
		dir := r.List(config.LogDirs)[0]
		if flagSet("data-dir") && filepath.Clean(dir) != filepath.Clean(s.dataDir) {
			return fmt.Errorf("broker config %s=%s differs from --data-dir %s; set one of them", config.LogDirs, dir, s.dataDir)
		}
		s.dataDir = dir
	}
	if isSet(config.ControllerQuorumVoters) {
		if err := s.applyVoters(r.List(config.ControllerQuorumVoters)); err != nil {
			return err
		}
	}
	if isSet(config.Listeners) {
		return s.applyListeners(r, flagSet, isSet(config.ControllerQuorumVoters))
	}
	return nil
}

// applyListeners checks that Kafka's listeners, which replaces --kafka-addr and
// --advertised-addr, is not given with them, and takes the controller address from a listener
// named in controller.listener.names (CONTROLLER://host:port): as --controller-addr, or, when
// controller.quorum.voters gives this node another address (the one the others dial), as the
// address to bind (--controller-listen-addr), as Kafka binds listeners and advertises voters.
func (s *serveSettings) applyListeners(r *config.Resolved, flagSet func(string) bool, voters bool) error {
	for _, flag := range []string{"kafka-addr", "advertised-addr"} {
		if flagSet(flag) {
			return fmt.Errorf("broker config %s replaces --%s; set one of them", config.Listeners, flag)
		}
	}
	protocols, err := config.ParseProtocolMap(r.String(config.ListenerSecurityProtocolMap))
	if err != nil {
		return fmt.Errorf("broker config %s: %w", config.ListenerSecurityProtocolMap, err)
	}
	all, err := config.ParseListenerList(strings.Join(r.List(config.Listeners), ","), protocols)
	if err != nil {
		return fmt.Errorf("broker config %s: %w", config.Listeners, err)
	}
	controllerNames := r.List(config.ControllerListenerNames)
	for _, l := range all {
		if !slices.ContainsFunc(controllerNames, func(n string) bool { return strings.EqualFold(n, l.Name) }) {
			continue
		}
		switch {
		case l.Addr() == s.controllerAddr:
		case voters && flagSet("controller-listen-addr") && l.Addr() != s.controllerBind:
			return fmt.Errorf("broker config %s binds the controller listener on %s, but --controller-listen-addr is %s", config.Listeners, l.Addr(), s.controllerBind)
		case voters:
			s.controllerBind = l.Addr()
		case flagSet("controller-addr"):
			return fmt.Errorf("broker config %s gives the controller listener %s, but --controller-addr is %s", config.Listeners, l.Addr(), s.controllerAddr)
		default:
			s.controllerAddr = l.Addr()
		}
		break
	}
	return nil
}

// applyVoters turns controller.quorum.voters (every voter, this node included) into --peers
// and this node's --controller-addr.
func (s *serveSettings) applyVoters(voters []string) error {
	if s.flags != nil && s.flags.Changed("peers") {
		return fmt.Errorf("broker config %s and --peers both name the quorum's voters; set one of them", config.ControllerQuorumVoters)
	}
	self := ""
	for _, v := range voters {
		if id, addr, err := config.ParseVoter(v); err == nil && id == s.nodeID {
			self = addr
		}
	}
	switch {
	case self == "" && len(voters) > 0:
		return fmt.Errorf("broker config %s does not list this node (node.id %d)", config.ControllerQuorumVoters, s.nodeID)
	case self != "" && s.flags != nil && s.flags.Changed("controller-addr") && self != s.controllerAddr:
		return fmt.Errorf("broker config %s gives this node %s, but --controller-addr is %s", config.ControllerQuorumVoters, self, s.controllerAddr)
	case self != "":
		s.controllerAddr = self
	}
	s.peers = strings.Join(voters, ",")
	return nil
}

var serveFlagNames = map[string]bool{}

func isServeFlag(name string) bool { return serveFlagNames[name] }

func init() {
	var s serveSettings
	f := pflag.NewFlagSet("names", pflag.ContinueOnError)
	s.register(f)
	f.VisitAll(func(fl *pflag.Flag) { serveFlagNames[fl.Name] = true })
}

// resolveSettings fills every flag the user did not set from SLUICE_<NAME>, then from the
// config file, leaving the default when neither has it.
func resolveSettings(flags *pflag.FlagSet, lookupEnv func(string) (string, bool), file map[string]string) error {
	var err error
	flags.VisitAll(func(fl *pflag.Flag) {
		if err != nil || fl.Changed || fl.Name == "config" {
			return
		}
		env := "SLUICE_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		value, ok := lookupEnv(env)
		source := env
		if !ok {
			value, ok = file[fl.Name]
			source = "config file key " + fl.Name
		}
		if !ok {
			return
		}
		if setErr := flags.Set(fl.Name, value); setErr != nil {
			err = fmt.Errorf("%s=%q: %w", source, value, setErr)
		}
	})
	return err
}

// readPropertiesFile reads a Java-properties style file: a key, then '=', ':' or whitespace,
// then the value ("key=value", "key: value", "key value"); '#' and '!' start comments; a line
// ending in an odd number of backslashes continues on the next (the backslash dropped, the
// next line's leading blanks too), as inline PEM values (ssl.keystore.key, KIP-651) are
// written. Other backslashes are kept as they are. An empty path means no file.
func readPropertiesFile(path string) (map[string]string, error) {
	props := make(map[string]string)
	if path == "" {
		return props, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		first := i
		line := strings.TrimSpace(lines[i])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
			line = strings.TrimRight(line, " \t\f")
		}
		if continues(line) {
			line = line[:len(line)-1] // a continuation at the end of the file
		}
		end := strings.IndexAny(line, "=: \t")
		if end < 0 {
			end = len(line)
		}
		key := line[:end]
		value := strings.TrimLeft(line[end:], " \t")
		if value != "" && (value[0] == '=' || value[0] == ':') {
			value = strings.TrimLeft(value[1:], " \t")
		}
		if key == "" {
			return nil, fmt.Errorf("config file %s line %d: no key before the separator in %q", path, first+1, line)
		}
		props[key] = value
	}
	return props, nil
}

// continues reports whether a properties line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for n < len(line) && line[len(line)-1-n] == '\\' {
		n++
	}
	return n%2 == 1
}

func newLogger(w interface{ Write([]byte) (int, error) }, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// runBroker starts the broker and serves until SIGINT or SIGTERM, then shuts down cleanly.
// runBroker runs the broker until a signal; withBroker, if not nil, starts what runs beside it
// (the Connect worker) once it serves, and its stop runs before the broker closes.
func runBroker(ctx context.Context, cfg broker.Config, logger *slog.Logger, withBroker func(*broker.Broker) (func(), error)) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	b, err := broker.Start(ctx, cfg)
	if err != nil {
		return err
	}
	logger.Info("sluice is serving", "kafka", b.KafkaAddr(), "http", b.HTTPAddr(), "schema_registry", b.SchemaRegistryAddr(),
		"node_id", cfg.NodeID, "data_dir", cfg.DataDir, "startup", time.Since(started).Round(time.Millisecond).String())
	stopBeside := func() {}
	if withBroker != nil {
		if stopBeside, err = withBroker(b); err != nil {
			b.Close()
			return err
		}
	}
	<-ctx.Done()
	logger.Info("shutting down")
	stopBeside()
	if err := b.Close(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("shutdown complete")
	return nil
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestServeSettingsPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		file      map[string]string
		wantKafka string
		wantNode  int32
		wantOver  map[string]string
		wantErr   string
	}{
		{name: "defaults", wantKafka: "localhost:9092", wantNode: 1, wantOver: map[string]string{}},
		{name: "config file", file: map[string]string{"kafka-addr": "file:1", "node-id": "3", "log.retention.ms": "5"},
			wantKafka: "file:1", wantNode: 3, wantOver: map[string]string{"log.retention.ms": "5"}},
		{name: "env beats file", env: map[string]string{"SLUICE_KAFKA_ADDR": "env:1"}, file: map[string]string{"kafka-addr": "file:1"},
			wantKafka: "env:1", wantNode: 1, wantOver: map[string]string{}},
		{name: "flag beats env", args: []string{"--kafka-addr", "flag:1", "--override", "num.partitions=6"}, env: map[string]string{"SLUICE_KAFKA_ADDR": "env:1"},
			wantKafka: "flag:1", wantNode: 1, wantOver: map[string]string{"num.partitions": "6"}},
		{name: "override beats file", args: []string{"--override", "num.partitions=6"}, file: map[string]string{"num.partitions": "3"},
			wantKafka: "localhost:9092", wantNode: 1, wantOver: map[string]string{"num.partitions": "6"}},
		{name: "bad env value", env: map[string]string{"SLUICE_NODE_ID": "one"}, wantErr: "SLUICE_NODE_ID"},
		{name: "bad override", args: []string{"--override", "num.partitions"}, wantErr: "want key=value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s serveSettings
			f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			s.register(f)
			if err := f.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			file := tc.file
			if file == nil {
				file = map[string]string{}
			}
			err := resolveSettings(f, lookup, file)
			var cfgErr error
			if err == nil {
				c, e := s.brokerConfig(file)
				cfgErr = e
				if e == nil {
					if c.KafkaAddr != tc.wantKafka || c.NodeID != tc.wantNode || len(c.Overrides) != len(tc.wantOver) {
						t.Fatalf("kafka %q node %d overrides %v; want %q %d %v", c.KafkaAddr, c.NodeID, c.Overrides, tc.wantKafka, tc.wantNode, tc.wantOver)
					}
					for k, v := range tc.wantOver {
						if c.Overrides[k] != v {
							t.Fatalf("override %s = %q, want %q", k, c.Overrides[k], v)
						}
					}
					if c.AdvertisedAddr != c.KafkaAddr {
						t.Fatalf("advertised %q, want the kafka address when unset", c.AdvertisedAddr)
					}
				}
			}
			if err == nil {
				err = cfgErr
			}
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadPropertiesFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "server.properties")
	os.WriteFile(good, []byte("# comment\n! also a comment\n\nkafka-addr = 0.0.0.0:9092\nlog.retention.hours: 24\nhttp-addr 127.0.0.1:9644\n"), 0o644)
	props, err := readPropertiesFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if props["kafka-addr"] != "0.0.0.0:9092" || props["log.retention.hours"] != "24" || props["http-addr"] != "127.0.0.1:9644" || len(props) != 3 {
		t.Fatalf("props = %v", props)
	}
	bad := filepath.Join(dir, "bad.properties")
	os.WriteFile(bad, []byte("=0.0.0.0:9092\n"), 0o644)
	if _, err := readPropertiesFile(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad file: %v, want an error naming line 1", err)
	}
	if _, err := readPropertiesFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file read without error")
	}
	// Continuation lines, as inline PEM values are written (KIP-651); an even number of
	// trailing backslashes is a literal one and does not continue.
	cont := filepath.Join(dir, "cont.properties")
	os.WriteFile(cont, []byte("ssl.keystore.key=-----BEGIN PRIVATE KEY----- \\\n   MIGHAgEA \\\n  -----END PRIVATE KEY-----\r\n"+
		"path=C:\\dir\\\\\nnext=1\n"), 0o644)
	props, err = readPropertiesFile(cont)
	if err != nil {
		t.Fatal(err)
	}
	if got := props["ssl.keystore.key"]; got != "-----BEGIN PRIVATE KEY----- MIGHAgEA -----END PRIVATE KEY-----" {
		t.Fatalf("continued value %q", got)
	}
	if props["path"] != `C:\dir\\` || props["next"] != "1" {
		t.Fatalf("props = %q", props)
	}
}

// TestServeIdentityFromBrokerConfigs: node.id/broker.id, log.dirs and controller.quorum.voters
// given as Kafka broker configs set the node id, data directory, controller address and peers
// (they were accepted and ignored before); a flag that disagrees is an error.
func TestServeIdentityFromBrokerConfigs(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		file      map[string]string
		wantNode  int32
		wantDir   string
		wantCtl   string
		wantPeers []string
		wantBind  string // --controller-listen-addr
		wantErr   string
	}{
		{name: "node.id override", args: []string{"--override", "node.id=3"}, wantNode: 3},
		{name: "broker.id in the file", file: map[string]string{"broker.id": "4"}, wantNode: 4},
		{name: "node.id and the same --node-id", args: []string{"--override", "node.id=5", "--node-id", "5"}, wantNode: 5},
		{name: "node.id against --node-id", args: []string{"--override", "node.id=3", "--node-id", "2"}, wantErr: "differs from --node-id"},
		{name: "log.dirs", args: []string{"--override", "log.dirs=/srv/kafka"}, wantNode: 1, wantDir: "/srv/kafka"},
		{name: "log.dirs against --data-dir", args: []string{"--override", "log.dirs=/a", "--data-dir", "/b"}, wantErr: "differs from --data-dir"},
		{name: "controller.quorum.voters", file: map[string]string{"node.id": "2", "controller.quorum.voters": "1@127.0.0.1:9093,2@127.0.0.1:9094"},
			wantNode: 2, wantCtl: "127.0.0.1:9094", wantPeers: []string{"1@127.0.0.1:9093", "2@127.0.0.1:9094"}},
		{name: "voters without this node", args: []string{"--override", "controller.quorum.voters=7@127.0.0.1:9093"}, wantErr: "does not list this node"},
		{name: "voters and --peers", args: []string{"--override", "controller.quorum.voters=1@127.0.0.1:9093", "--peers", "2@127.0.0.1:9094"}, wantErr: "--peers"},
		{name: "bad value", args: []string{"--override", "node.id=-4"}, wantErr: "node.id"},
		{name: "listeners give the controller address", file: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9095"},
			wantNode: 1, wantCtl: "127.0.0.1:9095"},
		{name: "listeners and --kafka-addr", args: []string{"--kafka-addr", "127.0.0.1:9092"}, file: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092"},
			wantErr: "replaces --kafka-addr"},
		{name: "controller listener against --controller-addr", args: []string{"--controller-addr", "127.0.0.1:1"},
			file: map[string]string{"listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9095"}, wantErr: "but --controller-addr is 127.0.0.1:1"},
		{name: "voters advertise, listeners bind", file: map[string]string{"node.id": "2", "controller.quorum.voters": "1@127.0.0.1:9093,2@127.0.0.1:9094",
			"listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://0.0.0.0:9094"},
			wantNode: 2, wantCtl: "127.0.0.1:9094", wantPeers: []string{"1@127.0.0.1:9093", "2@127.0.0.1:9094"}, wantBind: "0.0.0.0:9094"},
		{name: "listener without a protocol", file: map[string]string{"listeners": "EXTERNAL://127.0.0.1:9092"}, wantErr: "no security protocol for listener name EXTERNAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s serveSettings
			f := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			s.register(f)
			if err := f.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			file := tc.file
			if file == nil {
				file = map[string]string{}
			}
			if err := resolveSettings(f, func(string) (string, bool) { return "", false }, file); err != nil {
				t.Fatal(err)
			}
			c, err := s.brokerConfig(file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.NodeID != tc.wantNode {
				t.Errorf("node id %d, want %d", c.NodeID, tc.wantNode)
			}
			if tc.wantDir != "" && c.DataDir != tc.wantDir {
				t.Errorf("data dir %q, want %q", c.DataDir, tc.wantDir)
			}
			if tc.wantCtl != "" && (c.ControllerAddr != tc.wantCtl || strings.Join(c.Peers, ",") != strings.Join(tc.wantPeers, ",")) {
				t.Errorf("controller %q peers %v, want %q %v", c.ControllerAddr, c.Peers, tc.wantCtl, tc.wantPeers)
			}
			if c.ControllerListenAddr != tc.wantBind {
				t.Errorf("controller listen address %q, want %q", c.ControllerListenAddr, tc.wantBind)
			}
		})
	}
}

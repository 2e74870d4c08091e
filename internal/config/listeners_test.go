package config

import (
	"strings"
	"testing"
)

func TestResolveListeners(t *testing.T) {
	base := ListenerConfigs{ProtocolMap: defaultListenerProtocolMap, InterBrokerProtocol: "PLAINTEXT", ControllerNames: []string{"CONTROLLER"}}
	with := func(f func(*ListenerConfigs)) ListenerConfigs {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     ListenerConfigs
		wantErr string
		check   func(t *testing.T, s *ListenerSet)
	}{
		{name: "two listeners and a controller", cfg: with(func(c *ListenerConfigs) {
			c.Listeners = "PLAINTEXT://127.0.0.1:9092,sasl_ssl://[::1]:9094,CONTROLLER://127.0.0.1:9093"
			c.Advertised = "SASL_SSL://kafka.example.com:19094"
		}), check: func(t *testing.T, s *ListenerSet) {
			if len(s.Broker) != 2 || s.Broker[1].Name != "SASL_SSL" || s.Broker[1].Host != "::1" || s.Broker[1].Protocol != ProtocolSASLSSL {
				t.Fatalf("broker listeners %+v", s.Broker)
			}
			if len(s.Controller) != 1 || s.Controller[0].Addr() != "127.0.0.1:9093" {
				t.Fatalf("controller listeners %+v", s.Controller)
			}
			if s.Advertised[0] != s.Broker[0] || s.Advertised[1].Addr() != "kafka.example.com:19094" {
				t.Fatalf("advertised %+v", s.Advertised)
			}
			if s.InterBroker != "PLAINTEXT" {
				t.Fatalf("inter-broker listener %q", s.InterBroker)
			}
		}},
		{name: "custom names through the map", cfg: with(func(c *ListenerConfigs) {
			c.Listeners = "CLIENT://:0,INTERNAL://127.0.0.1:0"
			c.ProtocolMap = "CLIENT:SSL,INTERNAL:PLAINTEXT"
			c.InterBrokerName = "internal"
		}), check: func(t *testing.T, s *ListenerSet) {
			if s.InterBroker != "INTERNAL" || s.Broker[0].Protocol != ProtocolSSL || s.Broker[0].Host != "" {
				t.Fatalf("%+v", s)
			}
		}},
		{name: "unknown protocol in the map", cfg: with(func(c *ListenerConfigs) { c.Listeners = "A://:1"; c.ProtocolMap = "A:TLS" }),
			wantErr: `unknown security protocol "TLS"`},
		{name: "listener without a protocol", cfg: with(func(c *ListenerConfigs) { c.Listeners = "INTERNAL://:9092" }),
			wantErr: "no security protocol for listener name INTERNAL"},
		{name: "duplicate names", cfg: with(func(c *ListenerConfigs) { c.Listeners = "PLAINTEXT://:9092,plaintext://:9093" }),
			wantErr: "PLAINTEXT appears twice"},
		{name: "duplicate ports", cfg: with(func(c *ListenerConfigs) { c.Listeners = "PLAINTEXT://:9092,SSL://127.0.0.1:9092" }),
			wantErr: "use port 9092"},
		{name: "bad port", cfg: with(func(c *ListenerConfigs) { c.Listeners = "PLAINTEXT://:99999" }), wantErr: "port is not in 0..65535"},
		{name: "not a url", cfg: with(func(c *ListenerConfigs) { c.Listeners = "localhost:9092" }), wantErr: "is not NAME://host:port"},
		{name: "inter-broker listener missing", cfg: with(func(c *ListenerConfigs) { c.Listeners = "SSL://:9093"; c.InterBrokerName = "REPL" }),
			wantErr: "inter-broker listener REPL is not among the listeners (SSL)"},
		{name: "default inter-broker listener missing", cfg: with(func(c *ListenerConfigs) { c.Listeners = "SSL://:9093" }),
			wantErr: "security.inter.broker.protocol: the inter-broker listener PLAINTEXT"},
		{name: "both inter-broker configs", cfg: with(func(c *ListenerConfigs) {
			c.Listeners = "SSL://:9093"
			c.InterBrokerName, c.InterBrokerProtocolSet = "SSL", true
		}), wantErr: "only one of"},
		{name: "inter-broker on the controller listener", cfg: with(func(c *ListenerConfigs) {
			c.Listeners = "PLAINTEXT://:9092,CONTROLLER://:9093"
			c.InterBrokerName = "CONTROLLER"
		}), wantErr: "is a controller listener"},
		{name: "advertised name not a listener", cfg: with(func(c *ListenerConfigs) {
			c.Listeners, c.Advertised = "PLAINTEXT://:9092", "SSL://h:9093"
		}), wantErr: "SSL is not a listener"},
		{name: "advertised meta-address", cfg: with(func(c *ListenerConfigs) {
			c.Listeners, c.Advertised = "PLAINTEXT://:9092", "PLAINTEXT://0.0.0.0:9092"
		}), wantErr: "non-routable"},
		{name: "only a controller listener", cfg: with(func(c *ListenerConfigs) { c.Listeners = "CONTROLLER://:9093" }),
			wantErr: "only controller listeners"},
		{name: "SASL_PLAINTEXT controller listener", cfg: with(func(c *ListenerConfigs) {
			c.Listeners, c.ProtocolMap = "PLAINTEXT://:9092,CONTROLLER://:9093", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
		}), wantErr: "SASL_PLAINTEXT"},
		{name: "SASL_PLAINTEXT controller listener from the map alone", cfg: with(func(c *ListenerConfigs) {
			c.Listeners, c.ProtocolMap = "PLAINTEXT://:9092", "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
		}), wantErr: "SASL_PLAINTEXT"},
		{name: "CONTROLLER as a broker listener", cfg: with(func(c *ListenerConfigs) {
			c.Listeners, c.ControllerNames = "PLAINTEXT://:9092,CONTROLLER://:9093", []string{"CTL"}
		}), wantErr: "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ResolveListeners(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestListenerOverridesValidate(t *testing.T) {
	out, err := ValidateBrokerStatic(map[string]string{"listener.name.internal.ssl.client.auth": "required"})
	if err != nil || out["listener.name.internal.ssl.client.auth"] != "required" {
		t.Fatalf("per-listener ssl override: %v, %v", out, err)
	}
	for _, key := range []string{"listener.name.INTERNAL.ssl.client.auth", "listener.name.internal.log.retention.ms",
		"listener.name.internal.ssl.nonsense", "listener.name.internal.ssl.client.auth.x"} {
		if _, err := ValidateBrokerStatic(map[string]string{key: "required"}); err == nil {
			t.Errorf("%s accepted", key)
		}
	}
	if _, err := ValidateBrokerStatic(map[string]string{"listener.name.internal.ssl.client.auth": "sometimes"}); err == nil {
		t.Error("an invalid per-listener value accepted")
	}
}

package broker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// TestSASLListenerConfigs: two SASL listeners configured per listener: PUBLIC takes PLAIN
// users from sluice.sasl.plain.users.file and from its JAAS config; INTERNAL enables only
// SCRAM (listener.name.internal.sasl.enabled.mechanisms), so a PLAIN login there is refused with
// UNSUPPORTED_SASL_MECHANISM.
func TestSASLListenerConfigs(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("# PLAIN users\nfrank=frank-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), Overrides: map[string]string{
		"listeners":                      "PUBLIC://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map": "PUBLIC:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":     "PUBLIC",
		"listener.name.public.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
		"sluice.sasl.plain.users.file":                   users,
		"listener.name.internal.sasl.enabled.mechanisms": "SCRAM-SHA-256,SCRAM-SHA-512",
	}}
	b := startNodes(t, []Config{cfg}, closeTogether)[0]
	pub, _ := b.ListenerAddr("PUBLIC")
	internal, _ := b.ListenerAddr("INTERNAL")
	metadata := func(addr string, mech kgosasl.Mechanism) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		return err
	}
	for _, a := range []plain.Auth{{User: "alice", Pass: "alice-secret"}, {User: "frank", Pass: "frank-secret"}} {
		if err := metadata(pub, a.AsMechanism()); err != nil {
			t.Errorf("%s on PUBLIC: %v", a.User, err)
		}
	}
	if err := metadata(pub, plain.Auth{User: "frank", Pass: "wrong"}.AsMechanism()); err == nil {
		t.Error("a wrong password was accepted")
	}
	err := metadata(internal, plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	if err == nil || !strings.Contains(err.Error(), "UNSUPPORTED_SASL_MECHANISM") {
		t.Errorf("PLAIN on the SCRAM-only listener: %v", err)
	}
}

// TestSASLConfigErrors: a broker does not start with a SASL inter-broker listener lacking its
// own credentials, or a mechanism enabled without credentials.
func TestSASLConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		overrides map[string]string
		want      string
	}{
		"no inter-broker username": {map[string]string{
			"listeners":                                   "PUBLIC://127.0.0.1:0",
			"listener.security.protocol.map":              "PUBLIC:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"inter.broker.listener.name":                  "PUBLIC",
			"listener.name.public.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";`,
		}, "set username and password in listener.name.public.plain.sasl.jaas.config"},
		"OAUTHBEARER without a JWKS": {map[string]string{
			"listeners":                      "PLAINTEXT://127.0.0.1:0,PUBLIC://127.0.0.1:0",
			"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,PUBLIC:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"sasl.enabled.mechanisms":        "OAUTHBEARER",
		}, "mechanism OAUTHBEARER is enabled but has no credentials configured"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b, err := Start(ctx, Config{NodeID: 1, DataDir: t.TempDir(), ControllerAddr: freeAddr(t), Overrides: tc.overrides})
			if err == nil {
				b.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

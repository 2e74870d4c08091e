package tests

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	segkafka "github.com/segmentio/kafka-go"
	segsasl "github.com/segmentio/kafka-go/sasl"
	segplain "github.com/segmentio/kafka-go/sasl/plain"
	segscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	kgosasl "github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/internal/security/sasl/sasltest"
)

// saslBroker is a broker process with a PLAINTEXT listener (setup), a SASL_PLAINTEXT one and a
// SASL_SSL one (a PEM keystore with a certificate from a CA made with openssl, SANs 127.0.0.1
// and localhost): PLAIN user alice from each SASL listener's JAAS config, SCRAM user carol
// created through AlterUserScramCredentials, OAUTHBEARER against a JWKS file.
type saslBroker struct {
	n           *node
	saslAddr    string // SASL_PLAINTEXT
	saslSSLAddr string // SASL_SSL
	ca          *testCA
	issuer      *sasltest.Issuer
}

const saslTopic = "sasl-topic"

func startSASLBroker(t *testing.T) *saslBroker {
	t.Helper()
	issuer, jwks := newJWKSIssuer(t, "RS256", "test-key")
	ca := newTestCA(t)
	srv := ca.serverCert("broker", "/CN=broker-1")
	n, addrs := startWithProperties(t, `
listeners=PLAINTEXT://{ADDR1},SASL_PLAINTEXT://{ADDR2},SASL_SSL://{ADDR3}
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret";
ssl.keystore.type=PEM
ssl.keystore.location=`+srv.PEMFile+`
ssl.truststore.type=PEM
ssl.truststore.location=`+ca.CertFile+`
sasl.oauthbearer.jwks.endpoint.url=`+jwks+`
sasl.oauthbearer.expected.audience=kafka
sasl.oauthbearer.expected.issuer=https://issuer.test
`, "--add-scram", "SCRAM-SHA-256=[name=boot,password=boot-secret]")
	n.createTopic(saslTopic, 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, mech := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
		// One request per mechanism: KIP-554 refuses a user named twice in one request.
		res, err := n.admin().AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "carol", Mechanism: mech, Iterations: 4096, Password: "carol-secret"}})
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			t.Fatalf("create SCRAM user carol (%v): %v", mech, err)
		}
	}
	return &saslBroker{n: n, saslAddr: addrs[1], saslSSLAddr: addrs[2], ca: ca, issuer: issuer}
}

// saslListener is one of the broker's SASL listeners as its clients see it.
type saslListener struct {
	protocol string // security.protocol: SASL_PLAINTEXT or SASL_SSL (also the listener's name)
	addr     string
	caFile   string // the truststore (PEM) on SASL_SSL; "" on SASL_PLAINTEXT
	ca       *testCA
}

func (b *saslBroker) listeners() []saslListener {
	return []saslListener{
		{protocol: "SASL_PLAINTEXT", addr: b.saslAddr},
		{protocol: "SASL_SSL", addr: b.saslSSLAddr, caFile: b.ca.CertFile, ca: b.ca},
	}
}

// tlsConfig is a client TLS config trusting the test CA (verifying the broker's certificate
// for 127.0.0.1), nil on SASL_PLAINTEXT: a fresh one per client.
func (l saslListener) tlsConfig(t *testing.T) *tls.Config {
	if l.ca == nil {
		return nil
	}
	return &tls.Config{RootCAs: caPool(t, l.ca)}
}

// kcatArgs are kcat's (librdkafka's) options to reach the listener, without credentials.
func (l saslListener) kcatArgs() []string {
	args := []string{"-b", l.addr, "-X", "security.protocol=" + l.protocol}
	if l.caFile != "" {
		args = append(args, "-X", "ssl.ca.location="+l.caFile, "-X", "ssl.endpoint.identification.algorithm=https")
	}
	return args
}

// refusedByBroker runs refuse (a client logging in with bad credentials, which checks the
// client's own error) and then checks that the broker counted a failed authentication with
// mechanism on l: the client's error came from the broker's refusal, not from TLS or the
// connection. (The broker counts a refusal before writing its response.)
func (b *saslBroker) refusedByBroker(t *testing.T, l saslListener, mechanism string, refuse func()) {
	t.Helper()
	series := fmt.Sprintf(`sluice_sasl_authentication_failures_total{listener=%q,mechanism=%q}`, l.protocol, mechanism)
	before := scrapeMetrics(t, b.n)[series]
	refuse()
	// An exchange the client abandons instead (no refusal reached) is counted when the broker
	// sees the connection close: allow for that.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		after := scrapeMetrics(t, b.n)[series]
		if after > before {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s stayed %v: the broker refused no login", series, after)
			return
		}
	}
}

func (b *saslBroker) token(t *testing.T, sub string, ttl time.Duration) string {
	t.Helper()
	tok, err := b.issuer.Sign(sasltest.Claims(sub, "https://issuer.test", "kafka", ttl))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// franzRoundTrip produces one record through a SASL listener (over TLS with tlsCfg when not
// nil) and reads it back.
func franzRoundTrip(t *testing.T, addr string, tlsCfg *tls.Config, mech kgosasl.Mechanism, value string) error {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(addr), kgo.SASL(mech), kgo.DefaultProduceTopic(saslTopic),
		kgo.ConsumeTopics(saslTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd().Relative(-1)),
		kgo.RequestRetries(1), kgo.RecordDeliveryTimeout(15 * time.Second)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Metadata first: a refused login fails it at once (the producer would retry it until its
	// delivery timeout).
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
		return err
	}
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			return err
		}
		for _, r := range fs.Records() {
			if string(r.Value) == value {
				return nil
			}
		}
	}
	return ctx.Err()
}

// TestSASLClients: every client library authenticates to the SASL_PLAINTEXT listener and to the
// SASL_SSL one (verifying the broker's certificate against the test CA) with each mechanism it
// has, produces and consumes, and is refused with Kafka's error for a wrong password, an
// unknown user and an expired token, on both listeners of one broker process.
func TestSASLClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a broker process")
	}
	b := startSASLBroker(t)
	for _, l := range b.listeners() {
		t.Run(l.protocol, func(t *testing.T) { testSASLClientsOn(t, b, l) })
	}
}

func testSASLClientsOn(t *testing.T, b *saslBroker, l saslListener) {
	t.Run("franz-go", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			mech    kgosasl.Mechanism
			errText string // "" = must succeed
		}{
			{"PLAIN", plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(), ""},
			{"SCRAM-SHA-256", scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha256Mechanism(), ""},
			{"SCRAM-SHA-512", scram.Auth{User: "carol", Pass: "carol-secret"}.AsSha512Mechanism(), ""},
			{"SCRAM-SHA-256 user from --add-scram", scram.Auth{User: "boot", Pass: "boot-secret"}.AsSha256Mechanism(), ""},
			{"OAUTHBEARER", oauth.Auth{Token: b.token(t, "dave", time.Hour)}.AsMechanism(), ""},
			{"PLAIN wrong password", plain.Auth{User: "alice", Pass: "nope"}.AsMechanism(), "Authentication failed: Invalid username or password"},
			{"PLAIN unknown user", plain.Auth{User: "mallory", Pass: "alice-secret"}.AsMechanism(), "Authentication failed: Invalid username or password"},
			{"SCRAM wrong password", scram.Auth{User: "carol", Pass: "nope"}.AsSha512Mechanism(), "invalid credentials with SASL mechanism SCRAM-SHA-512"},
			{"SCRAM unknown user", scram.Auth{User: "mallory", Pass: "carol-secret"}.AsSha256Mechanism(), "invalid credentials with SASL mechanism SCRAM-SHA-256"},
			{"OAUTHBEARER expired token", oauth.Auth{Token: b.token(t, "dave", -time.Hour)}.AsMechanism(), "unexpected data in oauth response"}, // franz-go stops at the RFC 7628 error JSON
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := franzRoundTrip(t, l.addr, l.tlsConfig(t), tc.mech, "franz-"+l.protocol+"-"+tc.name)
				switch {
				case tc.errText == "" && err != nil:
					t.Fatal(err)
				case tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)):
					t.Fatalf("error %v, want one containing %q", err, tc.errText)
				}
			})
		}
		if l.ca != nil {
			// The listener really is TLS: right credentials, but a client trusting another CA
			// refuses the broker's certificate, and one without TLS gets no answer it can read.
			login := plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()
			other := &tls.Config{RootCAs: caPool(t, newTestCA(t))}
			if err := franzRoundTrip(t, l.addr, other, login, "franz-other-ca"); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
				t.Errorf("trusting another CA: %v, want an unknown-authority error", err)
			}
			if err := franzRoundTrip(t, l.addr, nil, login, "franz-no-tls"); err == nil {
				t.Error("a client without TLS was served on SASL_SSL")
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// An abandoned exchange (franz-go hangs up on OAUTHBEARER's error reply) is counted
		// when the broker sees the connection close: wait for that.
		var m map[string]float64
		oauthFailures := fmt.Sprintf(`sluice_sasl_authentication_failures_total{listener=%q,mechanism="OAUTHBEARER"}`, l.protocol)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			m = scrapeMetrics(t, b.n)
			if m[oauthFailures] >= 1 || time.Now().After(deadline) {
				break
			}
		}
		for _, series := range []string{
			fmt.Sprintf(`sluice_sasl_authentication_failures_total{listener=%q,mechanism="PLAIN"}`, l.protocol),
			fmt.Sprintf(`sluice_sasl_authentication_failures_total{listener=%q,mechanism="SCRAM-SHA-256"}`, l.protocol),
			oauthFailures,
			fmt.Sprintf(`sluice_sasl_authentication_successes_total{listener=%q,mechanism="SCRAM-SHA-512"}`, l.protocol),
		} {
			if m[series] < 1 {
				t.Errorf("%s = %v after the franz-go logins, want at least 1", series, m[series])
			}
		}
	})

	t.Run("kcat", func(t *testing.T) {
		requireKcat(t)
		for _, tc := range []struct{ mech, user, pass string }{
			{"PLAIN", "alice", "alice-secret"}, {"SCRAM-SHA-256", "carol", "carol-secret"}, {"SCRAM-SHA-512", "carol", "carol-secret"},
		} {
			args := append(l.kcatArgs(), "-X", "sasl.mechanisms="+tc.mech, "-X", "sasl.username="+tc.user, "-X", "sasl.password="+tc.pass)
			value := "kcat-" + l.protocol + "-" + tc.mech
			runClient(t, 30*time.Second, value+"\n", "kcat", append(args, "-P", "-t", saslTopic)...)
			out := runClient(t, 30*time.Second, "", "kcat", append(args, "-C", "-t", saslTopic, "-o", "-1", "-e", "-q")...)
			if out != value+"\n" {
				t.Fatalf("%s: consumed %q", tc.mech, out)
			}
		}
		for _, tc := range []struct{ name, mech, user, pass string }{
			{"wrong password", "PLAIN", "alice", "nope"}, {"unknown user", "SCRAM-SHA-256", "mallory", "carol-secret"},
		} {
			b.refusedByBroker(t, l, tc.mech, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				args := append(l.kcatArgs(), "-X", "sasl.mechanisms="+tc.mech, "-X", "sasl.username="+tc.user, "-X", "sasl.password="+tc.pass, "-L", "-m", "5")
				out, err := exec.CommandContext(ctx, "kcat", args...).CombinedOutput()
				cancel()
				if err == nil || !strings.Contains(string(out), "Authentication failed") {
					t.Fatalf("%s: kcat -L: err %v, output:\n%s", tc.name, err, out)
				}
			})
		}
	})

	t.Run("python", func(t *testing.T) {
		requirePython(t, "kafka")
		requirePython(t, "confluent_kafka")
		for _, tc := range []struct {
			lib, mech, user, secret string
			want                    string // "" = success; else text in the error
		}{
			{"kafka-python", "PLAIN", "alice", "alice-secret", ""},
			{"kafka-python", "SCRAM-SHA-256", "carol", "carol-secret", ""},
			{"kafka-python", "SCRAM-SHA-512", "carol", "carol-secret", ""},
			// kafka-python 2.0.2 reports any failed connection, a refused login included, as NoBrokersAvailable.
			{"kafka-python", "PLAIN", "alice", "nope", "NoBrokersAvailable"},
			{"kafka-python", "SCRAM-SHA-256", "mallory", "x", "NoBrokersAvailable"},
			{"confluent", "PLAIN", "alice", "alice-secret", ""},
			{"confluent", "SCRAM-SHA-512", "carol", "carol-secret", ""},
			{"confluent", "OAUTHBEARER", "-", b.token(t, "erin", time.Hour), ""},
			{"confluent", "PLAIN", "alice", "nope", "Authentication failed: Invalid username or password"},
			{"confluent", "OAUTHBEARER", "-", b.token(t, "erin", -time.Hour), "invalid_token"},
		} {
			args := []string{"python/sasl_clients.py", tc.lib, l.addr, saslTopic, tc.mech, tc.user, tc.secret, l.protocol}
			if l.caFile != "" {
				args = append(args, l.caFile)
			}
			run := func() {
				out := runClient(t, 90*time.Second, "", "/usr/bin/python3", args...)
				var res struct {
					OK    bool   `json:"ok"`
					Value string `json:"value"`
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("%s %s: %v: %s", tc.lib, tc.mech, err, out)
				}
				switch {
				case tc.want == "" && (!res.OK || !strings.HasPrefix(res.Value, tc.lib+"-"+l.protocol+"-"+tc.mech)):
					t.Errorf("%s %s as %s: %+v", tc.lib, tc.mech, tc.user, res)
				case tc.want != "" && (res.OK || !strings.Contains(res.Error, tc.want)):
					t.Errorf("%s %s as %s with a bad secret: %+v, want an error containing %q", tc.lib, tc.mech, tc.user, res, tc.want)
				}
			}
			if tc.want == "" {
				run()
			} else {
				b.refusedByBroker(t, l, tc.mech, run)
			}
		}
	})

	t.Run("sarama", func(t *testing.T) {
		for _, v := range []int16{sarama.SASLHandshakeV0, sarama.SASLHandshakeV1} {
			version := sarama.V2_8_0_0
			if v == sarama.SASLHandshakeV0 {
				version = sarama.V1_0_0_0 // with a v0 handshake sarama sends no ApiVersions
			}
			for _, pass := range []string{"alice-secret", "nope"} {
				cfg := sarama.NewConfig()
				cfg.Version = version
				cfg.ApiVersionsRequest = v != sarama.SASLHandshakeV0
				cfg.Producer.Return.Successes = true
				cfg.Net.SASL.Enable, cfg.Net.SASL.Mechanism, cfg.Net.SASL.Version = true, sarama.SASLTypePlaintext, v
				cfg.Net.SASL.User, cfg.Net.SASL.Password = "alice", pass
				if tlsCfg := l.tlsConfig(t); tlsCfg != nil {
					cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, tlsCfg
				}
				cfg.Metadata.Retry.Max = 0
				if pass == "nope" {
					b.refusedByBroker(t, l, "PLAIN", func() {
						if p, err := sarama.NewSyncProducer([]string{l.addr}, cfg); err == nil {
							p.Close()
							t.Fatalf("handshake v%d: wrong password accepted", v)
						}
					})
					continue
				}
				p, err := sarama.NewSyncProducer([]string{l.addr}, cfg)
				if err != nil {
					t.Fatalf("handshake v%d: %v", v, err)
				}
				value := fmt.Sprintf("sarama-%s-v%d", l.protocol, v)
				part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: saslTopic, Value: sarama.StringEncoder(value)})
				p.Close()
				if err != nil {
					t.Fatalf("handshake v%d: produce: %v", v, err)
				}
				c, err := sarama.NewConsumer([]string{l.addr}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				pc, err := c.ConsumePartition(saslTopic, part, off)
				if err != nil {
					t.Fatal(err)
				}
				select {
				case m := <-pc.Messages():
					if string(m.Value) != value {
						t.Fatalf("consumed %q", m.Value)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("sarama consumed nothing")
				}
				pc.Close()
				c.Close()
			}
		}
	})

	t.Run("kafka-go", func(t *testing.T) {
		scram256, err := segscram.Mechanism(segscram.SHA256, "carol", "carol-secret")
		if err != nil {
			t.Fatal(err)
		}
		badScram, err := segscram.Mechanism(segscram.SHA512, "carol", "nope")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			mech segsasl.Mechanism
			ok   bool
		}{
			{"PLAIN", segplain.Mechanism{Username: "alice", Password: "alice-secret"}, true},
			{"SCRAM-SHA-256", scram256, true},
			{"PLAIN wrong password", segplain.Mechanism{Username: "alice", Password: "nope"}, false},
			{"SCRAM wrong password", badScram, false},
		} {
			if !tc.ok {
				b.refusedByBroker(t, l, tc.mech.Name(), func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					w := &segkafka.Writer{Addr: segkafka.TCP(l.addr), Topic: saslTopic,
						Transport: &segkafka.Transport{SASL: tc.mech, TLS: l.tlsConfig(t)}, MaxAttempts: 1, BatchTimeout: 10 * time.Millisecond}
					err := w.WriteMessages(ctx, segkafka.Message{Value: []byte("kafka-go-refused")})
					w.Close()
					if err == nil || !strings.Contains(err.Error(), "SASL Authentication Failed") {
						t.Fatalf("%s: %v", tc.name, err)
					}
				})
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			transport := &segkafka.Transport{SASL: tc.mech, TLS: l.tlsConfig(t)}
			// BatchTimeout and MaxWait: the defaults (1 s per write, 10 s for Close to wait out the
			// reader's long poll) would be most of the test's time.
			w := &segkafka.Writer{Addr: segkafka.TCP(l.addr), Topic: saslTopic, Transport: transport, MaxAttempts: 1,
				BatchTimeout: 10 * time.Millisecond}
			value := "kafka-go-" + l.protocol + "-" + tc.name
			err := w.WriteMessages(ctx, segkafka.Message{Value: []byte(value)})
			w.Close()
			if err != nil {
				cancel()
				t.Fatalf("%s: %v", tc.name, err)
			}
			r := segkafka.NewReader(segkafka.ReaderConfig{Brokers: []string{l.addr}, Topic: saslTopic, Partition: 0,
				MaxWait: 500 * time.Millisecond, Dialer: &segkafka.Dialer{Timeout: 10 * time.Second, SASLMechanism: tc.mech, TLS: l.tlsConfig(t)}})
			r.SetOffsetAt(ctx, time.Now().Add(-time.Minute))
			found := false
			for !found {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					t.Fatalf("%s: read: %v", tc.name, err)
				}
				found = string(m.Value) == value
			}
			r.Close()
			cancel()
		}
	})
}

// newJWKSIssuer returns a token issuer with a new key of alg (named kid) and the path of a
// JWKS file holding its public key, for sasl.oauthbearer.jwks.endpoint.url.
func newJWKSIssuer(t *testing.T, alg, kid string) (*sasltest.Issuer, string) {
	t.Helper()
	issuer, err := sasltest.NewIssuer(alg, kid)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := sasltest.WriteJWKS(t.TempDir(), issuer)
	if err != nil {
		t.Fatal(err)
	}
	return issuer, jwks
}

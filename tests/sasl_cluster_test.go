package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testkit"
)

// TestInterBrokerSASL: three brokers whose inter-broker listener is SASL_PLAINTEXT replicate
// acks=all writes to every replica, their replica fetchers authenticating with
// sasl.mechanism.inter.broker.protocol (PLAIN from the listener's JAAS users; SCRAM-SHA-512
// with a credential created through AlterUserScramCredentials), and the brokers count those
// logins; with a wrong inter-broker password the followers' logins are refused and counted, and
// only the leader holds the writes.
func TestInterBrokerSASL(t *testing.T) {
	if testing.Short() {
		t.Skip("three nodes")
	}
	base := map[string]string{
		"listeners":                      "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":     "INTERNAL",
		"listener.name.internal.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="broker" password="broker-secret" user_broker="broker-secret";`,
	}
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		scramUser bool
		replicate bool
	}{
		{"PLAIN", nil, false, true},
		{"SCRAM-SHA-512", map[string]string{
			"sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
			"listener.name.internal.scram-sha-512.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required ` +
				`username="repl" password="repl-secret";`,
		}, true, true},
		{"wrong password", map[string]string{
			"listener.name.internal.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
				`username="broker" password="not-it" user_broker="broker-secret";`,
		}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overrides := map[string]string{}
			for k, v := range base {
				overrides[k] = v
			}
			for k, v := range tc.overrides {
				overrides[k] = v
			}
			c := testkit.StartCluster(t, testkit.Options{Nodes: 3, Overrides: overrides})
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			adm := kadm.NewClient(c.Client())
			if tc.scramUser {
				res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "repl", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "repl-secret"}})
				if err == nil {
					err = res.Error()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			const topic = "sasl-replicated"
			if _, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("3")}, topic); err != nil {
				t.Fatal(err)
			}
			const n = 100
			if !tc.replicate {
				// acks=1: the leader takes the writes; followers that cannot log in never copy them.
				prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
				for i := range n {
					if err := prod.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "r%d", i)}).FirstErr(); err != nil {
						t.Fatal(err)
					}
				}
				refused := func() float64 {
					var sum float64
					for _, id := range c.IDs() {
						if m := c.Node(id).SASLMetrics(); m != nil {
							sum += testutil.ToFloat64(m.FailuresVec().WithLabelValues("INTERNAL", "PLAIN"))
						}
					}
					return sum
				}
				for refused() < 4 { // both followers tried, and tried again, after the writes
					if ctx.Err() != nil {
						t.Fatal("no failed inter-broker logins counted")
					}
					time.Sleep(50 * time.Millisecond)
				}
				var copies int
				for _, id := range c.IDs() {
					if p, ok := c.Node(id).Partitions().Partition(topic, 0); ok && p.LogEndOffset() == n {
						copies++
					}
				}
				if copies != 1 {
					t.Fatalf("%d replicas hold the writes, want only the leader's", copies)
				}
				return
			}
			prod := c.Client(kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
			var failed error
			for i := range n {
				if err := prod.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "r%d", i)}).FirstErr(); err != nil {
					failed = err
					break
				}
			}
			if failed != nil {
				t.Fatalf("acks=all produce: %v", failed)
			}
			for _, id := range c.IDs() {
				p, ok := c.Node(id).Partitions().Partition(topic, 0)
				if !ok || p.LogEndOffset() != n {
					t.Fatalf("node %d: replica missing or short (ok %v)", id, ok)
				}
			}
			var logins float64
			for _, id := range c.IDs() {
				logins += testutil.ToFloat64(c.Node(id).SASLMetrics().SuccessesVec().WithLabelValues("INTERNAL", tc.name))
			}
			if logins == 0 {
				t.Fatalf("no %s inter-broker login counted", tc.name)
			}
			if tc.name == "PLAIN" {
				transactionOverSASL(ctx, t, c, adm)
			}
		})
	}
}

// transactionOverSASL commits a transaction over three partitions led by different brokers: the
// coordinator writes WriteTxnMarkers over the SASL inter-broker listener to the other leaders,
// and a read_committed consumer sees every record only once all markers are written.
func transactionOverSASL(ctx context.Context, t *testing.T, c *testkit.Cluster, adm *kadm.Client) {
	t.Helper()
	const topic, n = "sasl-txn", 30
	if _, err := adm.CreateTopic(ctx, 3, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	txp := c.Client(kgo.TransactionalID("sasl-txn"), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err := txp.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := txp.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "txn-%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := txp.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	cons := c.Client(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for seen := 0; seen < n; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("read_committed consumer saw %d of %d transactional records: %v", seen, n, err)
		}
		seen += len(fs.Records())
	}
}

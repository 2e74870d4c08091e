package tests

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// confluentWire is Confluent's wire format: the magic byte 0, the schema id, the payload.
func confluentWire(id int, payload []byte) []byte {
	b := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	return append(b, payload...)
}

// produceOne produces one record synchronously and returns its error.
func produceOne(t *testing.T, cl *kgo.Client, r *kgo.Record) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, r).FirstErr()
}

// TestRegistrySchemaIDValidation: a real `sluice serve`, topics with
// sluice.value.schema.id.validation / sluice.key.schema.id.validation on. A franz-go producer
// of values without a schema id, or with an id no schema has, is refused with INVALID_RECORD
// (compressed batches too); once `sluice schema register` has registered the schema under the
// topic's subject, the same records are accepted and read back. A topic without validation
// takes anything, and turning validation off (AlterConfigs) lets anything in again.
func TestRegistrySchemaIDValidation(t *testing.T) {
	n := startNode(t)
	on := "true"
	n.createTopic("payments", 1, map[string]*string{"sluice.value.schema.id.validation": &on})
	n.createTopic("keyed", 1, map[string]*string{"sluice.key.schema.id.validation": &on})
	n.createTopic("free", 1, nil)
	plain := n.client(kgo.ProducerLinger(0), kgo.RecordRetries(2))
	zstd := n.client(kgo.ProducerLinger(0), kgo.RecordRetries(2), kgo.ProducerBatchCompression(kgo.ZstdCompression()))

	refused := func(cl *kgo.Client, r *kgo.Record, why string) {
		t.Helper()
		err := produceOne(t, cl, r)
		if !errors.Is(err, kerr.InvalidRecord) {
			t.Fatalf("%s: produce error %v, want INVALID_RECORD", why, err)
		}
	}
	accepted := func(cl *kgo.Client, r *kgo.Record, why string) {
		t.Helper()
		if err := produceOne(t, cl, r); err != nil {
			t.Fatalf("%s: %v", why, err)
		}
	}
	payload := []byte("\x02\x0apayment-1") // an Avro record {id: 1, name: "payment-1"}
	refused(plain, &kgo.Record{Topic: "payments", Value: []byte(`{"id":1}`)}, "plain JSON, no schema id")
	refused(plain, &kgo.Record{Topic: "payments", Value: confluentWire(1, payload)}, "id 1 before any schema is registered")
	refused(zstd, &kgo.Record{Topic: "payments", Value: confluentWire(1, payload)}, "zstd batch, id 1 unregistered")
	accepted(plain, &kgo.Record{Topic: "payments", Key: []byte("k")}, "a tombstone (null value)")
	accepted(plain, &kgo.Record{Topic: "free", Value: []byte("anything")}, "a topic without validation")

	// Register the schema (over HTTP, waiting for the registry's writer), and again with the
	// CLI, which finds it there under the same id.
	const paymentSchema = `{"type":"record","name":"Payment","fields":[{"name":"id","type":"int"},{"name":"name","type":"string"}]}`
	id := srRegister(t, n.registryAddr, "payments-value", paymentSchema)
	schema := filepath.Join(t.TempDir(), "payment.avsc")
	if err := os.WriteFile(schema, []byte(paymentSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runSluice(t, n, "", "schema", "register", "payments-value", "--file", schema, "--schema-registry", "http://"+n.registryAddr)
	if want := fmt.Sprintf("subject payments-value version 1 id %d\n", id); res.code != 0 || res.stdout != want {
		t.Fatalf("sluice schema register: exit %d, %q, want %q; %s", res.code, res.stdout, want, res.stderr)
	}

	accepted(plain, &kgo.Record{Topic: "payments", Value: confluentWire(id, payload)}, "registered id")
	accepted(zstd, &kgo.Record{Topic: "payments", Value: confluentWire(id, payload)}, "registered id, zstd")
	refused(plain, &kgo.Record{Topic: "payments", Value: confluentWire(id+1000, payload)}, "an unknown id")
	refused(plain, &kgo.Record{Topic: "keyed", Key: confluentWire(id, []byte("k")), Value: []byte("v")},
		"the value subject's id used for a key (keyed-key has no schema)")
	accepted(plain, &kgo.Record{Topic: "keyed", Value: []byte("v")}, "a null key")

	// What was accepted is what a consumer reads, in order.
	cons := n.client(kgo.ConsumeTopics("payments"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < 3 {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v (after %d records)", err, len(got))
		}
		got = append(got, fs.Records()...)
	}
	if got[0].Value != nil || string(got[1].Value) != string(confluentWire(id, payload)) || string(got[2].Value) != string(confluentWire(id, payload)) {
		t.Fatalf("read back %q %q %q", got[0].Value, got[1].Value, got[2].Value)
	}

	// Validation off (a dynamic topic config): anything goes again.
	off := "false"
	resp, err := n.admin().AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "sluice.value.schema.id.validation", Value: &off}}, "payments")
	if err == nil {
		err = resp[0].Err
	}
	if err != nil {
		t.Fatalf("alter config: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for produceOne(t, plain, &kgo.Record{Topic: "payments", Value: []byte("raw")}) != nil {
		if time.Now().After(deadline) {
			t.Fatal("records without a schema id still refused 10 s after validation was turned off")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

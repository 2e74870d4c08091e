package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/acl"
)

// BenchmarkProduceAcksAllAuthorized is BenchmarkProduceAcksAll with the ACL authorizer on
// (1,000 ACLs of other principals besides the producer's): compare the two in one run for the
// cost of authorization on the produce path.
func BenchmarkProduceAcksAllAuthorized(b *testing.B) {
	br := startBroker(b)
	br.createTopic("bench", 6, nil)
	az, err := acl.New(acl.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var recs []metadata.Record
	add := func(principal, topic string, op kmsg.ACLOperation) {
		n := len(recs) + 1
		recs = append(recs, &metadata.AccessControlEntryRecord{ID: metadata.ACLID{14: byte(n >> 8), 15: byte(n)},
			ResourceType: int8(kmsg.ACLResourceTypeTopic), ResourceName: topic, PatternType: metadata.ACLPatternLiteral,
			Principal: principal, Host: "*", Operation: int8(op), Permission: metadata.ACLPermissionAllow})
	}
	for i := range 1000 {
		add(fmt.Sprintf("User:u%d", i), fmt.Sprintf("topic-%d", i), kmsg.ACLOperationWrite)
	}
	add("User:ANONYMOUS", "bench", kmsg.ACLOperationWrite) // Write implies the Describe Metadata asks
	az.Update(br.apply(recs))
	br.env.Authorizer = az // before any request: the server reads env per request
	cl := br.client(kgo.DefaultProduceTopic("bench"), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.ProducerBatchCompression(kgo.NoCompression()))
	value := make([]byte, 1024)
	ctx := context.Background()
	var wg sync.WaitGroup
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	for range b.N {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
}

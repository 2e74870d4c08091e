package tests

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLessCommonAPIs drives, with franz-go against a real broker, the APIs the everyday
// client paths do not: OffsetForLeaderEpoch, DescribeLogDirs, legacy AlterConfigs,
// UpdateFeatures, DescribeCluster, DescribeTopicPartitions and ListConfigResources.
func TestLessCommonAPIs(t *testing.T) {
	n := startNode(t)
	n.createTopic("audit", 2, nil)
	cl := n.client()
	produceSync(t, cl, "audit", 40)
	adm := kadm.NewClient(cl)
	ctx := ctxTimeout(t, 30*time.Second)

	md, err := adm.Metadata(ctx, "audit")
	if err != nil {
		t.Fatal(err)
	}
	p0 := md.Topics["audit"].Partitions[0]
	ends, err := adm.ListEndOffsets(ctx, "audit")
	if err != nil {
		t.Fatal(err)
	}
	end0, _ := ends.Lookup("audit", 0)

	t.Run("OffsetForLeaderEpoch", func(t *testing.T) {
		var req kadm.OffsetForLeaderEpochRequest
		req.Add("audit", 0, p0.LeaderEpoch)
		resp, err := adm.OffsetForLeaderEpoch(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got := resp["audit"][0]
		if got.Err != nil || got.LeaderEpoch != p0.LeaderEpoch || got.EndOffset != end0.Offset {
			t.Fatalf("epoch %d: got epoch %d end %d err %v, want epoch %d end %d", p0.LeaderEpoch, got.LeaderEpoch, got.EndOffset, got.Err, p0.LeaderEpoch, end0.Offset)
		}
	})

	t.Run("DescribeLogDirs", func(t *testing.T) {
		dirs, err := adm.DescribeAllLogDirs(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		part, ok := dirs[1].LookupPartition("audit", 0)
		if !ok || part.Size <= 0 {
			t.Fatalf("log dirs of broker 1: audit-0 found=%v size=%d", ok, part.Size)
		}
	})

	t.Run("AlterConfigs", func(t *testing.T) {
		resp, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("120000")}}, "audit")
		if err != nil || resp[0].Err != nil {
			t.Fatalf("alter configs: %v %+v", err, resp)
		}
		bad, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("soon")}}, "audit")
		if err != nil || bad[0].Err != kerr.InvalidConfig {
			t.Fatalf("alter configs with a bad value: %v %+v, want INVALID_CONFIG", err, bad)
		}
		rc, err := adm.DescribeTopicConfigs(ctx, "audit")
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := rc.On("audit", nil)
		for _, c := range cfg.Configs {
			if c.Key == "retention.ms" && c.MaybeValue() != "120000" {
				t.Fatalf("retention.ms = %q after AlterConfigs", c.MaybeValue())
			}
		}
	})

	t.Run("UpdateFeatures", func(t *testing.T) {
		resp, err := adm.UpdateFeatures(ctx, true, kadm.FeatureUpdate{Feature: "no.such.feature", MaxVersionLevel: 1, UpgradeType: 1})
		if err != nil {
			t.Fatal(err)
		}
		if resp["no.such.feature"].Err == nil {
			t.Fatal("updating an unknown feature succeeded")
		}
	})

	t.Run("DescribeCluster", func(t *testing.T) {
		req := kmsg.NewPtrDescribeClusterRequest()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ErrorCode != 0 || len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1 || resp.ClusterID == "" || resp.ControllerID != 1 {
			t.Fatalf("DescribeCluster: error %d, %d brokers, cluster id %q, controller %d", resp.ErrorCode, len(resp.Brokers), resp.ClusterID, resp.ControllerID)
		}
	})

	t.Run("DescribeTopicPartitions", func(t *testing.T) {
		req := kmsg.NewPtrDescribeTopicPartitionsRequest()
		rt := kmsg.NewDescribeTopicPartitionsRequestTopic()
		rt.Topic = "audit"
		req.Topics = append(req.Topics, rt)
		req.ResponsePartitionLimit = 1
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.NextCursor == nil || resp.NextCursor.Partition != 1 {
			t.Fatalf("DescribeTopicPartitions with a limit of 1: %+v", resp)
		}
	})

	t.Run("ListConfigResources", func(t *testing.T) {
		req := kmsg.NewPtrListConfigResourcesRequest()
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range resp.ConfigResources {
			found = found || r.Name == "audit"
		}
		if resp.ErrorCode != 0 || !found {
			t.Fatalf("ListConfigResources: error %d, resources %+v", resp.ErrorCode, resp.ConfigResources)
		}
	})
}

// TestFetchMaxBytesCaps: the broker's fetch.max.bytes bounds a Fetch response whatever the
// client asks for; the first batch still comes back whole (KIP-74) so consumers progress.
func TestFetchMaxBytesCaps(t *testing.T) {
	n := startNode(t, "--override", "fetch.max.bytes=1024")
	n.createTopic("capped", 1, nil)
	cl := n.client(kgo.ProducerBatchCompression(kgo.NoCompression()))
	ctx := ctxTimeout(t, 30*time.Second)
	value := make([]byte, 900)
	for i := 0; i < 10; i++ { // one batch each
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "capped", Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes, req.MaxWaitMillis, req.MinBytes = 10<<20, 100, 1
	md, err := kadm.NewClient(cl).Metadata(ctx, "capped")
	if err != nil {
		t.Fatal(err)
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = "capped", md.Topics["capped"].ID // v13+ address topics by id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 10 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch response: %+v", resp)
	}
	got := resp.Topics[0].Partitions[0]
	batches := 0
	for b := got.RecordBatches; len(b) >= 61; batches++ {
		size := 12 + int(binary.BigEndian.Uint32(b[8:12]))
		if size > len(b) {
			break
		}
		b = b[size:]
	}
	if got.ErrorCode != 0 || batches != 1 {
		t.Fatalf("fetch with fetch.max.bytes=1024 returned %d whole batches (%d bytes, error %d), want exactly the first", batches, len(got.RecordBatches), got.ErrorCode)
	}
}

package api_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/record"
)

// The cost of message formats v0/v1 against v2, through the real server and storage over
// loopback, one request at a time: Produce v9 (a v2 batch, appended as sent) against v2
// (magic 1) and v1 (magic 0) sets, which are converted first; Fetch v11 (v2 batches spliced
// with sendfile) against v3 (magic 1) and v1 (magic 0), which copy and down-convert. Run
// all in one process so the ratios compare like with like:
//
//	go test ./internal/api -run '^$' -bench 'Legacy(Produce|Fetch)' -benchtime 2000x -count 3

const (
	legacyBenchRecords = 100
	legacyBenchValue   = 100
)

// legacyBenchBatch is one request's records: 100 records of 100-byte values as a v2 batch
// (magic 2) or a legacy set of magic 0/1, with codec.
func legacyBenchBatch(b *testing.B, magic int8, codec record.Codec) []byte {
	b.Helper()
	bb := record.NewBuilder(codec)
	for i := range legacyBenchRecords {
		v := []byte(fmt.Sprintf("%0*d", legacyBenchValue, i))
		bb.Add(1_700_000_000_000+int64(i), []byte(fmt.Sprintf("key-%d", i)), v)
	}
	batch, err := bb.Build(nil)
	if err != nil {
		b.Fatal(err)
	}
	if magic == 2 {
		return batch
	}
	set, _, err := record.DownConvert(nil, batch, record.DownConvertOptions{Magic: magic, MaxBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	return set
}

var legacyBenchVersions = []struct {
	name    string
	produce int16
	fetch   int16
	magic   int8
}{
	{"v2-batches", 9, 11, 2},
	{"magic1", 2, 3, 1},
	{"magic0", 1, 1, 0},
}

func BenchmarkLegacyProduce(b *testing.B) {
	br := startBroker(b)
	for _, codec := range []record.Codec{record.None, record.LZ4, record.Gzip} {
		for _, v := range legacyBenchVersions {
			topic := fmt.Sprintf("produce-%s-%s", codec, v.name)
			br.createTopic(topic, 1, nil)
			c := br.dial()
			b.Run(fmt.Sprintf("%s/%s", codec, v.name), func(b *testing.B) {
				records := legacyBenchBatch(b, v.magic, codec)
				req := kmsg.NewPtrProduceRequest()
				req.Version, req.Acks, req.TimeoutMillis = v.produce, 1, 10_000
				rt := kmsg.NewProduceRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewProduceRequestTopicPartition()
				rp.Records = records
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				b.SetBytes(legacyBenchRecords * legacyBenchValue)
				b.ResetTimer()
				for range b.N {
					sp := c.send(req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
					if sp.ErrorCode != 0 {
						b.Fatalf("produce: error %d", sp.ErrorCode)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*legacyBenchRecords), "ns/record")
			})
		}
	}
}

func BenchmarkLegacyFetch(b *testing.B) {
	br := startBroker(b)
	for _, codec := range []record.Codec{record.None, record.LZ4, record.Gzip} {
		topic := "fetch-" + codec.String()
		br.createTopic(topic, 1, nil)
		c := br.dial()
		// 100 batches of 100 records: about 1 MiB of values, read whole by each fetch.
		produce := kmsg.NewPtrProduceRequest()
		produce.Version, produce.Acks, produce.TimeoutMillis = 9, 1, 10_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = legacyBenchBatch(b, 2, codec)
		rt.Partitions = append(rt.Partitions, rp)
		produce.Topics = append(produce.Topics, rt)
		for range 100 {
			if sp := c.send(produce).(*kmsg.ProduceResponse).Topics[0].Partitions[0]; sp.ErrorCode != 0 {
				b.Fatalf("produce: error %d", sp.ErrorCode)
			}
		}
		for _, v := range legacyBenchVersions {
			b.Run(fmt.Sprintf("%s/%s", codec, v.name), func(b *testing.B) {
				var got int
				b.SetBytes(100 * legacyBenchRecords * legacyBenchValue)
				b.ResetTimer()
				for range b.N {
					rp := fetchRaw(b, c, v.fetch, topic, 0, 4<<20)
					if rp.ErrorCode != 0 || len(rp.RecordBatches) == 0 {
						b.Fatalf("fetch: error %d, %d bytes", rp.ErrorCode, len(rp.RecordBatches))
					}
					got = len(rp.RecordBatches)
				}
				b.ReportMetric(float64(got), "response-record-bytes")
			})
		}
	}
}

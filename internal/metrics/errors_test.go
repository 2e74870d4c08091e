package metrics

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// TestEveryRegisteredAPIHasErrorCodes keeps sluice_errors_total complete: every API Sluice
// serves must have its response's error codes known to eachErrorCode.
func TestEveryRegisteredAPIHasErrorCodes(t *testing.T) {
	for _, a := range api.APIs() {
		if !eachErrorCode(kmsg.ResponseForKey(a.Key), func(int16) {}) {
			t.Errorf("%s (key %d) is registered in internal/api but eachErrorCode has no case for its response", a.Name(), a.Key)
		}
	}
}

func TestEachErrorCodeCountsNested(t *testing.T) {
	resp := kmsg.NewPtrOffsetDeleteResponse()
	resp.ErrorCode = 15
	topic := kmsg.NewOffsetDeleteResponseTopic()
	for _, code := range []int16{0, 3, 0, 86} {
		p := kmsg.NewOffsetDeleteResponseTopicPartition()
		p.ErrorCode = code
		topic.Partitions = append(topic.Partitions, p)
	}
	resp.Topics = append(resp.Topics, topic)
	var got []int16
	if !eachErrorCode(resp, func(c int16) { got = append(got, c) }) {
		t.Fatal("OffsetDelete response not known")
	}
	if len(got) != 3 || got[0] != 15 || got[1] != 3 || got[2] != 86 {
		t.Fatalf("codes %v, want [15 3 86] (zeros skipped)", got)
	}
}

package api_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConsumerGroupRegexAssignsInternalTopics: a KIP-848 member whose broker-side regex
// matches __consumer_offsets is assigned its partitions, as Kafka 4 resolves regexes against
// every topic; one whose regex does not match it is not.
func TestConsumerGroupRegexAssignsInternalTopics(t *testing.T) {
	g := startGroupBroker(t)
	g.createTopic("__consumer_offsets", 3, nil)
	g.createTopic("orders", 2, nil)
	offsets, _ := g.Image().Topic("__consumer_offsets")
	orders, _ := g.Image().Topic("orders")
	c := g.groupConn()
	join := func(group, regex string) map[[16]byte]int {
		t.Helper()
		req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
		req.Version, req.Group, req.MemberID, req.MemberEpoch, req.RebalanceTimeoutMillis = 1, group, "m-"+group, 0, 30000
		req.SubscribedTopicRegex = kmsg.StringPtr(regex)
		req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
		resp := c.send(req).(*kmsg.ConsumerGroupHeartbeatResponse)
		if resp.ErrorCode != 0 || resp.Assignment == nil {
			t.Fatalf("%s (%s): %+v", group, regex, resp)
		}
		got := map[[16]byte]int{}
		for _, tp := range resp.Assignment.Topics {
			got[tp.TopicID] = len(tp.Partitions)
		}
		return got
	}
	if got := join("internal", "__consumer_off.*"); len(got) != 1 || got[offsets.ID] != 3 {
		t.Fatalf("regex matching __consumer_offsets assigned %v, want its 3 partitions", got)
	}
	if got := join("everything", ".*"); len(got) != 2 || got[offsets.ID] != 3 || got[orders.ID] != 2 {
		t.Fatalf("regex .* assigned %v, want __consumer_offsets' 3 and orders' 2 partitions", got)
	}
	if got := join("orders-only", "ord.*"); len(got) != 1 || got[orders.ID] != 2 {
		t.Fatalf("regex ord.* assigned %v, want orders' 2 partitions", got)
	}
}

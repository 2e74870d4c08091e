package api

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/partition"
)

// hostedPartition finds the local partition a data-path request addresses.
// The error code is UNKNOWN_TOPIC_OR_PARTITION when the metadata has no
// such partition and NOT_LEADER_OR_FOLLOWER when it exists but this node
// does not host it (yet): clients refresh metadata and retry. Leadership
// itself is checked by the partition.
func hostedPartition(env *Env, t *metadata.Topic, index int32) (*partition.Partition, int16) {
	if _, ok := t.Partition(index); !ok {
		return nil, kerr.UnknownTopicOrPartition.Code
	}
	p, ok := env.Partitions.Partition(t.Name, index)
	if !ok || p.TopicID() != t.ID {
		return nil, kerr.NotLeaderForPartition.Code
	}
	return p, 0
}

// liveLeader is the partition's leader if that broker is registered and not
// fenced, else -1.
func liveLeader(img *metadata.Image, p *metadata.Partition) int32 {
	if b, ok := img.Broker(p.Leader); ok && !b.Fenced {
		return p.Leader
	}
	return -1
}

// brokerAddress is the host and port a client reaches broker id at on
// listener; a broker without that listener has none (Kafka leaves it out).
func brokerAddress(img *metadata.Image, id int32, listener string) (host string, port int32, rack *string, ok bool) {
	b, found := img.Broker(id)
	if !found || b.Fenced {
		return "", 0, nil, false
	}
	e, found := b.Endpoint(listener)
	if !found {
		return "", 0, nil, false
	}
	if b.Rack != "" {
		r := b.Rack
		rack = &r
	}
	return e.Host, e.Port, rack, true
}

// leaderEndpoints collects the endpoints of leaders named in
// NOT_LEADER_OR_FOLLOWER answers (KIP-951), so clients can redirect without
// a metadata round trip.
type leaderEndpoints struct {
	img      *metadata.Image
	listener string
	ids      []int32
}

// add records a leader id once.
func (l *leaderEndpoints) add(id int32) {
	if id < 0 {
		return
	}
	for _, x := range l.ids {
		if x == id {
			return
		}
	}
	l.ids = append(l.ids, id)
}

// currentLeader returns the partition's live leader and epoch from the
// Image, remembering the leader's endpoint; (-1, -1) when unknown.
func (l *leaderEndpoints) currentLeader(t *metadata.Topic, index int32) (int32, int32) {
	if t == nil {
		return -1, -1
	}
	mp, ok := t.Partition(index)
	if !ok {
		return -1, -1
	}
	leader := liveLeader(l.img, mp)
	if leader < 0 {
		return -1, -1
	}
	l.add(leader)
	return leader, mp.LeaderEpoch
}

// produceEndpoints converts the collected leaders for ProduceResponse.
func (l *leaderEndpoints) produceEndpoints() []kmsg.ProduceResponseBroker {
	var out []kmsg.ProduceResponseBroker
	for _, id := range l.ids {
		if host, port, rack, ok := brokerAddress(l.img, id, l.listener); ok {
			b := kmsg.NewProduceResponseBroker()
			b.NodeID, b.Host, b.Port, b.Rack = id, host, port, rack
			out = append(out, b)
		}
	}
	return out
}

// fetchEndpoints converts the collected leaders for FetchResponse.
func (l *leaderEndpoints) fetchEndpoints() []kmsg.FetchResponseBroker {
	var out []kmsg.FetchResponseBroker
	for _, id := range l.ids {
		if host, port, rack, ok := brokerAddress(l.img, id, l.listener); ok {
			b := kmsg.NewFetchResponseBroker()
			b.NodeID, b.Host, b.Port, b.Rack = id, host, port, rack
			out = append(out, b)
		}
	}
	return out
}

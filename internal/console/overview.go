package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

// The overview (/): brokers and their state, the controller and the metadata quorum, partition
// health, topic and partition counts, and the throughput charts (sampler.go), whose points
// /api/overview/series answers.

func (c *Console) overviewRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", c.overview)
	mux.HandleFunc("GET /api/overview/series", c.overviewSeries)
}

// Broker states as the console shows them.
const (
	stateOnline       = "online"
	stateFenced       = "offline (fenced)" // registered, but fenced by the controller: it serves no partitions
	stateShuttingDown = "shutting down"
	stateOffline      = "offline" // named in partitions' replicas, absent from the cluster's brokers
)

// brokerRow is a broker as the overview and the brokers page show it.
type brokerRow struct {
	ID         int32
	Host       string
	Port       int32
	Rack       string
	State      string
	Controller bool
	Leaders    int   // partitions it leads
	Replicas   int   // partition replicas it holds
	Size       int64 // bytes in its log dirs (-1: unknown)
}

func (b brokerRow) Addr() string {
	if b.Host == "" {
		return ""
	}
	return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
}

// clusterView is what the overview and the brokers page read: DescribeCluster (with fenced
// brokers) and the topics' metadata.
type clusterView struct {
	ClusterID  string
	Controller int32
	Brokers    []brokerRow
	Topics     int
	Internal   int
	Partitions int
	// UnderReplicated counts partitions whose ISR is smaller than their replica set; Offline
	// those without a leader.
	UnderReplicated int
	Offline         int
	meta            kadm.Metadata
}

// describeCluster reads the cluster's view as the session's user.
func describeCluster(ctx context.Context, s *Session) (*clusterView, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = 1
	req.IncludeFencedBrokers = true
	resp, err := req.RequestWith(ctx, s.Kafka)
	if err != nil {
		return nil, fmt.Errorf("DescribeCluster: %w", err)
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, fmt.Errorf("DescribeCluster: %w", err)
	}
	v := &clusterView{ClusterID: resp.ClusterID, Controller: resp.ControllerID}
	known := map[int32]int{}
	for _, b := range resp.Brokers {
		row := brokerRow{ID: b.NodeID, Host: b.Host, Port: b.Port, State: stateOnline, Controller: b.NodeID == resp.ControllerID, Size: -1}
		if b.Rack != nil {
			row.Rack = *b.Rack
		}
		if b.IsFenced {
			row.State = stateFenced
		}
		b.UnknownTags.Each(func(tag uint32, val []byte) {
			if tag == api.InControlledShutdownTag && len(val) == 1 && val[0] == 1 && !b.IsFenced {
				row.State = stateShuttingDown
			}
		})
		known[b.NodeID] = len(v.Brokers)
		v.Brokers = append(v.Brokers, row)
	}
	meta, err := s.Admin.Metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("Metadata: %w", err)
	}
	v.meta = meta
	// Metadata lists only live brokers; DescribeCluster v2 adds fenced ones. A replica on a
	// broker in neither is on a broker the cluster has lost.
	for _, b := range meta.Brokers {
		if _, ok := known[b.NodeID]; !ok {
			known[b.NodeID] = len(v.Brokers)
			row := brokerRow{ID: b.NodeID, Host: b.Host, Port: b.Port, State: stateOnline, Controller: b.NodeID == v.Controller, Size: -1}
			if b.Rack != nil {
				row.Rack = *b.Rack
			}
			v.Brokers = append(v.Brokers, row)
		}
	}
	live := map[int32]bool{}
	for _, b := range meta.Brokers {
		live[b.NodeID] = true
	}
	for _, t := range meta.Topics {
		if t.Err != nil {
			continue
		}
		v.Topics++
		if t.IsInternal {
			v.Internal++
		}
		for _, p := range t.Partitions {
			v.Partitions++
			if p.Leader < 0 || errors.Is(p.Err, kerr.LeaderNotAvailable) {
				v.Offline++
			}
			if len(p.ISR) < len(p.Replicas) {
				v.UnderReplicated++
			}
			for _, r := range p.Replicas {
				i, ok := known[r]
				if !ok {
					i = len(v.Brokers)
					known[r] = i
					v.Brokers = append(v.Brokers, brokerRow{ID: r, State: stateOffline, Size: -1})
				}
				v.Brokers[i].Replicas++
				if r == p.Leader {
					v.Brokers[i].Leaders++
				}
			}
		}
	}
	// A broker DescribeCluster calls unfenced that Metadata no longer lists has gone.
	for i := range v.Brokers {
		if v.Brokers[i].State == stateOnline && len(meta.Brokers) > 0 && !live[v.Brokers[i].ID] {
			v.Brokers[i].State = stateOffline
		}
	}
	slices.SortFunc(v.Brokers, func(a, b brokerRow) int { return int(a.ID) - int(b.ID) })
	return v, nil
}

// quorumRow is one member of the metadata quorum.
type quorumRow struct {
	ID        int32
	Role      string // leader, voter or observer
	Lag       int64  // -1 unknown
	LastFetch int64  // unix ms, -1 unknown
}

type quorumView struct {
	LeaderID      int32
	LeaderEpoch   int32
	HighWatermark int64
	Members       []quorumRow
}

// describeQuorum asks for DescribeQuorum of __cluster_metadata (nil, err when the cluster does
// not answer it, e.g. a ZooKeeper-era Kafka, or the user may not Describe the cluster).
func describeQuorum(ctx context.Context, s *Session) (*quorumView, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = "__cluster_metadata"
	t.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, s.Kafka)
	if err != nil {
		return nil, err
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return nil, errors.New("DescribeQuorum answered no partition")
	}
	p := resp.Topics[0].Partitions[0]
	if err := codeErr(p.ErrorCode, p.ErrorMessage); err != nil {
		return nil, err
	}
	q := &quorumView{LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark}
	var leaderLEO int64 = -1
	for _, r := range p.CurrentVoters {
		if r.ReplicaID == p.LeaderID {
			leaderLEO = r.LogEndOffset
		}
	}
	add := func(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, role string) {
		for _, r := range rs {
			m := quorumRow{ID: r.ReplicaID, Role: role, Lag: -1, LastFetch: r.LastFetchTimestamp}
			if role == "voter" && r.ReplicaID == p.LeaderID {
				m.Role = "leader"
			}
			if r.LogEndOffset >= 0 && leaderLEO >= 0 {
				m.Lag = max(leaderLEO-r.LogEndOffset, 0)
			}
			q.Members = append(q.Members, m)
		}
	}
	add(p.CurrentVoters, "voter")
	add(p.Observers, "observer")
	return q, nil
}

// codeErr is Kafka's error for a code, with the broker's message.
func codeErr(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%w (%s)", err, *msg)
	}
	return err
}

type overviewPage struct {
	Cluster    *clusterView
	Quorum     *quorumView
	QuorumErr  string
	Error      string
	HasBytes   bool
	SampleNote string
}

// requestTimeout bounds the Kafka requests of one page.
const requestTimeout = 15 * time.Second

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	p := overviewPage{}
	v, err := describeCluster(ctx, s)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		p.Error = err.Error()
		c.render(w, r, "overview.html", "Overview", p)
		return
	}
	p.Cluster = v
	if q, err := describeQuorum(ctx, s); err != nil {
		p.QuorumErr = err.Error()
	} else {
		p.Quorum = q
	}
	c.samp.mu.Lock()
	p.HasBytes = c.samp.hasBytes || c.opts.Gatherer != nil
	if c.samp.lastErr != "" {
		p.SampleNote = "the last sample failed: " + c.samp.lastErr
	}
	c.samp.mu.Unlock()
	c.render(w, r, "overview.html", "Overview", p)
}

// seriesAnswer is /api/overview/series: the points of the last hour, oldest first, and
// whether bytes are known (the broker's own counters) or only messages (end offsets).
type seriesAnswer struct {
	IntervalSeconds int     `json:"interval_seconds"`
	Bytes           bool    `json:"bytes"`
	Source          string  `json:"source"`
	Points          []point `json:"points"`
}

func (c *Console) overviewSeries(w http.ResponseWriter, r *http.Request) {
	a := seriesAnswer{IntervalSeconds: int(c.samp.every / time.Second), Points: c.samp.series(), Source: "end offsets"}
	if c.opts.Gatherer != nil {
		a.Bytes, a.Source = true, "broker metrics"
	}
	if a.Points == nil {
		a.Points = []point{}
	}
	writeJSON(w, http.StatusOK, a)
}

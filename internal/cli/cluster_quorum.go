package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/quorum"
)

// quorumInfo is what `cluster quorum` prints (Kafka's kafka-metadata-quorum describe --status
// and --replication in one).
type quorumInfo struct {
	LeaderID      int32         `json:"leader_id"`
	LeaderEpoch   int32         `json:"leader_epoch"`
	HighWatermark int64         `json:"high_watermark"`
	Replicas      []quorumEntry `json:"replicas"`
}

type quorumEntry struct {
	NodeID      int32  `json:"node_id"`
	DirectoryID string `json:"directory_id"`
	// Status is "leader", "voter" or "observer".
	Status       string `json:"status"`
	LogEndOffset int64  `json:"log_end_offset"` // -1: the member did not answer
	// Lag is the leader's log end offset minus this member's (-1 when unknown).
	Lag                   int64 `json:"lag"`
	LastFetchTimestamp    int64 `json:"last_fetch_timestamp"` // Unix ms, -1 unknown
	LastCaughtUpTimestamp int64 `json:"last_caught_up_timestamp"`
}

func newClusterQuorumCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "quorum",
		Short: "Show the metadata quorum: leader, epoch, high watermark, voters and observers with their lag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			info, err := describeQuorum(ctx, cl)
			if err != nil {
				return o.explain(err)
			}
			return printQuorum(cmd.OutOrStdout(), o.format, info, time.Now())
		},
	}
	o.register(cmd, true)
	return cmd
}

// describeQuorum asks for DescribeQuorum; franz-go sends it to the controller (an admin
// request), and a broker that is not the controller forwards it there.
func describeQuorum(ctx context.Context, cl *kgo.Client) (quorumInfo, error) {
	req := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = "__cluster_metadata"
	t.Partitions = []kmsg.DescribeQuorumRequestTopicPartition{kmsg.NewDescribeQuorumRequestTopicPartition()}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return quorumInfo{}, fmt.Errorf("describe quorum: %w", err)
	}
	if err := codeError("describe quorum", resp.ErrorCode, resp.ErrorMessage); err != nil {
		return quorumInfo{}, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return quorumInfo{}, errors.New("describe quorum: the answer names no partition")
	}
	p := resp.Topics[0].Partitions[0]
	if err := codeError("describe quorum", p.ErrorCode, p.ErrorMessage); err != nil {
		return quorumInfo{}, err
	}
	info := quorumInfo{LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark, Replicas: []quorumEntry{}}
	var leaderLEO int64 = -1
	for _, v := range p.CurrentVoters {
		if v.ReplicaID == p.LeaderID {
			leaderLEO = v.LogEndOffset
		}
	}
	add := func(rs []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, status string) {
		for _, r := range rs {
			e := quorumEntry{NodeID: r.ReplicaID, DirectoryID: quorum.DirectoryID(r.ReplicaDirectoryID).String(), Status: status,
				LogEndOffset: r.LogEndOffset, Lag: -1, LastFetchTimestamp: r.LastFetchTimestamp, LastCaughtUpTimestamp: r.LastCaughtUpTimestamp}
			if status == "voter" && r.ReplicaID == p.LeaderID {
				e.Status = "leader"
			}
			if r.LogEndOffset >= 0 && leaderLEO >= 0 {
				e.Lag = max(leaderLEO-r.LogEndOffset, 0)
			}
			info.Replicas = append(info.Replicas, e)
		}
	}
	add(p.CurrentVoters, "voter")
	add(p.Observers, "observer")
	return info, nil
}

func codeError(what string, code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%s: %w: %s", what, err, *msg)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func printQuorum(w io.Writer, format string, info quorumInfo, now time.Time) error {
	if format == "json" {
		return writeJSON(w, info)
	}
	fmt.Fprintf(w, "Leader:         %d\nEpoch:          %d\nHigh watermark: %d\n\n", info.LeaderID, info.LeaderEpoch, info.HighWatermark)
	t := newTable(w, "NODE", "DIRECTORY", "STATUS", "LOG END OFFSET", "LAG", "LAST FETCH", "LAST CAUGHT UP")
	for _, r := range info.Replicas {
		t.row(r.NodeID, r.DirectoryID, r.Status, unknownIfNegative(r.LogEndOffset), unknownIfNegative(r.Lag),
			ago(now, r.LastFetchTimestamp), ago(now, r.LastCaughtUpTimestamp))
	}
	return t.flush()
}

func unknownIfNegative(n int64) string {
	if n < 0 {
		return "unknown"
	}
	return strconv.FormatInt(n, 10)
}

// ago renders a Unix-ms timestamp as the time since it ("120ms ago"), "never" for -1.
func ago(now time.Time, ms int64) string {
	if ms < 0 {
		return "never"
	}
	d := max(now.Sub(time.UnixMilli(ms)), 0)
	return d.Round(time.Millisecond).String() + " ago"
}

func newClusterAddVoterCommand() *cobra.Command {
	var o clientOptions
	var nodeID int32
	var dir, addr string
	cmd := &cobra.Command{
		Use:   "add-voter",
		Short: "Make a node a voter of the metadata quorum (KIP-853's AddRaftVoter)",
		Long: "Make a node a voter of the metadata quorum. The node must be running and following the metadata\n" +
			"log (it does so as an observer); --directory-id is the directory.id in its data directory's\n" +
			"meta.properties (its log also names it). The controller waits until the node has caught up.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := quorum.ParseDirectoryID(dir)
			if err != nil {
				return fmt.Errorf("--directory-id: %w", err)
			}
			host, portText, err := net.SplitHostPort(addr)
			port, perr := strconv.ParseUint(portText, 10, 16)
			if err != nil || perr != nil || host == "" || port == 0 {
				return fmt.Errorf("--controller-addr %q: want host:port", addr)
			}
			req := kmsg.NewPtrAddRaftVoterRequest()
			req.VoterID, req.VoterDirectoryID = nodeID, d
			req.TimeoutMillis = int32(min(o.timeout, time.Hour).Milliseconds())
			l := kmsg.NewAddRaftVoterRequestListener()
			l.Name, l.Host, l.Port = "CONTROLLER", host, uint16(port)
			req.Listeners = append(req.Listeners, l)
			return o.voterChange(cmd, req, func(r kmsg.Response) (int16, *string) {
				resp := r.(*kmsg.AddRaftVoterResponse)
				return resp.ErrorCode, resp.ErrorMessage
			}, fmt.Sprintf("Node %d (directory %s) is a voter.\n", nodeID, d))
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.Int32Var(&nodeID, "node-id", -1, "the node id of the new voter")
	f.StringVar(&dir, "directory-id", "", "the new voter's directory id (directory.id in its meta.properties)")
	f.StringVar(&addr, "controller-addr", "", "the new voter's controller address (host:port)")
	for _, name := range []string{"node-id", "directory-id", "controller-addr"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

func newClusterRemoveVoterCommand() *cobra.Command {
	var o clientOptions
	var nodeID int32
	var dir string
	cmd := &cobra.Command{
		Use:   "remove-voter",
		Short: "Remove a voter from the metadata quorum (KIP-853's RemoveRaftVoter)",
		Long: "Remove a voter from the metadata quorum; `sluice cluster quorum` lists the voters' directory ids.\n" +
			"Removing the leader moves leadership to another voter. A removed node keeps following the log\n" +
			"as an observer while it runs.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := quorum.ParseDirectoryID(dir)
			if err != nil {
				return fmt.Errorf("--directory-id: %w", err)
			}
			req := kmsg.NewPtrRemoveRaftVoterRequest()
			req.VoterID, req.VoterDirectoryID = nodeID, d
			return o.voterChange(cmd, req, func(r kmsg.Response) (int16, *string) {
				resp := r.(*kmsg.RemoveRaftVoterResponse)
				return resp.ErrorCode, resp.ErrorMessage
			}, fmt.Sprintf("Node %d (directory %s) is no longer a voter.\n", nodeID, d))
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.Int32Var(&nodeID, "node-id", -1, "the node id of the voter to remove")
	f.StringVar(&dir, "directory-id", "", "the voter's directory id (as `sluice cluster quorum` shows it)")
	for _, name := range []string{"node-id", "directory-id"} {
		cmd.MarkFlagRequired(name)
	}
	return cmd
}

// voterChange sends an AddRaftVoter or RemoveRaftVoter to the controller (learnt from Metadata;
// any broker would forward it there) and reports the outcome.
func (o *clientOptions) voterChange(cmd *cobra.Command, req kmsg.Request, code func(kmsg.Response) (int16, *string), done string) error {
	cl, err := o.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout+5*time.Second) // the controller's own timeout answers first
	defer cancel()
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return o.explain(err)
	}
	var resp kmsg.Response
	if md.ControllerID >= 0 {
		resp, err = cl.Broker(int(md.ControllerID)).Request(ctx, req)
	} else {
		resp, err = cl.Request(ctx, req)
	}
	if err != nil {
		return o.explain(err)
	}
	what := kmsg.NameForKey(req.Key())
	if c, msg := code(resp); c != 0 {
		return codeError(what, c, msg)
	}
	_, err = io.WriteString(cmd.OutOrStdout(), done)
	return err
}

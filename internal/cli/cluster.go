package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/internal/api"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Show the cluster's brokers, controller, configs and metadata quorum; change the quorum's voters"}
	cmd.AddCommand(newClusterInfoCommand(), newClusterConfigCommand(),
		newClusterQuorumCommand(), newClusterAddVoterCommand(), newClusterRemoveVoterCommand())
	return cmd
}

// clusterInfo is what `cluster info` prints.
type clusterInfo struct {
	ClusterID  string       `json:"cluster_id"`
	Controller int32        `json:"controller"`
	Brokers    []brokerInfo `json:"brokers"`
}

type brokerInfo struct {
	ID   int32  `json:"id"`
	Host string `json:"host"`
	Port int32  `json:"port"`
	Rack string `json:"rack,omitempty"`
	// State is "active", "fenced" (Kafka's DescribeCluster IsFenced: the controller stopped
	// hearing from the broker, or it has registered but not yet caught up on metadata) or
	// "shutting-down" (in controlled shutdown, from Sluice's tagged field).
	State string `json:"state"`
}

// Broker states `cluster info` reports.
const (
	brokerActive = "active"
	brokerFenced = "fenced"
	// brokerShuttingDown: in controlled shutdown (Sluice's DescribeCluster extension,
	// api.InControlledShutdownTag): its leaderships are moving away before it stops.
	brokerShuttingDown = "shutting-down"
)

func newClusterInfoCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the cluster id, the controller and the brokers with their state (active, shutting-down or fenced)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := o.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			info, err := describeCluster(ctx, cl)
			if err != nil {
				return o.explain(err)
			}
			return printClusterInfo(cmd.OutOrStdout(), o.format, info)
		},
	}
	o.register(cmd, true)
	return cmd
}

// describeCluster asks for DescribeCluster with fenced brokers included (v2, KIP-1073's
// IncludeFencedBrokers); a broker answering an older version lists only unfenced ones.
func describeCluster(ctx context.Context, cl *kgo.Client) (clusterInfo, error) {
	req := kmsg.NewPtrDescribeClusterRequest()
	req.EndpointType = 1 // brokers
	req.IncludeFencedBrokers = true
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return clusterInfo{}, fmt.Errorf("describe cluster: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		if resp.ErrorMessage != nil {
			return clusterInfo{}, fmt.Errorf("describe cluster: %w: %s", err, *resp.ErrorMessage)
		}
		return clusterInfo{}, fmt.Errorf("describe cluster: %w", err)
	}
	return clusterInfoOf(resp), nil
}

// clusterInfoOf is what `cluster info` shows of a DescribeCluster answer.
func clusterInfoOf(resp *kmsg.DescribeClusterResponse) clusterInfo {
	info := clusterInfo{ClusterID: resp.ClusterID, Controller: resp.ControllerID, Brokers: []brokerInfo{}}
	for _, b := range resp.Brokers {
		bi := brokerInfo{ID: b.NodeID, Host: b.Host, Port: b.Port, State: brokerActive}
		if b.Rack != nil {
			bi.Rack = *b.Rack
		}
		if b.IsFenced {
			bi.State = brokerFenced
		}
		b.UnknownTags.Each(func(tag uint32, v []byte) {
			if tag == api.InControlledShutdownTag && len(v) == 1 && v[0] == 1 && !b.IsFenced {
				bi.State = brokerShuttingDown
			}
		})
		info.Brokers = append(info.Brokers, bi)
	}
	slices.SortFunc(info.Brokers, func(a, b brokerInfo) int { return int(a.ID) - int(b.ID) })
	return info
}

func printClusterInfo(w io.Writer, format string, info clusterInfo) error {
	if format == "json" {
		return writeJSON(w, info)
	}
	controller := strconv.Itoa(int(info.Controller))
	if info.Controller < 0 {
		controller = "none (the metadata quorum has no leader)"
	}
	fmt.Fprintf(w, "Cluster ID: %s\nController: %s\n\n", info.ClusterID, controller)
	t := newTable(w, "BROKER", "HOST", "PORT", "RACK", "STATE")
	for _, b := range info.Brokers {
		rack := b.Rack
		if rack == "" {
			rack = "-"
		}
		t.row(b.ID, b.Host, b.Port, rack, b.State)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if slices.ContainsFunc(info.Brokers, func(b brokerInfo) bool { return b.State == brokerFenced }) {
		fmt.Fprintln(w, "\nA fenced broker leads no partition and is in no ISR: the controller has not heard its heartbeat\n"+
			"within broker.session.timeout.ms, or it has not caught up on metadata since it registered.")
	}
	return nil
}

func newClusterConfigCommand() *cobra.Command {
	var o clientOptions
	var broker int32
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show a broker's configs and where each value comes from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if broker < 0 {
				md, err := adm.BrokerMetadata(ctx)
				if err != nil {
					return o.explain(err)
				}
				if len(md.Brokers) == 0 {
					return fmt.Errorf("the cluster at %s reported no brokers", o.brokers)
				}
				broker = md.Brokers[0].NodeID
			}
			rcs, err := adm.DescribeBrokerConfigs(ctx, broker)
			if err != nil {
				return o.explain(err)
			}
			rc, err := rcs.On(strconv.Itoa(int(broker)), nil)
			if err != nil {
				return fmt.Errorf("configs of broker %d: %w", broker, err)
			}
			if rc.Err != nil {
				return fmt.Errorf("configs of broker %d: %w (list brokers with `sluice cluster info`)", broker, rc.Err)
			}
			entries := configEntries(rc.Configs)
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), entries)
			}
			return printConfigs(cmd.OutOrStdout(), entries)
		},
	}
	o.register(cmd, true)
	cmd.Flags().Int32Var(&broker, "broker", -1, "broker id (-1: the first broker the cluster reports)")
	return cmd
}

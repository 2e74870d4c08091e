package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"
)

func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Show the cluster's brokers, controller and configs"}
	cmd.AddCommand(newClusterInfoCommand(), newClusterConfigCommand())
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
}

func newClusterInfoCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show the cluster id, the controller and the brokers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			md, err := adm.BrokerMetadata(ctx)
			if err != nil {
				return o.explain(err)
			}
			info := clusterInfo{ClusterID: md.Cluster, Controller: md.Controller}
			for _, b := range md.Brokers {
				bi := brokerInfo{ID: b.NodeID, Host: b.Host, Port: b.Port}
				if b.Rack != nil {
					bi.Rack = *b.Rack
				}
				info.Brokers = append(info.Brokers, bi)
			}
			return printClusterInfo(cmd.OutOrStdout(), o.format, info)
		},
	}
	o.register(cmd, true)
	return cmd
}

func printClusterInfo(w io.Writer, format string, info clusterInfo) error {
	if format == "json" {
		return writeJSON(w, info)
	}
	fmt.Fprintf(w, "Cluster ID: %s\nController: %d\n\n", info.ClusterID, info.Controller)
	t := newTable(w, "BROKER", "HOST", "PORT", "RACK")
	for _, b := range info.Brokers {
		rack := b.Rack
		if rack == "" {
			rack = "-"
		}
		t.row(b.ID, b.Host, b.Port, rack)
	}
	return t.flush()
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

package httpapi

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/internal/metadata"
)

// AllReady is a Ready hook that passes when every check passes; otherwise its error lists the
// reason of each failing check, one a line, so /readyz says everything that is missing.
func AllReady(checks ...func() error) func() error {
	return func() error {
		var errs []error
		for _, check := range checks {
			if err := check(); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

// BrokerReady is the readiness check of a broker (KIP-631's lifecycle): ready once the node has
// registered with the controller (brokerEpoch returns the epoch it was given, or a negative
// value before), its own metadata Image holds that registration unfenced, and it is not in
// controlled shutdown. The controller unfences a broker only once the broker's heartbeats show
// it has caught up on the metadata log, and seeing its own unfencing in its Image means this
// node has applied at least that far: such a broker serves current metadata.
func BrokerReady(nodeID int32, image func() *metadata.Image, brokerEpoch func() int64) func() error {
	return func() error {
		epoch := brokerEpoch()
		if epoch < 0 {
			return fmt.Errorf("broker %d has not registered with the controller yet (no broker epoch)", nodeID)
		}
		img := image()
		b, ok := img.Broker(nodeID)
		switch {
		case !ok || b.Epoch < epoch:
			return fmt.Errorf("broker %d registered with epoch %d but its metadata (offset %d) does not show that registration yet: catching up on metadata",
				nodeID, epoch, img.Offset())
		case b.Epoch > epoch:
			return fmt.Errorf("broker %d: its metadata holds a newer registration (epoch %d) than this process's (epoch %d): another process registered with this node id",
				nodeID, b.Epoch, epoch)
		case b.InControlledShutdown:
			return fmt.Errorf("broker %d (epoch %d) is in controlled shutdown", nodeID, epoch)
		case b.Fenced:
			return fmt.Errorf("broker %d (epoch %d) is fenced at metadata offset %d: the controller unfences it once its heartbeats show it has caught up on metadata",
				nodeID, epoch, img.Offset())
		}
		return nil
	}
}

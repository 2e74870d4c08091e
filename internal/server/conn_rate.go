package server

import (
	"net"
	"net/netip"
	"time"

	"github.com/sluicehq/sluice/internal/api"
)

// connectionThrottle is how long to hold a connection just accepted from addr before closing
// it, because its IP is over its connection_creation_rate client quota (KIP-612); 0 accepts it.
func (s *Server) connectionThrottle(addr netip.Addr) time.Duration {
	env := s.cfg.Env
	if env.Quotas == nil || env.Metadata == nil || !addr.IsValid() || api.ListenerKind(s.cfg.ListenerName) == api.ControllerListener {
		return 0 // the controller listener serves the cluster's brokers
	}
	return env.Quotas.RecordConnection(env.Metadata.Image().ClientQuotas(), addr.String())
}

// closeThrottled closes a connection refused for its IP's connection rate after the throttle
// time, as Kafka does, so that the client does not reconnect at once. Nothing is read from it.
func (s *Server) closeThrottled(nc net.Conn, d time.Duration) {
	if obs := s.cfg.Observer; obs != nil {
		obs.ConnectionRejected(RejectConnectionRate)
	}
	s.logger.Debug("connection refused", "remote", nc.RemoteAddr().String(), "limit", RejectConnectionRate, "close_after", d)
	time.AfterFunc(d, func() { nc.Close() })
}

// RejectConnectionRate is the Observer's reason for a connection refused for its IP's
// connection_creation_rate.
const RejectConnectionRate = "connection_creation_rate"

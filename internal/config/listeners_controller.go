package config

import "fmt"

// resolveControllerProtocol sets ControllerProtocol: the protocol of the first controller
// listener named in listeners, else listener.security.protocol.map's entry for the first of
// controller.listener.names (the --controller-addr form), else PLAINTEXT.
//
// The controller address carries Raft and the membership exchange beside the Kafka protocol.
// On SSL and SASL_SSL all three run inside TLS and Raft's peers authenticate with their
// certificates; SASL_PLAINTEXT would leave Raft with no way to authenticate (it has no SASL),
// so it is refused.
func (s *ListenerSet) resolveControllerProtocol() error {
	name := "CONTROLLER"
	if len(s.ControllerNames) > 0 {
		name = s.ControllerNames[0]
	}
	p, ok := s.ProtocolMap[name]
	if len(s.Controller) > 0 {
		name, p, ok = s.Controller[0].Name, s.Controller[0].Protocol, true
	}
	if !ok {
		p = ProtocolPlaintext
	}
	if p == ProtocolSASLPlaintext {
		return fmt.Errorf("%s: controller listener %s uses SASL_PLAINTEXT; the controller address also carries the metadata "+
			"quorum's Raft traffic, which authenticates with TLS client certificates: use SSL or SASL_SSL (or PLAINTEXT)", ListenerSecurityProtocolMap, name)
	}
	s.ControllerProtocol = p
	return nil
}

// ControllerName is the controller listener's name (the first of controller.listener.names),
// whose listener.name.<name>.* overrides configure the controller address.
func (s *ListenerSet) ControllerName() string {
	if len(s.ControllerNames) > 0 {
		return s.ControllerNames[0]
	}
	return "CONTROLLER"
}

package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Listener and security configs (Kafka's names; their rows are in brokerTable).
const (
	Listeners                          Name = "listeners"
	AdvertisedListeners                Name = "advertised.listeners"
	ListenerSecurityProtocolMap        Name = "listener.security.protocol.map"
	InterBrokerListenerName            Name = "inter.broker.listener.name"
	SecurityInterBrokerProtocol        Name = "security.inter.broker.protocol"
	ControllerListenerNames            Name = "controller.listener.names"
	SslKeystoreType                    Name = "ssl.keystore.type"
	SslKeystoreLocation                Name = "ssl.keystore.location"
	SslKeystorePassword                Name = "ssl.keystore.password"
	SslKeyPassword                     Name = "ssl.key.password"
	SslKeystoreKey                     Name = "ssl.keystore.key"
	SslKeystoreCertificateChain        Name = "ssl.keystore.certificate.chain"
	SslTruststoreType                  Name = "ssl.truststore.type"
	SslTruststoreLocation              Name = "ssl.truststore.location"
	SslTruststorePassword              Name = "ssl.truststore.password"
	SslTruststoreCertificates          Name = "ssl.truststore.certificates"
	SslClientAuth                      Name = "ssl.client.auth"
	SslEnabledProtocols                Name = "ssl.enabled.protocols"
	SslProtocol                        Name = "ssl.protocol"
	SslCipherSuites                    Name = "ssl.cipher.suites"
	SslEndpointIdentificationAlgorithm Name = "ssl.endpoint.identification.algorithm"
	SslPrincipalMappingRules           Name = "ssl.principal.mapping.rules"
	defaultListenerProtocolMap              = "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
	listenerNamePrefix                      = "listener.name."
)

// SecurityProtocol is a listener's security protocol, numbered as Kafka's SecurityProtocol id
// (what BrokerRegistration carries).
type SecurityProtocol int16

const (
	ProtocolPlaintext     SecurityProtocol = 0
	ProtocolSSL           SecurityProtocol = 1
	ProtocolSASLPlaintext SecurityProtocol = 2
	ProtocolSASLSSL       SecurityProtocol = 3
)

var protocolNames = map[string]SecurityProtocol{
	"PLAINTEXT": ProtocolPlaintext, "SSL": ProtocolSSL, "SASL_PLAINTEXT": ProtocolSASLPlaintext, "SASL_SSL": ProtocolSASLSSL,
}

func (p SecurityProtocol) String() string {
	for name, q := range protocolNames {
		if q == p {
			return name
		}
	}
	return "UNKNOWN(" + strconv.Itoa(int(p)) + ")"
}

// TLS reports whether the protocol runs over TLS (SSL, SASL_SSL).
func (p SecurityProtocol) TLS() bool { return p == ProtocolSSL || p == ProtocolSASLSSL }

// SASL reports whether the protocol authenticates with SASL (SASL_PLAINTEXT, SASL_SSL).
func (p SecurityProtocol) SASL() bool { return p == ProtocolSASLPlaintext || p == ProtocolSASLSSL }

// ParseSecurityProtocol reads a protocol name (case-insensitive).
func ParseSecurityProtocol(s string) (SecurityProtocol, error) {
	p, ok := protocolNames[strings.ToUpper(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("unknown security protocol %q (want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", s)
	}
	return p, nil
}

// Listener is one entry of listeners or advertised.listeners: NAME://host:port.
type Listener struct {
	Name     string // upper case, as Kafka normalises listener names
	Host     string // "" binds every interface
	Port     int    // 0 picks a free port when binding
	Protocol SecurityProtocol
}

// Addr is host:port.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

func (l Listener) String() string { return l.Name + "://" + l.Addr() }

// ListenerConfigs are the listener configs' raw values (canonical forms from a Resolved).
type ListenerConfigs struct {
	Listeners, Advertised, ProtocolMap, InterBrokerName, InterBrokerProtocol string
	ControllerNames                                                          []string
	// InterBrokerProtocolSet: security.inter.broker.protocol was given (Kafka refuses it
	// together with inter.broker.listener.name).
	InterBrokerProtocolSet bool
}

// ListenerSet is a broker's resolved listeners.
type ListenerSet struct {
	// Broker are the client-facing listeners in listeners' order (the controller listeners
	// left out); Advertised[i] is what the broker registers for Broker[i] (same name).
	Broker, Advertised []Listener
	// Controller are the entries of listeners named in controller.listener.names.
	Controller []Listener
	// InterBroker is the listener name other brokers reach this one on
	// (inter.broker.listener.name).
	InterBroker string
	// ControllerNames is controller.listener.names, upper case.
	ControllerNames []string
	// ProtocolMap is listener.security.protocol.map, names upper case.
	ProtocolMap map[string]SecurityProtocol
	// ControllerProtocol is the controller address's security protocol (listeners_controller.go).
	ControllerProtocol SecurityProtocol
}

// Lookup returns the broker listener named name.
func (s *ListenerSet) Lookup(name string) (Listener, bool) {
	for _, l := range s.Broker {
		if l.Name == name {
			return l, true
		}
	}
	return Listener{}, false
}

// ParseProtocolMap reads listener.security.protocol.map: NAME:PROTOCOL,...
func ParseProtocolMap(s string) (map[string]SecurityProtocol, error) {
	out := make(map[string]SecurityProtocol)
	for _, e := range splitList(s) {
		name, proto, ok := strings.Cut(e, ":")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %q is not LISTENER_NAME:SECURITY_PROTOCOL", e)
		}
		p, err := ParseSecurityProtocol(proto)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", e, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("listener name %s is mapped twice", name)
		}
		out[name] = p
	}
	return out, nil
}

// ParseListenerList reads a listeners value: NAME://host:port,... (IPv6 hosts in brackets).
// Protocols come from protocols; a name it lacks is an error, as in Kafka.
func ParseListenerList(s string, protocols map[string]SecurityProtocol) ([]Listener, error) {
	var out []Listener
	for _, e := range splitList(s) {
		name, addr, ok := strings.Cut(e, "://")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || name == "" {
			return nil, fmt.Errorf("listener %q is not NAME://host:port", e)
		}
		host, portText, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("listener %q: address is not host:port", e)
		}
		port, err := strconv.ParseUint(portText, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("listener %q: port is not in 0..65535", e)
		}
		p, ok := protocols[name]
		if !ok {
			return nil, fmt.Errorf("listener %q: no security protocol for listener name %s in %s", e, name, ListenerSecurityProtocolMap)
		}
		for _, prev := range out {
			if prev.Name == name {
				return nil, fmt.Errorf("listener name %s appears twice; each listener must have a different name", name)
			}
		}
		out = append(out, Listener{Name: name, Host: host, Port: int(port), Protocol: p})
	}
	return out, nil
}

// ResolveListeners parses and cross-checks the listener configs the way Kafka's KafkaConfig
// does at start. c.Listeners must not be empty.
func ResolveListeners(c ListenerConfigs) (*ListenerSet, error) {
	protocols, err := ParseProtocolMap(c.ProtocolMap)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ListenerSecurityProtocolMap, err)
	}
	all, err := ParseListenerList(c.Listeners, protocols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Listeners, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s is empty", Listeners)
	}
	set := &ListenerSet{ProtocolMap: protocols}
	for _, n := range c.ControllerNames {
		set.ControllerNames = append(set.ControllerNames, strings.ToUpper(n))
	}
	ports := make(map[int]string)
	for _, l := range all {
		if l.Port != 0 {
			if other, dup := ports[l.Port]; dup {
				return nil, fmt.Errorf("%s: %s and %s use port %d; each listener must have a different port", Listeners, other, l.Name, l.Port)
			}
			ports[l.Port] = l.Name
		}
		if l.Name == "CONTROLLER" && !slices.Contains(set.ControllerNames, l.Name) {
			// Connections of that name are the controller listener's (api.ControllerListenerName).
			return nil, fmt.Errorf("%s: the listener name CONTROLLER is reserved for the controller listener", Listeners)
		}
		if slices.Contains(set.ControllerNames, l.Name) {
			set.Controller = append(set.Controller, l)
			continue
		}
		set.Broker = append(set.Broker, l)
	}
	if err := set.resolveControllerProtocol(); err != nil {
		return nil, err
	}
	if len(set.Broker) == 0 {
		return nil, fmt.Errorf("%s names only controller listeners (%s); a broker needs at least one other", Listeners, strings.Join(set.ControllerNames, ","))
	}
	if set.Advertised, err = resolveAdvertised(c.Advertised, protocols, set); err != nil {
		return nil, err
	}
	if set.InterBroker, err = interBrokerListener(c, set); err != nil {
		return nil, err
	}
	return set, nil
}

// resolveAdvertised pairs every broker listener with its advertised form: the
// advertised.listeners entry of the same name, else the listener itself.
func resolveAdvertised(value string, protocols map[string]SecurityProtocol, set *ListenerSet) ([]Listener, error) {
	adv, err := ParseListenerList(value, protocols)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", AdvertisedListeners, err)
	}
	byName := make(map[string]Listener, len(adv))
	for _, a := range adv {
		if slices.Contains(set.ControllerNames, a.Name) {
			continue // a broker does not advertise the controller listener
		}
		if _, ok := set.Lookup(a.Name); !ok {
			return nil, fmt.Errorf("%s: %s is not a listener in %s; advertised listener names must be a subset of them", AdvertisedListeners, a.Name, Listeners)
		}
		if ip := net.ParseIP(a.Host); ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("%s: %s advertises the non-routable address %s", AdvertisedListeners, a.Name, a.Host)
		}
		byName[a.Name] = a
	}
	out := make([]Listener, len(set.Broker))
	for i, l := range set.Broker {
		if a, ok := byName[l.Name]; ok {
			out[i] = a
		} else {
			out[i] = l
		}
	}
	return out, nil
}

// interBrokerListener is inter.broker.listener.name, else the listener named like
// security.inter.broker.protocol (PLAINTEXT by default), which must be a broker listener.
func interBrokerListener(c ListenerConfigs, set *ListenerSet) (string, error) {
	name := strings.ToUpper(strings.TrimSpace(c.InterBrokerName))
	source := InterBrokerListenerName
	if name != "" && c.InterBrokerProtocolSet {
		return "", fmt.Errorf("only one of %s and %s may be set", InterBrokerListenerName, SecurityInterBrokerProtocol)
	}
	if name == "" {
		p, err := ParseSecurityProtocol(c.InterBrokerProtocol)
		if err != nil {
			return "", fmt.Errorf("%s: %w", SecurityInterBrokerProtocol, err)
		}
		name, source = p.String(), SecurityInterBrokerProtocol
	}
	if slices.Contains(set.ControllerNames, name) {
		return "", fmt.Errorf("%s: %s is a controller listener (%s); brokers replicate over a broker listener", source, name, ControllerListenerNames)
	}
	if _, ok := set.Lookup(name); !ok {
		names := make([]string, len(set.Broker))
		for i, l := range set.Broker {
			names[i] = l.Name
		}
		return "", fmt.Errorf("%s: the inter-broker listener %s is not among the listeners (%s); set %s to one of them",
			source, name, strings.Join(names, ","), InterBrokerListenerName)
	}
	return name, nil
}

// listenerConfigDef returns the definition that checks a per-listener override
// listener.name.<listener>.<config> (ssl.*, sasl.*): the broker config it overrides.
func listenerConfigDef(name string) (*Def, bool) {
	rest, ok := strings.CutPrefix(name, listenerNamePrefix)
	if !ok {
		return nil, false
	}
	listener, config, ok := strings.Cut(rest, ".")
	if !ok || listener == "" || listener != strings.ToLower(listener) {
		return nil, false
	}
	config = stripMechanismPrefix(config) // <mechanism>.sasl.jaas.config
	if !strings.HasPrefix(config, "ssl.") && !strings.HasPrefix(config, "sasl.") && Name(config) != ConnectionsMaxReauthMs {
		return nil, false
	}
	d, ok := brokerDefs[Name(config)]
	return d, ok
}

// ListenerOverride is the key of config name's per-listener override for listener
// (listener.name.<lower-case listener>.<name>).
func ListenerOverride(listener string, name Name) string {
	return listenerNamePrefix + strings.ToLower(listener) + "." + string(name)
}

package api

import (
	"cmp"
	"slices"
)

// Listeners is a set of listener kinds an API is served on.
type Listeners uint8

const (
	// BrokerListener is every client-facing listener (PLAINTEXT and, later, the secured ones).
	BrokerListener Listeners = 1 << iota
	// ControllerListener is the controller address's Kafka protocol side: brokers register and
	// heartbeat there, forwarded requests arrive there in Envelopes, and operators reach the
	// quorum there (Kafka's controller.listener.names).
	ControllerListener
	// BrokerAndController is both.
	BrokerAndController = BrokerListener | ControllerListener
)

// ControllerListenerName is the listener name of connections to the controller address
// (Kafka's default controller.listener.names).
const ControllerListenerName = "CONTROLLER"

// ListenerKind is the kind of the listener named name.
func ListenerKind(name string) Listeners {
	if name == ControllerListenerName {
		return ControllerListener
	}
	return BrokerListener
}

// ServedOn reports whether the API is served on a listener of kind l.
func (a API) ServedOn(l Listeners) bool {
	ls := a.Listeners
	if ls == 0 {
		ls = BrokerListener
	}
	return ls&l != 0
}

// APIsFor returns the APIs served on listeners of kind l, ordered by key (what ApiVersions
// lists there).
func APIsFor(l Listeners) []API {
	out := make([]API, 0, len(registry))
	for _, a := range registry {
		if a.ServedOn(l) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b API) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// LookupFor returns the lookup a server of listener kind l uses: the APIs served there and,
// on the broker listener, Forward APIs wrapped so that they reach the active controller.
func LookupFor(l Listeners) func(key int16) (API, bool) {
	apis := make(map[int16]API, len(registry))
	for _, a := range APIsFor(l) {
		if a.Forward && l == BrokerListener {
			a.Handle = forwarding(a.Handle)
		}
		apis[a.Key] = a
	}
	return func(key int16) (API, bool) {
		a, ok := apis[key]
		return a, ok
	}
}

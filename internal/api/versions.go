package api

import "sync/atomic"

//go:generate go test -run TestProtocolDoc -update

// Legacy request versions (KIP-896).
//
// Kafka 4.0 stopped serving request versions that Kafka 3.9 still served (KIP-896: Produce
// v0–2, Fetch v0–3, ListOffsets v0, OffsetCommit v0–1, …). Sluice serves them while the broker
// config sluice.protocol.legacy.versions.enable is on (the default) and refuses them as Kafka
// 4 does when it is off: ApiVersions at such a version gets UNSUPPORTED_VERSION, any other
// request closes the connection, and ApiVersions advertises Kafka 4's minimums.
//
// An API marks its legacy versions with API.LegacyBelow. A VersionGate (Env.Versions) holds
// the switch; the server's Lookup (server.New wraps Config.Lookup with VersionGate.Lookup),
// SASL's version check (which uses that Lookup), Envelope's inner request (handleEnvelope)
// and ApiVersions (handleApiVersions) all see an API through VersionGate.Served.

// VersionGate says whether the versions Kafka 4 removed (API.LegacyBelow) are served:
// sluice.protocol.legacy.versions.enable. It is dynamic: the broker sets it from each new
// metadata Image. The zero value and a nil *VersionGate serve them (the config's default).
type VersionGate struct {
	off atomic.Bool
}

// SetLegacy turns the legacy versions on or off. Requests already decoded are answered.
func (g *VersionGate) SetLegacy(on bool) { g.off.Store(!on) }

// Legacy reports whether the legacy versions are served.
func (g *VersionGate) Legacy() bool { return g == nil || !g.off.Load() }

// Served is a as the gate serves it now: with its legacy versions off, its MinVersion is
// raised to LegacyBelow.
func (g *VersionGate) Served(a API) API {
	if a.LegacyBelow > a.MinVersion && !g.Legacy() {
		a.MinVersion = a.LegacyBelow
	}
	return a
}

// Lookup wraps lookup so that every API it finds comes back as Served. A nil gate returns
// lookup itself.
func (g *VersionGate) Lookup(lookup func(key int16) (API, bool)) func(key int16) (API, bool) {
	if g == nil {
		return lookup
	}
	return func(key int16) (API, bool) {
		a, ok := lookup(key)
		if !ok {
			return a, false
		}
		return g.Served(a), true
	}
}

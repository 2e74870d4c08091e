// Package quota enforces client quotas (KIP-13, KIP-124, KIP-599) with Kafka's sampled-rate
// semantics.
//
// A quota is resolved for a client from the metadata Image (metadata.ClientQuotas.Resolve:
// Kafka's user / client-id precedence) per quota type: produced bytes, fetched bytes, request
// handler time, controller mutations. Clients that resolve to the same entity level share one
// sensor, as in Kafka: a quota set for user=alice is shared by all of alice's client ids, one
// set for user=<default> gives every user their own.
//
// Byte rates and request time are measured as Kafka's Rate over a SampledStat: Samples windows
// of Window each (quota.window.num, default 11, and quota.window.size.seconds, default 1); the
// rate is the sum over the retained windows divided by the time they span, taken as at least
// Samples-1 whole windows. A request is recorded first and the rate checked after; when it is
// over the quota the throttle time is (rate - quota) / quota × span, as Kafka's
// QuotaUtils.throttleTime. Controller mutations use Kafka's token bucket (burst = quota ×
// Samples × Window): the throttle time is the time the bucket takes to get back to zero.
//
// The caller puts the throttle time into the response's throttle_time_ms and the server mutes
// the connection for that long once the response is written (KIP-219); for versions older
// than KIP-219's the server delays the response instead.
//
// Hot path: a connection caches its resolved sensors (ConnQuotas) until the Image's quotas
// change (pointer equality of *metadata.ClientQuotas), so a request costs one atomic load and
// one short per-sensor lock, with no allocation. A client without a quota records nothing but
// two shared counters.
//
//	m := quota.New(quota.Config{Registerer: reg})
//	c := quota.Client{Quotas: img.ClientQuotas(), Conn: req.Conn.Quotas, Principal: "User:alice", ClientID: "app"}
//	if d := m.RecordProduce(c, requestBytes); d > 0 { resp.ThrottleMillis = int32(d.Milliseconds()) }
package quota

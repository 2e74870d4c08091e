package api

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/sluicehq/sluice/internal/metadata"
	"github.com/sluicehq/sluice/internal/security/quota"
)

// Quotas is what the handlers ask of the client quota manager (*quota.Manager): each Record
// method accounts a request to its client and returns the throttle time it earned, which the
// handler puts in throttle_time_ms; the server then mutes the connection for that long. Calls
// are on the request path and must not block or allocate.
type Quotas interface {
	RecordProduce(c quota.Client, bytes int64) time.Duration
	RecordFetch(c quota.Client, bytes int64) time.Duration
	FetchMaxBytes(c quota.Client) int64
	RecordRequestTime(c quota.Client, handler time.Duration) time.Duration
	MutationsAllowed(c quota.Client) (time.Duration, bool)
	RecordMutations(c quota.Client, partitions int) time.Duration
	// RecordConnection accounts a new connection from ip (the server's accept, KIP-612) and
	// returns how long to hold it before closing it; 0 accepts it.
	RecordConnection(q *metadata.ClientQuotas, ip string) time.Duration
}

// QuotaClient is who req is accounted to under img's quotas.
func QuotaClient(req *Request, img *metadata.Image) quota.Client {
	c := quota.Client{Quotas: img.ClientQuotas(), Conn: req.Conn.Quotas, Principal: req.Conn.Principal}
	if req.ClientID != nil {
		c.ClientID = *req.ClientID
	}
	return c
}

// throttleMillis is a throttle time as throttle_time_ms.
func throttleMillis(d time.Duration) int32 {
	return int32(min(d.Milliseconds(), 1<<31-1))
}

// mutationQuota applies the client's controller_mutation_rate (KIP-599) to one request that
// creates or deletes partitions: CreateTopics, CreatePartitions and DeleteTopics. The handler
// runs on the controller (forwarded requests carry the client's principal and client id), so
// the controller's sensors measure every broker's clients, as in Kafka.
type mutationQuota struct {
	quotas Quotas // nil: no quotas
	client quota.Client
	// strict: the request's version is one KIP-599 made strict (CreateTopics v6+,
	// CreatePartitions v3+, DeleteTopics v5+): a mutation is refused while the client's bucket
	// is below zero. Older versions are only throttled.
	strict bool
}

func newMutationQuota(env *Env, req *Request, img *metadata.Image, strictSince int16) mutationQuota {
	if env.Quotas == nil {
		return mutationQuota{}
	}
	return mutationQuota{quotas: env.Quotas, client: QuotaClient(req, img), strict: req.Version >= strictSince}
}

// admit records a mutation of n partitions, or, in strict mode while the client is over its
// rate, refuses it with THROTTLING_QUOTA_EXCEEDED and records nothing.
func (q mutationQuota) admit(n int) error {
	if q.quotas == nil || n <= 0 {
		return nil
	}
	if q.strict {
		if _, ok := q.quotas.MutationsAllowed(q.client); !ok {
			return requestErrorf(kerr.ThrottlingQuotaExceeded, "The throttling quota has been exceeded.")
		}
	}
	q.quotas.RecordMutations(q.client, n)
	return nil
}

// refund gives back the n partitions of an admitted mutation that was not carried out (the
// controller refused it, or the request only validated): only what is done counts.
func (q mutationQuota) refund(n int) {
	if q.quotas != nil && n > 0 {
		q.quotas.RecordMutations(q.client, -n)
	}
}

// throttleMillis is the throttle time the response carries: how long until the client's
// bucket is back at zero.
func (q mutationQuota) throttleMillis() int32 {
	if q.quotas == nil {
		return 0
	}
	d, _ := q.quotas.MutationsAllowed(q.client)
	return throttleMillis(d)
}

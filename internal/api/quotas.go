package api

import (
	"time"

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
}

// quotaClient is who req is accounted to under img's quotas.
func quotaClient(req *Request, img *metadata.Image) quota.Client {
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

package quorum

// Epoch returns the quorum's current epoch as this node knows it: the Raft term (Kafka's
// leader epoch of the metadata quorum). It does no I/O, so /metrics can read it at scrape time.
func (q *Quorum) Epoch() uint64 { return q.raft.CurrentTerm() }

package jdbc

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sluicehq/sluice/internal/connect"
)

// maxPending bounds the statements queued before they are sent.
const maxPending = 1000

// pending is a Put's statements, sent together as one pipelined batch of prepared statements
// (pgx's statement cache): one round trip and no parsing or planning per record, as a JDBC
// batch of a PreparedStatement gives Confluent's sink. Statements run in the records' order;
// DDL (auto.create, auto.evolve) runs at once, before the rows queued earlier, which is safe
// because it only adds tables and columns.
type pending struct {
	batch pgx.Batch
	recs  []*connect.SinkRecord // the record of each queued statement, for errors
}

// queue adds r's statement, sending the batch first when it is full.
func (p *pending) queue(ctx context.Context, tx pgx.Tx, r *connect.SinkRecord, sql string, args ...any) error {
	if len(p.recs) >= maxPending {
		if err := p.send(ctx, tx); err != nil {
			return err
		}
	}
	p.batch.Queue(sql, args...)
	p.recs = append(p.recs, r)
	return nil
}

// send runs the queued statements and empties the batch; an error names the record whose
// statement failed.
func (p *pending) send(ctx context.Context, tx pgx.Tx) error {
	if len(p.recs) == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, &p.batch)
	var err error
	for _, r := range p.recs {
		if _, err = br.Exec(); err != nil {
			err = recordErr(r, err)
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	p.batch, p.recs = pgx.Batch{}, p.recs[:0]
	return err
}

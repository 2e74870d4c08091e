package txn

import (
	"fmt"
	"runtime/debug"
)

// guard ends a goroutine the coordinator started (a marker writer, a fenced-transaction abort,
// the timeout sweep) that panicked: the panic is logged with its stack and counted
// (Config.PanicRecovered), and then, if settle is not nil, the transaction it worked on is
// released (no longer pending; one left prepared gets its markers again at the next start, as
// after a failed write). One bad transaction costs itself, not the process. Use it only
// deferred directly: defer c.guard("txn.markers", m).
func (c *Coordinator) guard(where string, settle *txnMeta) {
	p := recover()
	if p == nil {
		return
	}
	c.logger.Error("recovered panic", "where", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if c.cfg.PanicRecovered != nil {
		c.cfg.PanicRecovered(where)
	}
	if settle != nil {
		c.release(settle)
	}
}

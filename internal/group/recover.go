package group

import (
	"fmt"
	"runtime/debug"
)

// guard ends a goroutine the coordinator started (a metadata writer, a loader, a timer, the
// retention sweep) that panicked: the panic is logged with its stack and counted
// (Config.PanicRecovered), and, if err is not nil, turned into an error the goroutine's
// waiters get (ErrCoordinatorUnavailable), so one bad group costs its requests, not the
// process. Use it only deferred directly: defer c.guard("group.writer", &err).
func (c *Coordinator) guard(where string, err *error) {
	p := recover()
	if p == nil {
		return
	}
	c.cfg.Logger.Error("recovered panic", "where", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if c.cfg.PanicRecovered != nil {
		c.cfg.PanicRecovered(where)
	}
	if err != nil {
		*err = fmt.Errorf("%w: %s panicked: %v", ErrCoordinatorUnavailable, where, p)
	}
}

package enclave

import (
	"context"
	"time"
)

// Transactor runs fn in one database transaction: every store call made with
// the context fn receives joins it, so a change, its audit record and the
// work it enqueues commit or roll back together. A nested call joins the
// outer transaction.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Clock tells the time. Services take one so tests can move time without sleeping.
type Clock func() time.Time

// Now returns the current time in UTC, truncated to microseconds so that it
// survives a round trip through either database unchanged.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now().UTC().Truncate(time.Microsecond)
	}
	return c().UTC().Truncate(time.Microsecond)
}

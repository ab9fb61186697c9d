package client

import (
	"context"
	"iter"

	"github.com/enclave-ml/enclave/internal/enclave"
)

// ListFunc fetches one page of a listing: a method value such as
// c.ListTasks with its filter bound.
type ListFunc[T any] func(ctx context.Context, page enclave.Page) ([]T, string, error)

// All yields every item of a listing, fetching pages of pageSize (0 for the
// server's default) as the caller consumes them. It stops at the last page,
// when the caller stops, or at the first error, which it yields.
//
//	for z, err := range client.All(ctx, 100, func(ctx context.Context, p enclave.Page) ([]*zone.Zone, string, error) {
//		return c.ListZones(ctx, filter, p)
//	}) { ... }
func All[T any](ctx context.Context, pageSize int, list ListFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		page := enclave.Page{Size: pageSize}
		for {
			items, next, err := list(ctx, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if next == page.Token {
				var zero T
				yield(zero, enclave.Errorf(enclave.CodeInternal, "the server returned the same page token twice"))
				return
			}
			page.Token = next
		}
	}
}

// collectPageSize is the page size Collect asks for: fewer round trips than
// the server's default, well under its maximum.
const collectPageSize = 200

// Collect returns the items of a listing, at most limit of them (all when
// limit is 0).
func Collect[T any](ctx context.Context, limit int, list ListFunc[T]) ([]T, error) {
	size := collectPageSize
	if limit > 0 && limit < size {
		size = limit
	}
	out := []T{}
	for item, err := range All(ctx, size, list) {
		if err != nil {
			return nil, err
		}
		out = append(out, item)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

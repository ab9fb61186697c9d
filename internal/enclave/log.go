package enclave

import (
	"context"
	"log/slog"
)

// LogHandler wraps a slog.Handler so that every record logged with a
// request's context carries that request's ID, joining log lines to the
// response and to the audit record of the same request.
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if m := RequestMetaFrom(ctx); m.RequestID != "" {
		r.AddAttrs(slog.String("request_id", m.RequestID))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler { return LogHandler{h.Handler.WithGroup(name)} }

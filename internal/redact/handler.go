package redact

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Handler wraps h so that every string in a record — the message, string
// attributes, errors and other values formatted as text, inside groups too,
// and the JSON of any other value (slices, maps) — is redacted by set
// before h sees it.
func Handler(h slog.Handler, set *Set) slog.Handler {
	return handler{next: h, set: set}
}

type handler struct {
	next slog.Handler
	set  *Set
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if h.set.r.Load() == nil {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, h.set.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return handler{next: h.next.WithAttrs(red), set: h.set}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{next: h.next.WithGroup(name), set: h.set}
}

// attr redacts one attribute's value.
func (h handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.set.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = h.attr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, h.set.String(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.set.String(x.String()))
		case []byte:
			return slog.String(a.Key, h.set.String(string(x)))
		default:
			// A slice, map or struct (e.g. the candidate URLs): the JSON
			// handler writes it as JSON, so look for a secret there (the
			// Set holds JSON-escaped forms); one with a secret becomes its
			// redacted JSON text, any other keeps its shape.
			if b, err := json.Marshal(x); err == nil {
				if red := h.set.String(string(b)); red != string(b) {
					return slog.String(a.Key, red)
				}
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Handler wraps h so that every value of a record (the message, strings,
// errors, Stringers, bytes, groups, and maps, structs and slices as the
// JSON h would write) is redacted before h sees it.
func (s *Secrets) Handler(h slog.Handler) slog.Handler { return redactHandler{next: h, set: s} }

type redactHandler struct {
	next slog.Handler
	set  *Secrets
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
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

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return redactHandler{next: h.next.WithAttrs(red), set: h.set}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{next: h.next.WithGroup(name), set: h.set}
}

// attr redacts one attribute, whatever its kind (LogValuers resolved);
// numbers, durations and times only when a secret form could appear in
// their text.
func (h redactHandler) attr(a slog.Attr) slog.Attr {
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
		case nil:
		case error:
			return slog.String(a.Key, h.set.String(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, h.set.String(x.String()))
		case []byte:
			return slog.String(a.Key, h.set.String(string(x)))
		default:
			return h.encoded(a.Key, x)
		}
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindDuration, slog.KindTime:
		if !h.set.numeric.Load() {
			break
		}
		if b, err := json.Marshal(v.Any()); err == nil && h.set.String(string(b)) != string(b) {
			return slog.String(a.Key, h.set.String(string(b)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// encoded redacts a value the JSON handler would serialize itself: encoded
// here as it would be (no HTML escaping), redacted, and passed on as JSON,
// or as a string when redaction broke the JSON (a form inside an escape
// sequence) or the value does not encode.
func (h redactHandler) encoded(key string, x any) slog.Attr {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return slog.String(key, h.set.String(fmt.Sprintf("%+v", x)))
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	red := h.set.String(string(b))
	if red != string(b) && !json.Valid([]byte(red)) {
		return slog.String(key, red)
	}
	return slog.Any(key, json.RawMessage(red))
}

package obs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Handler wraps h so that every value in a record — the message, string
// attributes, errors and other values formatted as text, maps, structs and
// slices as the JSON h would write, inside groups too — is redacted by set
// before h sees it.
func Redacting(h slog.Handler, set *Secrets) slog.Handler {
	return redactHandler{next: h, set: set}
}

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

// attr redacts one attribute's value, whatever its kind: strings, errors,
// Stringers and byte slices as text; groups (and LogValuers, resolved) attr
// by attr; any other value (maps, structs, slices, pointers) as the JSON the
// JSON redactHandler would write for it; numbers, durations and times only when a
// secret form could appear in their text (a set with a numeric form).
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
		if h.set.numeric.Load() {
			if s := numberText(v); h.set.String(s) != s {
				return slog.String(a.Key, h.set.String(s))
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// encoded redacts a value the JSON redactHandler would serialize itself: it is
// encoded here as the redactHandler would (encoding/json, no HTML escaping: the
// set holds the JSON-escaped forms too), redacted, and passed on as that
// JSON (json.RawMessage), or as a string when redaction broke the JSON
// (a form matching inside an escape sequence) or the value does not encode.
func (h redactHandler) encoded(key string, x any) slog.Attr {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return slog.String(key, h.set.String(fmt.Sprintf("%+v", x)))
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	red := h.set.String(string(b))
	if len(red) == len(b) && red == string(b) {
		return slog.Any(key, json.RawMessage(b))
	}
	if !json.Valid([]byte(red)) {
		return slog.String(key, red)
	}
	return slog.Any(key, json.RawMessage(red))
}

// numberText is v as the JSON redactHandler writes it (a time in RFC 3339 with
// nanoseconds, whose digits include those of the redactHandler's milliseconds).
func numberText(v slog.Value) string {
	switch v.Kind() {
	case slog.KindInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case slog.KindUint64:
		return strconv.FormatUint(v.Uint64(), 10)
	case slog.KindDuration:
		return strconv.FormatInt(int64(v.Duration()), 10)
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	case slog.KindFloat64:
		if b, err := json.Marshal(v.Float64()); err == nil {
			return string(b)
		}
	}
	return v.String()
}

package obs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

const (
	mask     = "[redacted]"
	minLen   = 6    // the shortest value redacted: shorter ones (an empty key, a placeholder) would mask unrelated text
	maxForms = 4096 // about 60 secret values; past it the oldest forms go, never those of the values held now
)

// forms returns the value, its base64 (both alphabets, padded or not) and
// hex (both cases), each also percent-escaped and JSON-escaped.
func forms(value string) []string {
	if len(value) < minLen {
		return nil
	}
	b := []byte(value)
	base := []string{value, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		base = append(base, enc.EncodeToString(b))
	}
	var out []string
	for _, f := range base {
		out = append(out, f, url.QueryEscape(f), url.PathEscape(f), jsonEscaped(f, true), jsonEscaped(f, false))
	}
	return out
}

func jsonEscaped(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(b.String(), "\n"), `"`), `"`)
}

// Secrets is a concurrency-safe set of secret values to redact in every
// form. The zero value redacts nothing.
type Secrets struct {
	mu    sync.Mutex
	forms map[string]bool
	order []string // oldest first, to evict past maxForms
	r     atomic.Pointer[strings.Replacer]
}

// Add registers values to redact.
func (s *Secrets) Add(values ...string) {
	var fs []string
	for _, v := range values {
		fs = append(fs, forms(v)...)
	}
	s.addForms(fs)
}

// AddBasic registers the HTTP Basic credentials user:password (the user
// alone is not a secret).
func (s *Secrets) AddBasic(user, password string) {
	if len(password) >= minLen {
		s.addForms(forms(user + ":" + password))
	}
}

func (s *Secrets) addForms(fs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forms == nil {
		s.forms = map[string]bool{}
	}
	added := false
	for _, f := range fs {
		if !s.forms[f] { // every form is at least as long as its value
			s.forms[f], added = true, true
			s.order = append(s.order, f)
		}
	}
	if !added {
		return
	}
	for len(s.order) > maxForms {
		delete(s.forms, s.order[0])
		s.order = s.order[1:]
	}
	pairs := make([]string, 0, 4*len(s.forms))
	for _, f := range sortedForms(s.forms) {
		pairs = append(pairs, f, mask)
	}
	s.r.Store(strings.NewReplacer(pairs...))
}

// sortedForms is every form and its JSON-escaped text (for values encoded
// before redaction), longest first: a form containing another goes whole.
func sortedForms(set map[string]bool) []string {
	all := make([]string, 0, 2*len(set))
	for f := range set {
		all = append(all, f, jsonEscaped(f, false))
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(all)
}

// String redacts every registered form in text.
func (s *Secrets) String(text string) string {
	if r := s.r.Load(); r != nil {
		return r.Replace(text)
	}
	return text
}

// RedactText redacts password and user:password, in every form, from text.
func RedactText(text, user, password string) string {
	var s Secrets
	s.Add(password)
	s.AddBasic(user, password)
	return s.String(text)
}

// Handler wraps h so that every value of a record, of every kind, is
// redacted before h sees it.
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

// attr redacts one attribute, whatever its kind (LogValuers resolved),
// numbers, durations and times included.
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
		if b, err := json.Marshal(v.Any()); err == nil && h.set.String(string(b)) != string(b) {
			return slog.String(a.Key, h.set.String(string(b)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// encoded redacts a value the JSON handler would encode: encoded here as it
// would be, redacted, and passed on as JSON, or as a string when redaction
// broke the JSON (a form inside an escape) or the value does not encode.
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

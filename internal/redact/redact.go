// Package redact removes secret values, and every form derived from one,
// from text: the raw value, its base64 encodings (standard and URL
// alphabets, with and without padding), HTTP Basic credentials built from
// a user and a password, hex, and the percent- and JSON-escaped forms of
// each. A Set collects the values a process learns at run time (the
// credentials secret); Handler applies it to every log line.
package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Mask replaces a redacted value.
const Mask = "[redacted]"

// minLen is the shortest value redacted: shorter ones (an empty key, a
// one-letter placeholder) would mask unrelated text.
const minLen = 6

// Forms returns every form of value this package redacts, longest first.
func Forms(value string) []string {
	if len(value) < minLen {
		return nil
	}
	base := []string{value}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		base = append(base, enc.EncodeToString([]byte(value)))
	}
	base = append(base, hex.EncodeToString([]byte(value)), strings.ToUpper(hex.EncodeToString([]byte(value))))
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if len(s) >= minLen && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, f := range base {
		add(f)
		add(url.QueryEscape(f))
		add(url.PathEscape(f))
		add(jsonEscaped(f, true))
		add(jsonEscaped(f, false))
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// BasicForms returns the forms of the HTTP Basic credentials user:password
// (each base64 encoding, with and without the "Basic " prefix, escaped as
// Forms does). The user alone is not a secret and is not included.
func BasicForms(user, password string) []string {
	if len(password) < minLen {
		return nil
	}
	return Forms(user + ":" + password)
}

func jsonEscaped(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// Set is a concurrency-safe collection of secret values to redact. The
// zero value is ready to use and redacts nothing.
type Set struct {
	mu    sync.Mutex
	forms map[string]bool
	// order holds the forms oldest first, to evict past maxForms.
	order []string
	r     atomic.Pointer[strings.Replacer]
	// numeric: some form is made of digits and . + - : only, so it could
	// appear in the text of a number, duration or time.
	numeric atomic.Bool
}

// maxForms bounds how many forms a Set keeps (about 60 secret values: a
// container would need that many rotations to reach it). Past it the
// oldest forms are dropped: the values a secret holds now are always
// redacted, the ones it held longest ago are the first to go.
const maxForms = 4096

// Add registers values (and their derived forms) to redact.
func (s *Set) Add(values ...string) {
	s.AddForms(flatten(values, Forms)...)
}

// AddBasic registers the Basic credentials user:password.
func (s *Set) AddBasic(user, password string) {
	s.AddForms(BasicForms(user, password)...)
}

// AddForms registers exact strings to redact.
func (s *Set) AddForms(forms ...string) {
	if len(forms) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forms == nil {
		s.forms = map[string]bool{}
	}
	added := false
	for _, f := range forms {
		if f != "" && !s.forms[f] {
			s.forms[f] = true
			s.order = append(s.order, f)
			added = true
			if strings.Trim(f, "0123456789.+-:") == "" {
				s.numeric.Store(true)
			}
		}
	}
	if !added {
		return
	}
	for len(s.order) > maxForms {
		delete(s.forms, s.order[0])
		s.order = s.order[1:]
	}
	// Each form also as it reads once JSON-encoded (a form holding a
	// backslash, a quote or a control character), for values the log
	// handler encodes as JSON before redaction (maps, structs).
	seen := make(map[string]bool, len(s.forms))
	all := make([]string, 0, len(s.forms))
	for f := range s.forms {
		for _, g := range []string{f, jsonEscaped(f, false)} {
			if !seen[g] {
				seen[g] = true
				all = append(all, g)
			}
		}
	}
	// Longest first, so a form containing another is replaced whole.
	sort.Slice(all, func(i, j int) bool {
		if len(all[i]) != len(all[j]) {
			return len(all[i]) > len(all[j])
		}
		return all[i] < all[j]
	})
	pairs := make([]string, 0, 2*len(all))
	for _, f := range all {
		pairs = append(pairs, f, Mask)
	}
	s.r.Store(strings.NewReplacer(pairs...))
}

// String redacts every registered form in text.
func (s *Set) String(text string) string {
	if s == nil {
		return text
	}
	r := s.r.Load()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// Text redacts forms of the given values (and of user:password Basic
// credentials when user is not empty) in text, without a Set.
func Text(text, user, password string, values ...string) string {
	var forms []string
	if user != "" {
		forms = append(forms, BasicForms(user, password)...)
	}
	forms = append(forms, flatten(append([]string{password}, values...), Forms)...)
	if len(forms) == 0 {
		return text
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mask)
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

func flatten(values []string, fn func(string) []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, fn(v)...)
	}
	return out
}

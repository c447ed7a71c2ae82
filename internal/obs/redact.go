package obs

// Redaction removes secret values, and every form derived from one, from
// text: the raw value, its base64 encodings (standard and URL alphabets,
// with and without padding), HTTP Basic credentials built from a user and a
// password, hex, and the percent- and JSON-escaped forms of each. Secrets
// collects the values a process learns at run time (the credentials
// secret); Redacting applies it to every log line.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// mask replaces a redacted value.
const mask = "[redacted]"

// minLen is the shortest value redacted: shorter ones (an empty key, a
// one-letter placeholder) would mask unrelated text.
const minLen = 6

// forms returns every form of value redacted, longest first.
func forms(value string) []string {
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

// basicForms returns the forms of the HTTP Basic credentials user:password
// (each base64 encoding, with and without the "Basic " prefix, escaped as
// Forms does). The user alone is not a secret and is not included.
func basicForms(user, password string) []string {
	if len(password) < minLen {
		return nil
	}
	return forms(user + ":" + password)
}

func jsonEscaped(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(s) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// Secrets is a concurrency-safe collection of secret values to redact. The
// zero value is ready to use and redacts nothing.
type Secrets struct {
	mu    sync.Mutex
	forms map[string]bool
	// order holds the forms oldest first, to evict past maxForms.
	order []string
	r     atomic.Pointer[strings.Replacer]
	// numeric: some form is made of digits and . + - : only, so it could
	// appear in the text of a number, duration or time.
	numeric atomic.Bool
}

// maxForms bounds how many forms a Secrets keeps (about 60 secret values: a
// container would need that many rotations to reach it). Past it the
// oldest forms are dropped: the values a secret holds now are always
// redacted, the ones it held longest ago are the first to go.
const maxForms = 4096

// Add registers values (and their derived forms) to redact.
func (s *Secrets) Add(values ...string) {
	s.addForms(formsOf(values...))
}

// AddBasic registers the Basic credentials user:password.
func (s *Secrets) AddBasic(user, password string) {
	s.addForms(basicForms(user, password))
}

// addForms registers exact strings to redact and rebuilds the replacer.
func (s *Secrets) addForms(fs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forms == nil {
		s.forms = map[string]bool{}
	}
	added := false
	for _, f := range fs {
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
	all := make([]string, 0, 2*len(s.forms))
	for f := range s.forms {
		all = append(all, f, jsonEscaped(f, false))
	}
	s.r.Store(replacer(all))
}

// replacer masks every one of fs, longest first so that a form containing
// another is replaced whole.
func replacer(fs []string) *strings.Replacer {
	sort.Slice(fs, func(i, j int) bool {
		if len(fs[i]) != len(fs[j]) {
			return len(fs[i]) > len(fs[j])
		}
		return fs[i] < fs[j]
	})
	fs = slices.Compact(fs)
	pairs := make([]string, 0, 2*len(fs))
	for _, f := range fs {
		pairs = append(pairs, f, mask)
	}
	return strings.NewReplacer(pairs...)
}

// String redacts every registered form in text.
func (s *Secrets) String(text string) string {
	if s == nil {
		return text
	}
	r := s.r.Load()
	if r == nil {
		return text
	}
	return r.Replace(text)
}

// RedactText redacts forms of the given values (and of user:password Basic
// credentials when user is not empty) in text, without a Secrets.
func RedactText(text, user, password string, values ...string) string {
	var fs []string
	if user != "" {
		fs = basicForms(user, password)
	}
	fs = append(fs, formsOf(append([]string{password}, values...)...)...)
	if len(fs) == 0 {
		return text
	}
	return replacer(fs).Replace(text)
}

// formsOf is the forms of every value.
func formsOf(values ...string) []string {
	var out []string
	for _, v := range values {
		out = append(out, forms(v)...)
	}
	return out
}

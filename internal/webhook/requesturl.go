package webhook

import (
	"cmp"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// RequestURL describes what the function saw of a webhook request, from which
// Candidates reconstructs the URL(s) SignalWire may have called. Behind API
// Gateway that URL differs from what the function sees: REST APIs prefix the
// stage in requestContext.path, HTTP APIs keep a named stage in rawPath, custom
// domains add or strip base-path mappings, and ports may differ.
type RequestURL struct {
	// PublicURL is the configured full public URL of the webhook route,
	// without query (PUBLIC_WEBHOOK_URL), for proxies that rewrite the path;
	// when set it wins over everything else but the query.
	PublicURL string
	// PublicBaseURL is the configured public URL prefix (PUBLIC_BASE_URL), for
	// example "https://hooks.example.com/prod"; when set it wins over Scheme
	// and Host.
	PublicBaseURL string
	// Scheme is the scheme SignalWire used; "" means https (API Gateway and
	// Function URLs are HTTPS only).
	Scheme string
	// Host is requestContext.domainName, or the Host header.
	Host string
	// Paths are the request paths seen: rawPath for HTTP APIs and Function
	// URLs; for REST APIs both requestContext.path (stage included) and path.
	Paths []string
	// RawQuery is the query string as sent, without '?'. For REST APIs, which
	// expose only decoded parameters, it is QueryCandidates' first.
	RawQuery string
	// QueryVariants are other query strings that may be the one sent, tried
	// after RawQuery: for REST APIs, the rest of QueryCandidates.
	QueryVariants []string
	// Route is the function's route, for example "/webhooks/signalwire". With
	// PublicBaseURL, the part of each path from Route onward is appended to the
	// base; when Route is empty or not in a path, the whole path is.
	Route string
}

// Candidates returns the distinct URLs SignalWire may have called, most likely
// first: each base URL (PublicURL; else PublicBaseURL + the route suffix of
// each path; else scheme://Host + each path; base + Route when there is no
// path) with each query. It is nil when there is neither a public URL nor a
// Host. Verify also tries each with its default port added or removed.
func (r RequestURL) Candidates() []string {
	bases := r.bases()
	var out []string
	for _, q := range append([]string{r.RawQuery}, r.QueryVariants...) {
		if q = strings.TrimPrefix(q, "?"); q != "" {
			q = "?" + q
		}
		for _, b := range bases {
			out = append(out, b+q)
		}
	}
	return dedupe(out)
}

// bases returns the candidate URLs without their query.
func (r RequestURL) bases() []string {
	if u := strings.TrimSpace(r.PublicURL); u != "" {
		return []string{u}
	}
	public := strings.TrimRight(strings.TrimSpace(r.PublicBaseURL), "/")
	base := public
	if base == "" {
		host := strings.TrimSpace(r.Host)
		if host == "" {
			return nil
		}
		base = cmp.Or(strings.ToLower(strings.TrimSpace(r.Scheme)), "https") + "://" + host
	}
	paths := r.paths()
	if len(paths) == 0 {
		return []string{base + r.route()}
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		if public != "" {
			p = r.routeSuffix(p)
		}
		out[i] = base + p
	}
	return out
}

// paths returns the distinct non-empty paths, each with a leading '/'.
func (r RequestURL) paths() []string {
	var out []string
	for _, p := range r.Paths {
		if p != "" {
			out = append(out, "/"+strings.TrimPrefix(p, "/"))
		}
	}
	return dedupe(out)
}

// route returns Route with one leading '/' and no trailing '/'; "" when unset.
func (r RequestURL) route() string {
	if route := strings.Trim(strings.TrimSpace(r.Route), "/"); route != "" {
		return "/" + route
	}
	return ""
}

// routeSuffix returns the part of p from the first occurrence of Route that
// ends on a segment boundary; p itself when there is none.
func (r RequestURL) routeSuffix(p string) string {
	route := r.route()
	if route == "" {
		return p
	}
	for i := range len(p) {
		if end := i + len(route); strings.HasPrefix(p[i:], route) && (end == len(p) || p[end] == '/') {
			return p[i:]
		}
	}
	return p
}

// Bounds of QueryCandidates: every order of up to 4 names is tried (24),
// and at most 64 query strings in all.
const (
	maxQueryPermutationNames = 4
	maxQueryCandidates       = 64
)

// queryEncoding is one way of percent-encoding a query's names and values.
type queryEncoding struct {
	safe    string // left raw besides ASCII letters and digits
	space   string // "+" or "%20"
	hex     string // the hex digits: upper or lower case
	rawUTF8 bool   // bytes of UTF-8 sequences left raw
}

// queryEncodings are the encodings QueryCandidates tries, url.QueryEscape's
// first: each set of characters common encoders leave unescaped, with a
// space as "+" or "%20", upper or lower case hex, UTF-8 escaped or raw.
var queryEncodings = func() []queryEncoding {
	safeSets := []string{
		"-._~",             // Go url.QueryEscape; RFC 3986 unreserved: Python quote, PHP rawurlencode, .NET EscapeDataString
		"-_.!~*'()",        // JavaScript encodeURIComponent
		"*-._",             // WHATWG URLSearchParams, Java URLEncoder
		"-_.",              // PHP urlencode
		"-_.!*()",          // .NET HttpUtility.UrlEncode
		"-._~!$'()*,;:@/?", // typed by hand: all RFC 3986 allows raw in a query value
	}
	var out []queryEncoding
	for _, raw := range []bool{false, true} {
		for _, hex := range []string{"0123456789ABCDEF", "0123456789abcdef"} {
			for _, space := range []string{"+", "%20"} {
				for _, safe := range safeSets {
					out = append(out, queryEncoding{safe, space, hex, raw})
				}
			}
		}
	}
	return out
}()

func (e queryEncoding) escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80 && e.rawUTF8, strings.IndexByte(e.safe, c) >= 0:
			b.WriteByte(c)
		case c == ' ':
			b.WriteString(e.space)
		default:
			b.WriteByte('%')
			b.WriteByte(e.hex[c>>4])
			b.WriteByte(e.hex[c&15])
		}
	}
}

// QueryCandidates returns the query strings SignalWire may have signed for
// a REST API event, which hands the function only the decoded parameters q
// (API Gateway decodes "+" and percent escapes): the names in order (the
// order the event's JSON lists them), then sorted, then, for at most 4
// names, every other order, a repeated name's values together in the order
// given; each order in every distinct encoding of queryEncodings. At most
// 64 strings, the first of them order encoded as url.QueryEscape does.
func QueryCandidates(order []string, q url.Values) []string {
	sorted := slices.Sorted(maps.Keys(q))
	names := slices.DeleteFunc(slices.Clone(order), func(n string) bool { return !q.Has(n) })
	for _, n := range sorted {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	// An encoding that writes every name's pairs as another does gives the
	// same string in every order: only distinct ones are kept.
	var encodings []map[string]string
	seen := map[string]bool{}
	for _, e := range queryEncodings {
		pairs, all := make(map[string]string, len(q)), ""
		for _, n := range names {
			var b strings.Builder
			for i, v := range q[n] {
				if i > 0 {
					b.WriteByte('&')
				}
				e.escape(&b, n)
				b.WriteByte('=')
				e.escape(&b, v)
			}
			pairs[n] = b.String()
			all += pairs[n] + "&"
		}
		if !seen[all] {
			seen[all] = true
			encodings = append(encodings, pairs)
		}
	}
	orders := [][]string{names, sorted}
	if len(sorted) <= maxQueryPermutationNames {
		p := slices.Clone(sorted)
		permute(p, 0, func() { orders = append(orders, slices.Clone(p)) })
	}
	var out []string
	clear(seen)
	for _, o := range orders {
		for _, pairs := range encodings {
			parts := make([]string, len(o))
			for i, n := range o {
				parts[i] = pairs[n]
			}
			if s := strings.Join(parts, "&"); !seen[s] {
				seen[s] = true
				if out = append(out, s); len(out) == maxQueryCandidates {
					return out
				}
			}
		}
	}
	return out
}

// permute calls visit with s in each of its orders from index k on.
func permute(s []string, k int, visit func()) {
	if k == len(s) {
		visit()
		return
	}
	for i := k; i < len(s); i++ {
		s[k], s[i] = s[i], s[k]
		permute(s, k+1, visit)
		s[k], s[i] = s[i], s[k]
	}
}

// dedupe drops the repeats of in, in place, keeping the first of each.
func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	return slices.DeleteFunc(in, func(s string) bool {
		dup := seen[s]
		seen[s] = true
		return dup
	})
}

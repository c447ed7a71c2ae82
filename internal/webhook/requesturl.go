package webhook

import (
	"cmp"
	"maps"
	"net/url"
	"slices"
	"strings"
)

// RequestURL is what the function saw of a webhook request. Behind API
// Gateway the URL SignalWire called differs from it: REST APIs prefix the
// stage in requestContext.path, HTTP APIs keep a named stage in rawPath,
// custom domains add or strip base-path mappings, and ports may differ.
type RequestURL struct {
	PublicURL string // PUBLIC_WEBHOOK_URL: when set, the only base URL
	// PublicBaseURL (PUBLIC_BASE_URL), when set, replaces Scheme and Host;
	// the part of each path from Route onward is appended to it.
	PublicBaseURL string
	Scheme        string // the scheme SignalWire used; "" means https
	Host          string // requestContext.domainName, or the Host header
	// Paths: rawPath for HTTP APIs and Function URLs; for REST APIs both
	// requestContext.path (stage included) and path.
	Paths         []string
	RawQuery      string   // without '?'; for REST APIs (decoded parameters only), QueryCandidates' first
	QueryVariants []string // tried after RawQuery: the rest of QueryCandidates
	Route         string   // the function's route, "/webhooks/signalwire"
}

// Candidates returns the distinct URLs SignalWire may have called, most likely
// first: each base URL (PublicURL; else PublicBaseURL + the route suffix of
// each path; else scheme://Host + each path; base + Route without a path)
// with each query; nil without a public URL or a Host.
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
	var out []string
	for _, p := range r.Paths {
		if p == "" {
			continue
		}
		if p = "/" + strings.TrimPrefix(p, "/"); public != "" {
			p = r.routeSuffix(p)
		}
		out = append(out, base+p)
	}
	if len(out) == 0 {
		return []string{base + r.route()}
	}
	return out
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
	route := r.route() // "" matches at 0
	for i := range len(p) {
		if end := i + len(route); strings.HasPrefix(p[i:], route) && (end == len(p) || p[end] == '/') {
			return p[i:]
		}
	}
	return p
}

// Bounds of QueryCandidates.
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
// first: what common encoders leave raw, times space, hex case and UTF-8.
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
// a REST API event's decoded parameters q: the names in order (as the
// event's JSON lists them), sorted, then for at most 4 names every order
// (a name's values kept together), each in every encoding; at most 64
// distinct strings, the first encoded as url.QueryEscape does.
func QueryCandidates(order []string, q url.Values) []string {
	sorted := slices.Sorted(maps.Keys(q))
	names := slices.DeleteFunc(slices.Clone(order), func(n string) bool { return !q.Has(n) })
	for _, n := range sorted {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	encodings := make([]map[string]string, len(queryEncodings)) // name: its pairs
	for j, e := range queryEncodings {
		encodings[j] = make(map[string]string, len(q))
		for n, vs := range q {
			var b strings.Builder
			for i, v := range vs {
				if i > 0 {
					b.WriteByte('&')
				}
				e.escape(&b, n)
				b.WriteByte('=')
				e.escape(&b, v)
			}
			encodings[j][n] = b.String()
		}
	}
	orders := [][]string{names, sorted}
	if len(sorted) <= maxQueryPermutationNames {
		p := slices.Clone(sorted)
		permute(p, 0, func() { orders = append(orders, slices.Clone(p)) })
	}
	var out []string
	for _, o := range orders {
		for _, pairs := range encodings {
			parts := make([]string, len(o))
			for i, n := range o {
				parts[i] = pairs[n]
			}
			if s := strings.Join(parts, "&"); !slices.Contains(out, s) {
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

package webhook

import (
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
	// without query (PUBLIC_WEBHOOK_URL), for proxies that rewrite the path
	// (for example "https://example.ngrok.io/webhook"); "" when not
	// configured. When set it wins over everything else but the query.
	PublicURL string
	// PublicBaseURL is the configured public URL prefix (PUBLIC_BASE_URL), for
	// example "https://hooks.example.com/prod"; "" when not configured. When
	// set it wins over Scheme and Host.
	PublicBaseURL string
	// Scheme is the scheme SignalWire used when PublicBaseURL is empty;
	// "" means https (API Gateway and Function URLs are HTTPS only).
	Scheme string
	// Host is requestContext.domainName, or the Host header.
	Host string
	// Paths are the request paths seen: rawPath for HTTP APIs and Function
	// URLs; for REST APIs both requestContext.path (stage included) and path.
	// Empty and repeated paths are ignored.
	Paths []string
	// RawQuery is the query string as sent, without '?'. For REST APIs, which
	// expose only decoded parameters, the caller must re-encode it; the
	// signature only matches if that reproduces SignalWire's bytes.
	RawQuery string
	// QueryVariants are other query strings (without '?') that may be the
	// one sent, tried after RawQuery: REST APIs lose the order of the
	// parameters (see QueryOrderings).
	QueryVariants []string
	// Route is the function's route, for example "/webhooks/signalwire". With
	// PublicBaseURL, the part of each path from Route onward is appended to the
	// base; when Route is empty or not in a path, the whole path is.
	Route string
}

// Candidates returns the distinct URLs SignalWire may have called, most likely
// first. With PublicBaseURL: base (without trailing '/') + the route suffix of
// each path (base + Route when there is no path). Without it:
// scheme://Host + each path; nil when Host is empty. "?RawQuery" is appended
// when the query is not empty. Verify also tries each with its default port
// added or removed.
func (r RequestURL) Candidates() []string {
	var out []string
	seen := map[string]bool{}
	for _, q := range append([]string{r.RawQuery}, r.QueryVariants...) {
		q = strings.TrimPrefix(q, "?")
		if seen[q] {
			continue
		}
		seen[q] = true
		out = append(out, r.candidates(q)...)
	}
	return dedupe(out)
}

// candidates returns the candidate URLs for one query string.
func (r RequestURL) candidates(query string) []string {
	if query != "" {
		query = "?" + query
	}
	if u := strings.TrimSpace(r.PublicURL); u != "" {
		return []string{u + query}
	}
	paths := r.paths()
	var out []string
	if base := strings.TrimRight(strings.TrimSpace(r.PublicBaseURL), "/"); base != "" {
		if len(paths) == 0 {
			out = append(out, base+r.route()+query)
		}
		for _, p := range paths {
			out = append(out, base+r.routeSuffix(p)+query)
		}
		return out
	}
	host := strings.TrimSpace(r.Host)
	if host == "" {
		return nil
	}
	scheme := strings.ToLower(strings.TrimSpace(r.Scheme))
	if scheme == "" {
		scheme = "https"
	}
	if len(paths) == 0 {
		paths = []string{r.route()}
	}
	for _, p := range paths {
		out = append(out, scheme+"://"+host+p+query)
	}
	return out
}

// maxQueryPermutationNames bounds QueryOrderings: 4 names give 24 orders.
const maxQueryPermutationNames = 4

// QueryOrderings returns the query strings a REST API request may have had,
// given only its parameters (API Gateway's REST APIs pass them as maps, in
// no order): the names sorted first, then, with at most 4 distinct names,
// every other order of the names (each name's values kept in the order
// given). Values are encoded as url.Values.Encode does; a query SignalWire
// encoded differently only verifies through PUBLIC_WEBHOOK_URL or an HTTP
// API.
func QueryOrderings(q url.Values) []string {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	encode := func(order []string) string {
		var b strings.Builder
		for _, name := range order {
			for _, v := range q[name] {
				if b.Len() > 0 {
					b.WriteByte('&')
				}
				b.WriteString(url.QueryEscape(name))
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(v))
			}
		}
		return b.String()
	}
	out := []string{encode(names)}
	if len(names) < 2 || len(names) > maxQueryPermutationNames {
		return out
	}
	var permute func(k int)
	permute = func(k int) {
		if k == len(names) {
			if s := encode(names); s != out[0] {
				out = append(out, s)
			}
			return
		}
		for i := k; i < len(names); i++ {
			names[k], names[i] = names[i], names[k]
			permute(k + 1)
			names[k], names[i] = names[i], names[k]
		}
	}
	permute(0)
	return dedupe(out)
}

// paths returns the non-empty paths, each with a leading '/'.
func (r RequestURL) paths() []string {
	out := make([]string, 0, len(r.Paths))
	for _, p := range r.Paths {
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		out = append(out, p)
	}
	return dedupe(out)
}

// route returns Route with one leading '/' and no trailing '/'; "" when unset.
func (r RequestURL) route() string {
	route := strings.Trim(strings.TrimSpace(r.Route), "/")
	if route == "" {
		return ""
	}
	return "/" + route
}

// routeSuffix returns the part of p from the first occurrence of Route that
// starts and ends on a segment boundary; p itself when there is none.
func (r RequestURL) routeSuffix(p string) string {
	route := r.route()
	if route == "" {
		return p
	}
	for from := 0; from < len(p); {
		i := strings.Index(p[from:], route)
		if i < 0 {
			break
		}
		start := from + i
		end := start + len(route)
		if end == len(p) || p[end] == '/' {
			return p[start:]
		}
		from = start + 1
	}
	return p
}

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

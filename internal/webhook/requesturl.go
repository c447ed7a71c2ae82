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
	// RawQuery is the query string as sent, without '?'. REST APIs expose
	// only decoded parameters: the caller re-encodes them (QueryOrderings).
	RawQuery string
	// QueryVariants are other query strings that may be the one sent, tried
	// after RawQuery.
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

// maxQueryPermutationNames bounds QueryOrderings: 4 names give 24 orders.
const maxQueryPermutationNames = 4

// QueryOrderings returns the query strings a REST API request may have had,
// given only its parameters (REST APIs pass them as maps, in no order): the
// names sorted first, then, with at most 4 distinct names, every other order
// of the names (each name's values kept in the order given). Values are
// encoded as url.Values.Encode does; a query SignalWire encoded differently
// only verifies through PUBLIC_WEBHOOK_URL or an HTTP API.
func QueryOrderings(q url.Values) []string {
	out := []string{q.Encode()}
	if len(q) < 2 || len(q) > maxQueryPermutationNames {
		return out
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if len(q[name]) > 0 {
			parts = append(parts, url.Values{name: q[name]}.Encode())
		}
	}
	permute(parts, 0, func() { out = append(out, strings.Join(parts, "&")) })
	return dedupe(out)
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

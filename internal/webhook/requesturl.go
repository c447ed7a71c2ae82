package webhook

import (
	"strings"
)

// RequestURL describes what the function saw of a webhook request, from which
// Candidates reconstructs the URL(s) SignalWire may have called. Behind API
// Gateway that URL differs from what the function sees: REST APIs prefix the
// stage in requestContext.path, HTTP APIs keep a named stage in rawPath, custom
// domains add or strip base-path mappings, and ports may differ.
type RequestURL struct {
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
	query := strings.TrimPrefix(r.RawQuery, "?")
	if query != "" {
		query = "?" + query
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
		return dedupe(out)
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

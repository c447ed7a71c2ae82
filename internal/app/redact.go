package app

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// Bounds of what a rejection line shows of the URLs tried: a forged 8 KB
// query on a REST API (24 query orders, two paths, with and without the
// default port) made a 1.1 MB "webhook rejected" line.
const (
	maxLoggedURLs     = 8
	maxLoggedURLBytes = 512
)

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return obs.Truncate(s, n) + "…"
}

// redactedQuery keeps the names of a raw query's parameters and redacts
// every value (users put tokens in their callback URLs' queries).
func redactedQuery(rawQuery string) string {
	parts := strings.Split(rawQuery, "&")
	for i, part := range parts {
		if name, _, ok := strings.Cut(part, "="); ok {
			parts[i] = name + "=[redacted]"
		} else if part != "" {
			parts[i] = "[redacted]"
		}
	}
	return strings.Join(parts, "&")
}

// redactURL returns u without user information, fragment or query values.
func redactURL(u string) string {
	base, query, hasQuery := strings.Cut(u, "?")
	base, _, _ = strings.Cut(base, "#")
	query, _, _ = strings.Cut(query, "#")
	if p, err := url.Parse(base); err == nil && p.User != nil {
		p.User = nil
		base = p.String()
	}
	if !hasQuery {
		return base
	}
	return base + "?" + redactedQuery(query)
}

// redactedURLs redacts and clips urls, at most maxLoggedURLs of them.
func redactedURLs(urls []string) []string {
	out := make([]string, 0, min(len(urls), maxLoggedURLs)+1)
	for i, u := range urls {
		if i == maxLoggedURLs {
			out = append(out, fmt.Sprintf("(%d more)", len(urls)-i))
			break
		}
		out = append(out, clip(redactURL(u), maxLoggedURLBytes))
	}
	return out
}

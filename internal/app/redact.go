package app

import (
	"net/url"
	"strings"
)

// Users put tokens in the query strings of their callback URLs, so a log
// line shows a URL's query with its values redacted, as the HTTPS
// destination's URL is shown without its query.

// redactedQuery keeps the names of a raw query's parameters and replaces
// every value (and every part without a name) with [redacted].
func redactedQuery(rawQuery string) string {
	parts := strings.Split(rawQuery, "&")
	for i, part := range parts {
		if part == "" {
			continue
		}
		if name, _, ok := strings.Cut(part, "="); ok {
			parts[i] = name + "=[redacted]"
		} else {
			parts[i] = "[redacted]"
		}
	}
	return strings.Join(parts, "&")
}

// redactURL returns u with its query values redacted, and without user
// information or fragment.
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

// redactedURLs is urls with their query values redacted.
func redactedURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		out[i] = redactURL(u)
	}
	return out
}

// redactQueries replaces, in msg, every query string of urls by its
// redacted form.
func redactQueries(msg string, urls []string) string {
	for _, u := range urls {
		_, query, ok := strings.Cut(u, "?")
		if !ok || query == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, "?"+query, "?"+redactedQuery(query))
	}
	return msg
}

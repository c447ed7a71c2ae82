package obs

import "unicode/utf8"

// Truncate cuts s to at most n bytes, on a rune boundary, so that a value
// quoted in a log line, an error or a message attribute stays bounded.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

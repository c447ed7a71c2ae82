package forward

import (
	"strings"
	"unicode/utf8"
)

// MaxMessageBytes is the largest message every destination accepts: SQS's
// 256 KiB (the default of queues created before the 1 MiB limit, and the
// least a queue may be set to; message attributes count) and EventBridge's
// 256 KB entry (Source, DetailType and Detail count).
const MaxMessageBytes = 256 << 10

// sqsAllowed reports whether r is in the character set SQS accepts in
// message bodies and attribute values: #x9 #xA #xD #x20-#xD7FF
// #xE000-#xFFFD #x10000-#x10FFFF.
func sqsAllowed(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// validSQSText reports whether s is valid UTF-8 of sqsAllowed characters only.
func validSQSText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !sqsAllowed(r) })
}

// safeAttribute replaces each character SQS refuses (and invalid UTF-8 byte) with U+FFFD.
func safeAttribute(s string) string {
	return strings.Map(func(r rune) rune {
		if !sqsAllowed(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// CompactJSON rewrites a JSON text (as encoding/json produces) so that every
// destination accepts it, without changing its value: characters SQS refuses
// inside strings (U+FFFE and U+FFFF, which encoding/json writes raw) become
// \u escapes, an invalid UTF-8 byte \ufffd, and the HTML-safety escapes
// \u003c, \u003e and \u0026 the characters themselves. It is idempotent,
// and returns b itself when there is nothing to rewrite.
func CompactJSON(b []byte) []byte {
	if plainASCII(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case !inString || c == '"':
			inString = inString != (c == '"')
			out = append(out, c)
			i++
		case c == '\\':
			out, i = appendStringEscape(out, b, i)
		case c < 0x20: // not valid JSON, but never send it raw
			out = appendEscape(out, rune(c))
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 || !sqsAllowed(r) {
				out = appendEscape(out, r)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
	return out
}

// appendStringEscape copies the escape sequence at b[i] (a backslash inside
// a string), turning \u003c, \u003e and \u0026 back into <, > and &, and
// returns the index after it.
func appendStringEscape(out, b []byte, i int) ([]byte, int) {
	if i+1 >= len(b) {
		return append(out, b[i:]...), len(b)
	}
	if b[i+1] == 'u' && i+6 <= len(b) {
		switch strings.ToLower(string(b[i+2 : i+6])) {
		case "003c":
			return append(out, '<'), i + 6
		case "003e":
			return append(out, '>'), i + 6
		case "0026":
			return append(out, '&'), i + 6
		}
	}
	return append(out, b[i], b[i+1]), i + 2
}

// plainASCII reports whether b is printable ASCII without a backslash.
func plainASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
			return false
		}
	}
	return true
}

// appendEscape appends the JSON \u escape of r (r ≤ U+FFFF: the characters
// CompactJSON escapes are all in the BMP).
func appendEscape(out []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(out, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
}

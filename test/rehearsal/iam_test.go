//go:build linux

package rehearsal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// policyDocument is an IAM policy document.
type policyDocument struct {
	// Statement holds nil for a null element: moto keeps an Fn::If that
	// chose AWS::NoValue inside the list as None, where CloudFormation
	// removes the element.
	Statement []*statement `json:"Statement"`
}

type statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    stringList     `json:"Action"`
	Resource  stringList     `json:"Resource"`
	Condition map[string]any `json:"Condition"`
}

// stringList is an IAM "string or list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// parsePolicy parses a policy document as IAM returns it (URL-encoded JSON).
// moto returns the inline policies CloudFormation created as a Python
// literal (single quotes), which is accepted too.
func parsePolicy(raw string) (policyDocument, error) {
	var doc policyDocument
	if dec, err := url.QueryUnescape(raw); err == nil && strings.HasPrefix(strings.TrimSpace(dec), "{") {
		raw = dec
	}
	if err := json.Unmarshal([]byte(raw), &doc); err == nil {
		return doc, nil
	}
	js, err := pythonLiteralToJSON(raw)
	if err != nil {
		return doc, err
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		return doc, fmt.Errorf("policy document %q: %w", raw, err)
	}
	return doc, nil
}

// pythonLiteralToJSON converts a Python literal of dicts, lists, strings
// (single- or double-quoted, without escapes), numbers, True, False and
// None to JSON.
func pythonLiteralToJSON(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return "", fmt.Errorf("unterminated string in %q", s)
			}
			str := s[i+1 : i+1+end]
			if strings.ContainsRune(str, '\\') {
				return "", fmt.Errorf("escaped string %q not supported", str)
			}
			q, _ := json.Marshal(str)
			b.Write(q)
			i += end + 2
		case strings.HasPrefix(s[i:], "True"):
			b.WriteString("true")
			i += 4
		case strings.HasPrefix(s[i:], "False"):
			b.WriteString("false")
			i += 5
		case strings.HasPrefix(s[i:], "None"):
			b.WriteString("null")
			i += 4
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// arnService returns the service of an ARN (arn:PARTITION:SERVICE:...).
func arnService(arn string) string {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// queueARNFromURL turns https://sqs.REGION.amazonaws.com/ACCOUNT/NAME into
// arn:aws:sqs:REGION:ACCOUNT:NAME, as the template's FORWARD_SQS_QUEUE_URL
// does the other way round.
func queueARNFromURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("queue URL %q: %w", u, err)
	}
	host := strings.Split(p.Hostname(), ".")
	path := strings.Split(strings.Trim(p.Path, "/"), "/")
	if p.Scheme != "https" || len(host) < 4 || host[0] != "sqs" || len(path) != 2 {
		return "", fmt.Errorf("queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME", u)
	}
	return "arn:aws:sqs:" + host[1] + ":" + path[0] + ":" + path[1], nil
}

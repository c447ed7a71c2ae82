// Package problem renders RFC 9457 problem details (application/problem+json).
package problem

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of a problem details body.
const ContentType = "application/problem+json"

// TypeBase prefixes every problem type URI this function emits: each kind
// is an anchor of docs/problems.md, which explains it (a test in
// internal/app checks every kind has one).
const TypeBase = "https://github.com/signalwire-lambda/participants/blob/main/docs/problems.md#"

// Problem is one RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the request field at fault, when there is one (an extension member).
	Field string `json:"field,omitempty"`
	// RetryAfterSeconds tells the caller when to retry, for 503 answers.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
}

// New returns a problem of the given kind (the suffix of its type URI), HTTP status and detail.
func New(kind string, status int, detail string) Problem {
	return Problem{Type: TypeBase + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Error lets a Problem travel as an error.
func (p Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// JSON returns the problem's JSON body.
func (p Problem) JSON() []byte {
	b, err := json.Marshal(p)
	if err != nil { // unreachable: every field is a plain string or int
		return []byte(`{"type":"about:blank","status":500}`)
	}
	return b
}

package webhook

import (
	"slices"
	"testing"

	"github.com/signalwire-lambda/participants/test/signing"
)

const route = "/webhooks/signalwire"

func TestCandidates(t *testing.T) {
	tests := []struct {
		name string
		in   RequestURL
		want []string
	}{
		{
			name: "REST API execute-api: requestContext.path with stage, and path",
			in:   RequestURL{Host: "abc123.execute-api.us-east-1.amazonaws.com", Paths: []string{"/Prod/webhooks/signalwire", "/webhooks/signalwire"}, Route: route},
			want: []string{"https://abc123.execute-api.us-east-1.amazonaws.com/Prod/webhooks/signalwire", "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/signalwire"},
		},
		{
			name: "HTTP API named stage in rawPath, query",
			in:   RequestURL{Host: "abc123.execute-api.eu-west-1.amazonaws.com", Paths: []string{"/dev/webhooks/signalwire"}, RawQuery: "ConferenceSid=CF1&x=%2B1", Route: route},
			want: []string{"https://abc123.execute-api.eu-west-1.amazonaws.com/dev/webhooks/signalwire?ConferenceSid=CF1&x=%2B1"},
		},
		{
			name: "HTTP API $default stage, duplicate and empty paths",
			in:   RequestURL{Host: "abc123.execute-api.eu-west-1.amazonaws.com", Paths: []string{"/webhooks/signalwire", "", "/webhooks/signalwire"}, Route: route},
			want: []string{"https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/signalwire"},
		},
		{
			name: "custom domain via PublicBaseURL: REST stage and resource paths collapse",
			in:   RequestURL{PublicBaseURL: "https://hooks.example.com/prod/", Host: "abc123.execute-api.us-east-1.amazonaws.com", Paths: []string{"/Prod/webhooks/signalwire", "/webhooks/signalwire"}, RawQuery: "?ConferenceSid=CF1", Route: route},
			want: []string{"https://hooks.example.com/prod/webhooks/signalwire?ConferenceSid=CF1"},
		},
		{
			name: "PublicBaseURL without base path; path from a base-path mapping",
			in:   RequestURL{PublicBaseURL: "https://hooks.example.com", Host: "hooks.example.com", Paths: []string{"/v1/webhooks/signalwire"}, Route: "webhooks/signalwire/"},
			want: []string{"https://hooks.example.com/webhooks/signalwire"},
		},
		{
			name: "PublicBaseURL, route not in the path: whole path appended",
			in:   RequestURL{PublicBaseURL: "https://hooks.example.com/prod", Paths: []string{"/other"}, Route: route},
			want: []string{"https://hooks.example.com/prod/other"},
		},
		{
			name: "PublicBaseURL, route only on a segment boundary",
			in:   RequestURL{PublicBaseURL: "https://hooks.example.com", Paths: []string{"/webhooks/signalwirex/webhooks/signalwire/sub"}, Route: route},
			want: []string{"https://hooks.example.com/webhooks/signalwire/sub"},
		},
		{
			name: "PublicBaseURL, no path: base + route",
			in:   RequestURL{PublicBaseURL: "https://hooks.example.com/prod", Route: route},
			want: []string{"https://hooks.example.com/prod/webhooks/signalwire"},
		},
		{
			name: "Function URL, path without leading slash",
			in:   RequestURL{Host: "xyz.lambda-url.us-east-1.on.aws", Paths: []string{"webhooks/signalwire"}},
			want: []string{"https://xyz.lambda-url.us-east-1.on.aws/webhooks/signalwire"},
		},
		{
			name: "local http with port",
			in:   RequestURL{Scheme: "HTTP", Host: "127.0.0.1:3000", Paths: []string{"/webhooks/signalwire"}},
			want: []string{"http://127.0.0.1:3000/webhooks/signalwire"},
		},
		{
			name: "no host and no base",
			in:   RequestURL{Paths: []string{"/webhooks/signalwire"}},
			want: nil,
		},
	}
	for _, tt := range tests {
		if got := tt.in.Candidates(); !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// SignalWire signs the URL it called; each deployment shape must reconstruct
// it from what API Gateway passes the function.
func TestVerifyURLShapes(t *testing.T) {
	const key = "PSK_shapes"
	form := valuesOf([]pair{{"AccountSid", "a"}, {"ConferenceSid", "c"}, {"StatusCallbackEvent", "participant-join"}})
	tests := []struct {
		name   string
		called string
		seen   RequestURL
		ok     bool
	}{
		{"REST API with stage prefix", "https://abc.execute-api.us-east-1.amazonaws.com/Prod/webhooks/signalwire",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/Prod/webhooks/signalwire", "/webhooks/signalwire"}, Route: route}, true},
		{"REST API, stage path missing", "https://abc.execute-api.us-east-1.amazonaws.com/Prod/webhooks/signalwire",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/webhooks/signalwire"}, Route: route}, false},
		{"REST API custom domain without stage prefix", "https://hooks.example.com/webhooks/signalwire",
			RequestURL{Host: "hooks.example.com", Paths: []string{"/webhooks/signalwire", "/webhooks/signalwire"}, Route: route}, true},
		{"HTTP API named stage", "https://abc.execute-api.us-east-1.amazonaws.com/dev/webhooks/signalwire",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/dev/webhooks/signalwire"}, Route: route}, true},
		{"custom domain with base-path mapping via PublicBaseURL", "https://hooks.example.com/prod/webhooks/signalwire",
			RequestURL{PublicBaseURL: "https://hooks.example.com/prod", Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/Prod/webhooks/signalwire", "/webhooks/signalwire"}, Route: route}, true},
		{"custom domain without PublicBaseURL", "https://hooks.example.com/prod/webhooks/signalwire",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/Prod/webhooks/signalwire", "/webhooks/signalwire"}, Route: route}, false},
		{"SignalWire called with :443", "https://hooks.example.com:443/prod/webhooks/signalwire?ConferenceSid=CF1",
			RequestURL{PublicBaseURL: "https://hooks.example.com/prod", Paths: []string{"/webhooks/signalwire"}, RawQuery: "ConferenceSid=CF1", Route: route}, true},
		{"base URL configured with :443", "https://hooks.example.com/prod/webhooks/signalwire",
			RequestURL{PublicBaseURL: "https://hooks.example.com:443/prod", Paths: []string{"/webhooks/signalwire"}, Route: route}, true},
		{"query string", "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/signalwire?ConferenceSid=CF1",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/webhooks/signalwire"}, RawQuery: "ConferenceSid=CF1", Route: route}, true},
		{"query string lost", "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/signalwire?ConferenceSid=CF1",
			RequestURL{Host: "abc.execute-api.us-east-1.amazonaws.com", Paths: []string{"/webhooks/signalwire"}, Route: route}, false},
	}
	for _, tt := range tests {
		sig := signing.Form(key, tt.called, form)
		_, err := SignedRequest{CandidateURLs: tt.seen.Candidates(), Form: form, Signature: sig}.Verify(key)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Verify = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

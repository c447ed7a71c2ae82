package obs

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// benchLogger is the function's logger shape: the redacting redactHandler over a
// JSON redactHandler, with a loaded secret set.
func benchLogger() *slog.Logger {
	var s Secrets
	s.Add(token, signingKey, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	s.AddBasic(project, token)
	return slog.New(s.Handler(slog.NewJSONHandler(io.Discard, nil)))
}

// BenchmarkHandlerTypicalLine is a line like the invocation's: strings, an
// int, a float, a duration and an error.
func BenchmarkHandlerTypicalLine(b *testing.B) {
	log := benchLogger()
	err := errors.New("endpoint answered HTTP 503 Service Unavailable")
	b.ReportAllocs()
	for b.Loop() {
		log.Info("webhook delivered", "destination", "https", "event_id", "evt_0123456789abcdef0123456789abcdef",
			"type", "signalwire.conference.participant-join", "attempt", 2, "latency_ms", 12.5,
			"elapsed", 1500*time.Millisecond, "error", err)
	}
}

// BenchmarkHandlerMapAndStruct is a line carrying a map and a struct, which
// the JSON redactHandler serializes itself.
func BenchmarkHandlerMapAndStruct(b *testing.B) {
	log := benchLogger()
	type dest struct {
		Name    string
		URL     string
		Headers map[string]string
	}
	d := dest{Name: "https", URL: "https://hooks.example.net/x", Headers: map[string]string{"user-agent": "participants/1"}}
	m := map[string]any{"status": 503, "body": "temporarily unavailable"}
	b.ReportAllocs()
	for b.Loop() {
		log.Info("destination failed", "dest", d, "answer", m)
	}
}

package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// bigCore answers every request with body, and every direct read with a
// participant carrying body in extra.
type bigCore struct{ body string }

func (c bigCore) Handle(ctx context.Context, r app.Request) app.Response {
	return app.Response{Status: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: []byte(c.body)}
}

func (c bigCore) Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error) {
	raw, _ := app.EncodeJSON(c.body)
	return participant.Participant{SchemaVersion: 1, Extra: map[string]json.RawMessage{"label": raw}}, nil
}

func (c bigCore) Participants(ctx context.Context, ref signalwire.ParticipantRef, _ signalwire.ListFilter) (app.List, error) {
	p, err := c.Participant(ctx, ref)
	return app.List{SchemaVersion: 1, Participants: []participant.Participant{p}}, err
}

// TestNoAnswerOverLambdasLimit (issue 14 §3): an answer that would exceed
// Lambda's 6 MB synchronous response limit becomes a 502 problem in the
// trigger's shape (HTTP API, REST API, Function URL) or an UpstreamError
// (direct), and '<' is not escaped sixfold on the way.
func TestNoAnswerOverLambdasLimit(t *testing.T) {
	huge := `{"label":"` + strings.Repeat("\"", 3_100_000) + `"}` // doubles when the envelope quotes it
	for _, name := range []string{"http-api-read.json", "rest-api-read.json", "function-url-read.json"} {
		t.Run(name, func(t *testing.T) {
			r, logs := newRouter(bigCore{body: huge}, nil)
			out, err := r.Invoke(context.Background(), readEvent(t, name))
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if len(out) > app.MaxAnswerBytes || json.Unmarshal(out, &resp) != nil || resp.StatusCode != 502 ||
				resp.Headers["Content-Type"] != "application/problem+json" || !strings.Contains(resp.Body, "upstream-error") {
				t.Fatalf("%d bytes: %.300s", len(out), out)
			}
			if !strings.Contains(logs.String(), "over Lambda's response limit") {
				t.Fatal("not logged")
			}

			// 1,000,000 '<' stay 1,000,000 bytes, not 6,000,000.
			lt := `{"label":"` + strings.Repeat("<", 1_000_000) + `"}`
			r, _ = newRouter(bigCore{body: lt}, nil)
			out, _ = r.Invoke(context.Background(), readEvent(t, name))
			if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.Body != lt || len(out) > 1_010_000 {
				t.Fatalf("%d bytes, status %d", len(out), resp.StatusCode)
			}
		})
	}
	for _, name := range []string{"direct-read.json", "direct-list.json"} {
		t.Run(name, func(t *testing.T) {
			r, _ := newRouter(bigCore{body: strings.Repeat("\"", 3_100_000)}, nil)
			out, err := r.Invoke(context.Background(), readEvent(t, name))
			var lerr messages.InvokeResponse_Error
			if !errors.As(err, &lerr) || lerr.Type != "UpstreamError" || len(out) != 0 {
				t.Fatalf("%d bytes, error %v", len(out), err)
			}
			r, _ = newRouter(bigCore{body: strings.Repeat("<", 1_000_000)}, nil)
			if out, err = r.Invoke(context.Background(), readEvent(t, name)); err != nil || len(out) > 1_010_000 {
				t.Fatalf("%d bytes, error %v", len(out), err)
			}
		})
	}
}

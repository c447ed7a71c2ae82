// Package bare is the bare peer cmd/bench measures the function against:
// the least code that does the same job, the way a first implementation
// would. For an API Gateway HTTP API event it fetches the secret with the
// SDK's GetSecretValue (once, then cached in memory), makes one net/http
// GET of the participant with Basic auth, json.Decodes it into a struct
// (no normalization, no validation, no retries, no logs, no metrics) and
// answers it. For a webhook (a POST with a form body) it does the same for
// the form's participant and forwards the participant once, with SQS
// SendMessage, when a queue is configured. test/benchdata/barepeer is its
// Lambda entry point; internal/trigger's in-process benchmarks call Invoke.
package bare

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Participant is SignalWire's participant, as sent.
type Participant struct {
	AccountSid             string  `json:"account_sid"`
	CallSid                string  `json:"call_sid"`
	CallSidToCoach         *string `json:"call_sid_to_coach"`
	Coaching               bool    `json:"coaching"`
	ConferenceSid          string  `json:"conference_sid"`
	DateCreated            string  `json:"date_created"`
	DateUpdated            string  `json:"date_updated"`
	EndConferenceOnExit    bool    `json:"end_conference_on_exit"`
	Hold                   bool    `json:"hold"`
	Muted                  bool    `json:"muted"`
	StartConferenceOnEnter bool    `json:"start_conference_on_enter"`
	Status                 string  `json:"status"`
	URI                    string  `json:"uri"`
}

type secret struct {
	ProjectID string `json:"project_id"`
	APIToken  string `json:"api_token"`
	SpaceHost string `json:"space_host"`
}

// Handler is the bare peer's Lambda handler (lambda.Handler).
type Handler struct {
	SM       *secretsmanager.Client
	SQS      *sqs.Client
	HTTP     *http.Client
	SecretID string
	QueueURL string

	mu     sync.Mutex
	cached *secret
}

// Invoke answers one API Gateway HTTP API event.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, err
	}
	var account, conference, call string
	webhook := req.RequestContext.HTTP.Method == http.MethodPost
	if webhook {
		body := req.Body
		if req.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				return nil, err
			}
			body = string(b)
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return nil, err
		}
		account, conference, call = form.Get("AccountSid"), form.Get("ConferenceSid"), form.Get("CallSid")
	} else {
		// /accounts/{a}/conferences/{c}/participants/{p}
		parts := strings.Split(strings.Trim(req.RawPath, "/"), "/")
		if len(parts) != 6 {
			return nil, errors.New("bare: no such route")
		}
		account, conference, call = parts[1], parts[3], parts[5]
	}
	s, err := h.secret(ctx)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+s.SpaceHost+"/api/laml/2010-04-01/Accounts/"+account+
		"/Conferences/"+conference+"/Participants/"+call+".json", nil)
	if err != nil {
		return nil, err
	}
	r.SetBasicAuth(s.ProjectID, s.APIToken)
	resp, err := h.HTTP.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bare: SignalWire answered %d", resp.StatusCode)
	}
	var p Participant
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return nil, err
	}
	out, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if webhook && h.QueueURL != "" {
		if _, err := h.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(h.QueueURL), MessageBody: aws.String(string(out))}); err != nil {
			return nil, err
		}
	}
	return json.Marshal(events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(out),
	})
}

// secret fetches the secret on first use and keeps it.
func (h *Handler) secret(ctx context.Context) (*secret, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cached != nil {
		return h.cached, nil
	}
	out, err := h.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(h.SecretID)})
	if err != nil {
		return nil, err
	}
	var s secret
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &s); err != nil {
		return nil, err
	}
	h.cached = &s
	return &s, nil
}

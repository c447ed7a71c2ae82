package forward_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/signalwire-lambda/participants/internal/forward"
)

// createQueue creates a kumo queue (FIFO when name ends in .fifo) and deletes
// it when the test ends.
func createQueue(t *testing.T, env *kumoEnv, name string) string {
	t.Helper()
	in := &sqs.CreateQueueInput{QueueName: aws.String(name)}
	if strings.HasSuffix(name, ".fifo") {
		in.Attributes = map[string]string{"FifoQueue": "true"}
	}
	out, err := env.sqs.CreateQueue(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		_, _ = env.sqs.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
	})
	return url
}

// receiveAll receives every visible message on the queue (up to 10).
func receiveAll(t *testing.T, env *kumoEnv, url string) []types.Message {
	t.Helper()
	out, err := env.sqs.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

// sentRequest is the JSON body of a recorded SendMessage call.
type sentRequest struct {
	QueueUrl               string
	MessageBody            string
	MessageDeduplicationId *string
	MessageGroupId         *string
	MessageAttributes      map[string]struct{ DataType, StringValue string }
}

func recordedSends(t *testing.T, env *kumoEnv) []sentRequest {
	t.Helper()
	var out []sentRequest
	for _, c := range env.rec.calls("SendMessage") {
		var r sentRequest
		if err := json.Unmarshal(c.Request, &r); err != nil {
			t.Fatalf("decode SendMessage request %s: %v", c.Request, err)
		}
		if c.Status != http.StatusOK {
			t.Fatalf("kumo answered SendMessage with HTTP %d: %s", c.Status, c.Response)
		}
		out = append(out, r)
	}
	return out
}

func stringAttr(m types.Message, name string) string {
	if v, ok := m.MessageAttributes[name]; ok {
		return aws.ToString(v.StringValue)
	}
	return ""
}

func TestSQSStandardQueueAgainstKumo(t *testing.T) {
	env := newKumo(t)
	url := createQueue(t, env, "forward-test-standard")
	dest := forward.NewQueue(env.sqs, url)
	if dest.Name() != "sqs" {
		t.Errorf("Name = %q", dest.Name())
	}
	m := testMessage()
	if err := dest.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	msgs := receiveAll(t, env, url)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if aws.ToString(got.Body) != string(m.Body) {
		t.Errorf("body = %s, want %s", aws.ToString(got.Body), m.Body)
	}
	if v := stringAttr(got, "event_id"); v != m.ID {
		t.Errorf("event_id = %q, want %q", v, m.ID)
	}
	if v := stringAttr(got, "event_type"); v != m.Type {
		t.Errorf("event_type = %q, want %q", v, m.Type)
	}
	if dt := aws.ToString(got.MessageAttributes["event_id"].DataType); dt != "String" {
		t.Errorf("event_id DataType = %q, want String", dt)
	}

	sends := recordedSends(t, env)
	if len(sends) != 1 {
		t.Fatalf("recorded %d SendMessage calls, want 1", len(sends))
	}
	if sends[0].MessageDeduplicationId != nil || sends[0].MessageGroupId != nil {
		t.Errorf("standard queue got FIFO ids: dedup %v group %v", sends[0].MessageDeduplicationId, sends[0].MessageGroupId)
	}
}

func TestSQSFIFOQueueAgainstKumo(t *testing.T) {
	env := newKumo(t)
	url := createQueue(t, env, "forward-test-events.fifo")
	dest := forward.NewQueue(env.sqs, url)
	m := testMessage()
	// A redelivery of the same event must be deduplicated by the queue.
	for range 2 {
		if err := dest.Send(t.Context(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	sends := recordedSends(t, env)
	if len(sends) != 2 {
		t.Fatalf("recorded %d SendMessage calls, want 2", len(sends))
	}
	for _, s := range sends {
		if aws.ToString(s.MessageDeduplicationId) != m.ID {
			t.Errorf("MessageDeduplicationId = %v, want %q", s.MessageDeduplicationId, m.ID)
		}
		if aws.ToString(s.MessageGroupId) != m.ConferenceSID {
			t.Errorf("MessageGroupId = %v, want %q", s.MessageGroupId, m.ConferenceSID)
		}
		if s.MessageAttributes["event_id"].StringValue != m.ID || s.MessageAttributes["event_type"].StringValue != m.Type {
			t.Errorf("MessageAttributes = %+v", s.MessageAttributes)
		}
	}

	msgs := receiveAll(t, env, url)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1 (the duplicate deduplicated)", len(msgs))
	}
	if aws.ToString(msgs[0].Body) != string(m.Body) || stringAttr(msgs[0], "event_id") != m.ID || stringAttr(msgs[0], "event_type") != m.Type {
		t.Errorf("received %+v", msgs[0])
	}
	// Real SQS returns these system attributes; kumo v0.33.1 does not, which is
	// why the request recording above is what asserts them.
	if g, ok := msgs[0].Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]; ok && g != m.ConferenceSID {
		t.Errorf("MessageGroupId attribute = %q, want %q", g, m.ConferenceSID)
	}
	if d, ok := msgs[0].Attributes[string(types.MessageSystemAttributeNameMessageDeduplicationId)]; ok && d != m.ID {
		t.Errorf("MessageDeduplicationId attribute = %q, want %q", d, m.ID)
	}
}

// fakeSQS records SendMessage inputs.
type fakeSQS struct {
	err   error
	calls []*sqs.SendMessageInput
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m-1")}, nil
}

func TestSQSFIFOIdentifiers(t *testing.T) {
	const fifoURL = "https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo"
	long := strings.Repeat("x", 129)
	cases := []struct {
		name            string
		id, conference  string
		wantDedup       string
		wantGroup       string
		wantDedupHashed bool
	}{
		{"plain", "evt_1", "CF1", "evt_1", "CF1", false},
		{"no conference", "evt_2", "", "evt_2", forward.DefaultMessageGroupID, false},
		{"punctuation kept", `evt:3/a!~{}`, "CF3", `evt:3/a!~{}`, "CF3", false},
		{"128 chars kept", strings.Repeat("y", 128), "CF4", strings.Repeat("y", 128), "CF4", false},
		{"too long", long, "CF5", "", "CF5", true},
		{"space", "evt 6", "CF6", "", "CF6", true},
		{"non-ascii", "évt-7", "CF7", "", "CF7", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeSQS{}
			dest := forward.NewQueue(fake, fifoURL)
			m := forward.Message{ID: tc.id, Type: "participant-leave", ConferenceSID: tc.conference, Body: []byte(`{}`)}
			if err := dest.Send(t.Context(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			in := fake.calls[0]
			dedup, group := aws.ToString(in.MessageDeduplicationId), aws.ToString(in.MessageGroupId)
			if tc.wantDedupHashed {
				if len(dedup) != 64 || strings.Trim(dedup, "0123456789abcdef") != "" {
					t.Errorf("dedup id = %q, want a 64-char hex hash", dedup)
				}
				if forward.FIFOID(tc.id) != dedup {
					t.Errorf("dedup id not stable: %q vs %q", forward.FIFOID(tc.id), dedup)
				}
			} else if dedup != tc.wantDedup {
				t.Errorf("dedup id = %q, want %q", dedup, tc.wantDedup)
			}
			if group != tc.wantGroup {
				t.Errorf("group id = %q, want %q", group, tc.wantGroup)
			}
			if aws.ToString(in.QueueUrl) != fifoURL || aws.ToString(in.MessageBody) != `{}` {
				t.Errorf("input = %+v", in)
			}
		})
	}
}

func TestSQSSkipsEmptyAttributesAndRejectsEmptyBody(t *testing.T) {
	fake := &fakeSQS{}
	dest := forward.NewQueue(fake, "https://sqs.us-east-1.amazonaws.com/123456789012/events")
	if err := dest.Send(t.Context(), forward.Message{ID: "evt_1", Body: []byte(`{}`)}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	attrs := fake.calls[0].MessageAttributes
	if _, ok := attrs["event_type"]; ok || len(attrs) != 1 {
		t.Errorf("attributes = %+v, want only event_id", attrs)
	}
	if err := dest.Send(t.Context(), forward.Message{ID: "evt_2"}); err == nil || forward.Retryable(err) {
		t.Errorf("empty body: Send = %v, want a permanent error", err)
	}
	if len(fake.calls) != 1 {
		t.Errorf("SendMessage called %d times, want 1", len(fake.calls))
	}
}

func TestEnqueueAgainstKumo(t *testing.T) {
	env := newKumo(t)
	attrs := map[string]string{"event_id": "evt_retry_1", "conference_sid": "CFabc"}
	body := []byte(`{"form":"ConferenceSid=CFabc&StatusCallbackEvent=participant-join"}`)
	m := forward.Message{ID: "evt_retry_1", ConferenceSID: "CFabc", Body: body}

	t.Run("standard", func(t *testing.T) {
		url := createQueue(t, env, "forward-test-retry")
		q := forward.NewQueue(env.sqs, url)
		if err := q.Enqueue(t.Context(), m); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		msgs := receiveAll(t, env, url)
		if len(msgs) != 1 {
			t.Fatalf("received %d messages, want 1", len(msgs))
		}
		if aws.ToString(msgs[0].Body) != string(body) {
			t.Errorf("body = %s", aws.ToString(msgs[0].Body))
		}
		for name, want := range attrs {
			if got := stringAttr(msgs[0], name); got != want {
				t.Errorf("attribute %s = %q, want %q", name, got, want)
			}
		}
		if len(msgs[0].MessageAttributes) != len(attrs) {
			t.Errorf("attributes %v, want only %v", msgs[0].MessageAttributes, attrs)
		}
	})

	t.Run("fifo", func(t *testing.T) {
		url := createQueue(t, env, "forward-test-retry.fifo")
		q := forward.NewQueue(env.sqs, url)
		before := len(env.rec.calls("SendMessage"))
		for range 2 {
			if err := q.Enqueue(t.Context(), m); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
		}
		sends := recordedSends(t, env)[before:]
		sum := sha256.Sum256(body)
		for _, s := range sends {
			if aws.ToString(s.MessageDeduplicationId) != "evt_retry_1/"+hex.EncodeToString(sum[:]) || aws.ToString(s.MessageGroupId) != "CFabc" {
				t.Errorf("FIFO ids: dedup %v group %v", aws.ToString(s.MessageDeduplicationId), aws.ToString(s.MessageGroupId))
			}
		}
		// Another message for the same event (the copy still owed to some
		// destinations) is not a duplicate.
		if err := q.Enqueue(t.Context(), forward.Message{ID: m.ID, ConferenceSID: m.ConferenceSID, Body: []byte(`{"v":2,"kind":"deliver"}`)}); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if msgs := receiveAll(t, env, url); len(msgs) != 2 {
			t.Errorf("received %d messages, want 2 (the same body deduplicated, another body of the event kept)", len(msgs))
		}
	})

	t.Run("fifo without event id", func(t *testing.T) {
		fake := &fakeSQS{}
		q := forward.NewQueue(fake, "https://sqs.us-east-1.amazonaws.com/123456789012/retry.fifo")
		if err := q.Enqueue(t.Context(), forward.Message{Body: body}); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if err := q.Enqueue(t.Context(), forward.Message{Body: body}); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		d1, d2 := aws.ToString(fake.calls[0].MessageDeduplicationId), aws.ToString(fake.calls[1].MessageDeduplicationId)
		if len(d1) != 64 || d1 != d2 {
			t.Errorf("dedup ids %q, %q: want one body hash", d1, d2)
		}
		if g := aws.ToString(fake.calls[0].MessageGroupId); g != forward.DefaultMessageGroupID {
			t.Errorf("group id = %q", g)
		}
		if fake.calls[0].MessageAttributes != nil {
			t.Errorf("attributes = %+v, want none", fake.calls[0].MessageAttributes)
		}
	})
}

func TestEnqueueWrapsClientError(t *testing.T) {
	boom := errors.New("boom")
	q := forward.NewQueue(&fakeSQS{err: boom}, "https://sqs.us-east-1.amazonaws.com/123456789012/retry")
	err := q.Enqueue(t.Context(), forward.Message{Body: []byte(`{}`)})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "retry queue") {
		t.Errorf("Enqueue = %v, want boom wrapped with context", err)
	}
}

// TestRetryableWithRealSDKErrors drives a real SQS client against a fake
// endpoint to classify the errors the SDK actually produces.
func TestRetryableWithRealSDKErrors(t *testing.T) {
	cfg := awsConfig(t)
	cases := []struct {
		name      string
		status    int
		errType   string
		retryable bool
		permanent bool
	}{
		{"server error", http.StatusInternalServerError, "InternalError", true, false},
		{"unavailable", http.StatusServiceUnavailable, "ServiceUnavailable", true, false},
		{"throttled", http.StatusBadRequest, "ThrottlingException", true, false},
		{"request throttled", http.StatusBadRequest, "RequestThrottled", true, false},
		{"kms throttled", http.StatusBadRequest, "KmsThrottled", true, false},
		// Client faults that pass: expired credentials (the SDK reloads
		// them), SQS's in-flight limit, a request signed too long ago.
		{"expired token", http.StatusForbidden, "ExpiredToken", true, false},
		{"expired token exception", http.StatusBadRequest, "ExpiredTokenException", true, false},
		{"request expired", http.StatusBadRequest, "RequestExpired", true, false},
		{"over limit", http.StatusForbidden, "OverLimit", true, false},
		{"no queue", http.StatusBadRequest, "com.amazonaws.sqs#QueueDoesNotExist", false, true},
		{"access denied", http.StatusForbidden, "AccessDenied", false, true},
		{"invalid", http.StatusBadRequest, "InvalidParameterValue", false, true},
		{"invalid contents", http.StatusBadRequest, "InvalidMessageContents", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"__type":"` + tc.errType + `","message":"test"}`))
			}))
			defer srv.Close()
			client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
				o.BaseEndpoint = aws.String(srv.URL)
				o.RetryMaxAttempts = 1
			})
			dest := forward.NewQueue(client, srv.URL+"/000000000000/q")
			err := dest.Send(t.Context(), testMessage())
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if got := forward.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if got := forward.Permanent(err); got != tc.permanent {
				t.Errorf("Permanent(%v) = %v, want %v", err, got, tc.permanent)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		client := sqs.NewFromConfig(cfg, func(o *sqs.Options) {
			o.BaseEndpoint = aws.String(url)
			o.RetryMaxAttempts = 1
		})
		dest := forward.NewQueue(client, url+"/000000000000/q")
		err := dest.Send(t.Context(), testMessage())
		if err == nil || !forward.Retryable(err) || forward.Permanent(err) {
			t.Errorf("Send = %v, want a retryable, not permanent, transport error", err)
		}
	})
}

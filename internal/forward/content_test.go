package forward_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/signalwire-lambda/participants/internal/forward"
)

// hostile holds every kind of character that has broken a delivery: U+FFFF
// and U+FFFE (SQS refuses them), control characters, HTML punctuation
// (escaped by encoding/json, 6 bytes each), U+2028, non-ASCII, astral.
const hostile = "standup\uffff room \ufffe <b>&amp;</b> \x01\x1f\t\n \u2028 é 漢 😀 \\back \""

func TestCompactJSONKeepsTheValueAndIsValidForSQS(t *testing.T) {
	in := map[string]any{"name": hostile, "list": []string{hostile, "<>&"}, "n": 1, "b": true, "null": nil, hostile: "key"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if forward.ValidSQSText(string(raw)) {
		t.Fatal("encoding/json output is valid for SQS: the test does not exercise U+FFFF")
	}
	out := forward.CompactJSON(raw)
	if !forward.ValidSQSText(string(out)) {
		t.Errorf("CompactJSON output is not valid for SQS: %q", out)
	}
	if !json.Valid(out) {
		t.Fatalf("CompactJSON output is not JSON: %q", out)
	}
	var back map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	_ = json.Unmarshal(raw, &want)
	if !reflect.DeepEqual(back, want) {
		t.Errorf("value changed:\n got %v\nwant %v", back, want)
	}
	if back["name"] != hostile {
		t.Errorf("name = %q, want %q exactly", back["name"], hostile)
	}
	if strings.Contains(string(out), `\u003c`) || strings.Contains(string(out), `\u0026`) {
		t.Errorf("HTML escapes kept: %s", out)
	}
	if !strings.Contains(string(out), `\uffff`) || !strings.Contains(string(out), `\ufffe`) {
		t.Errorf("U+FFFF/U+FFFE not escaped: %s", out)
	}
	if len(out) >= len(raw) {
		t.Errorf("CompactJSON did not shrink %d bytes (got %d)", len(raw), len(out))
	}
	if again := forward.CompactJSON(out); string(again) != string(out) {
		t.Errorf("not idempotent:\n%s\n%s", out, again)
	}
}

func TestCompactJSONInvalidUTF8AndRawControls(t *testing.T) {
	out := forward.CompactJSON([]byte("{\"a\":\"x\xffy\x01\"}"))
	if !json.Valid(out) || !forward.ValidSQSText(string(out)) {
		t.Fatalf("out %q", out)
	}
	var v map[string]string
	_ = json.Unmarshal(out, &v)
	if v["a"] != "x\ufffdy\x01" {
		t.Errorf("a = %q", v["a"])
	}
}

func TestSafeAttribute(t *testing.T) {
	for in, want := range map[string]string{
		"room\x01A":                "room\ufffdA",
		"standup\uffff":            "standup\ufffd",
		"ok é 😀\t":                 "ok é 😀\t",
		"bad\xffutf8":              "bad\ufffdutf8",
		"3f2b6a1e-5c4d-4e8f-9a0b-": "3f2b6a1e-5c4d-4e8f-9a0b-",
	} {
		got := forward.SafeAttribute(in)
		if got != want || !forward.ValidSQSText(got) {
			t.Errorf("SafeAttribute(%q) = %q, want %q", in, got, want)
		}
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		allowed := r == 9 || r == 10 || r == 13 || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000
		if forward.SQSAllowed(r) != allowed {
			t.Fatalf("SQSAllowed(%U) = %v", r, !allowed)
		}
	}
}

// TestSQSSendsOnlyValidCharacters: a body with a raw U+FFFF (what
// encoding/json writes) and an attribute with a control character reach
// SQS valid, the body's value unchanged.
func TestSQSSendsOnlyValidCharacters(t *testing.T) {
	f := &fakeSQS{}
	q := forward.NewQueue(f, "https://sqs.us-east-1.amazonaws.com/123456789012/retry")
	body, _ := json.Marshal(map[string]string{"friendly_name": "standup\uffff room"})
	if err := q.Enqueue(t.Context(), forward.Message{ID: "evt_1", ConferenceSID: "room\x01A", Body: body}); err != nil {
		t.Fatal(err)
	}
	in := f.calls[0]
	if got := aws.ToString(in.MessageBody); !forward.ValidSQSText(got) || !strings.Contains(got, `\uffff`) {
		t.Errorf("body %q", got)
	}
	var v map[string]string
	_ = json.Unmarshal([]byte(aws.ToString(in.MessageBody)), &v)
	if v["friendly_name"] != "standup\uffff room" {
		t.Errorf("value changed: %q", v["friendly_name"])
	}
	for name, a := range in.MessageAttributes {
		if !forward.ValidSQSText(aws.ToString(a.StringValue)) {
			t.Errorf("attribute %s = %q", name, aws.ToString(a.StringValue))
		}
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&forward.StatusError{StatusCode: 413}, true},
		{&forward.StatusError{StatusCode: 400}, true},
		{&forward.StatusError{StatusCode: 401}, true},
		{&forward.StatusError{StatusCode: 302}, true},
		{&forward.StatusError{StatusCode: 308}, true},
		{&forward.StatusError{StatusCode: 408}, false},
		{&forward.StatusError{StatusCode: 429}, false},
		{&forward.StatusError{StatusCode: 500}, false},
		{&forward.StatusError{StatusCode: 503}, false},
		{&forward.EntryError{Code: "ValidationException"}, true},
		{&forward.EntryError{Code: "MalformedDetail"}, true},
		{&forward.EntryError{Code: "ThrottlingException"}, false},
		{&forward.EntryError{Code: "InternalFailure"}, false},
		{&forward.EntryError{Code: "UnknownError"}, false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{errors.New("credentials unavailable"), false},
		{fmt.Errorf("https destination: POST x: %w", &forward.StatusError{StatusCode: 413}), true},
		{errors.Join(&forward.StatusError{StatusCode: 413}, &forward.StatusError{StatusCode: 503}), false},
		{errors.Join(&forward.StatusError{StatusCode: 413}, &forward.StatusError{StatusCode: 400}), true},
	} {
		if got := forward.Permanent(tc.err); got != tc.want {
			t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestEventBridgeValidationEntryIsPermanent(t *testing.T) {
	f := &fakeEventBridge{out: &eventbridge.PutEventsOutput{FailedEntryCount: 1, Entries: []types.PutEventsResultEntry{{ErrorCode: aws.String("ValidationException"), ErrorMessage: aws.String("bad detail")}}}}
	d := forward.NewEventBridge(f, "bus")
	body, _ := json.Marshal(map[string]string{"x": "a\uffff"})
	err := d.Send(t.Context(), forward.Message{ID: "evt_1", Type: "t", Body: body})
	if !forward.Permanent(err) || forward.Retryable(err) {
		t.Errorf("Send = %v: want permanent", err)
	}
	if got := aws.ToString(f.calls[0].Entries[0].Detail); !forward.ValidSQSText(got) {
		t.Errorf("detail %q", got)
	}
}

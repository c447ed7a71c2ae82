package app

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/internal/forward"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// Deferred verification: SignalWire signs with a rotated key before the
// secret can hold it, and does not retry a 403. A webhook whose
// well-formed signature matches no known key (after the rate-limited
// refresh) is therefore parked on the retry queue UNVERIFIED and answered
// 200; each receive verifies it again against the cached (and, rate
// limited, refreshed) keys. It is processed only once it verifies, and
// dropped — logged and counted, never forwarded — once
// DeferredVerificationWindow has passed. Unsigned requests and malformed
// signatures are always 403, and at most MaxDeferralsPerMinute webhooks a
// minute per container are deferred (the rest get 403), which bounds what
// a forged flood costs.
const (
	// DeferredVerificationWindow is how long an unverified webhook waits
	// for the secret to hold the key that signed it.
	DeferredVerificationWindow = 5 * time.Minute
	// MaxDeferralsPerMinute bounds deferrals per container and minute.
	MaxDeferralsPerMinute = 60
)

// EMF metrics of deferred verification.
const (
	MetricWebhookDeferred         = "WebhookDeferred"
	MetricWebhookDeferredVerified = "WebhookDeferredVerified"
	MetricWebhookDeferredDropped  = "WebhookDeferredDropped"
)

// OutcomeDeferred: the signature matched no known key; the webhook waits
// on the retry queue for the secret to catch up (never forwarded unless it
// verifies).
const OutcomeDeferred Outcome = "deferred"

// errStillUnverified leaves an unverified message for its next receive.
var errStillUnverified = errors.New("webhook signature still matches no known signing key")

// UnverifiedWebhook is what a deferred webhook's retry message carries:
// everything needed to verify it again, nothing derived from it.
type UnverifiedWebhook struct {
	// Body is the raw body as received (base64 in the JSON message, so a
	// 64 KiB body stays under the queue's size limit).
	Body []byte `json:"body"`
	// ContentType is the body's media type.
	ContentType string `json:"content_type"`
	// CandidateURLs are the URLs SignalWire may have signed.
	CandidateURLs []string `json:"candidate_urls"`
	// Signature is the X-SignalWire-Signature value.
	Signature string `json:"signature"`
	// Query is the callback URL's raw query string.
	Query string `json:"query,omitempty"`
	// ReceivedAt is when the function received it.
	ReceivedAt time.Time `json:"received_at"`
}

// deferralBudget counts deferrals in the current minute.
type deferralBudget struct {
	mu     sync.Mutex
	window time.Time
	used   int
}

func (b *deferralBudget) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(b.window) {
		b.window, b.used = w, 0
	}
	if b.used >= MaxDeferralsPerMinute {
		return false
	}
	b.used++
	return true
}

// wellFormedSignature reports whether sig has the shape of a SignalWire
// signature: base64 of an HMAC-SHA1 (20 bytes) or its 40 hex digits.
func wellFormedSignature(sig string) bool {
	sig = strings.TrimSpace(sig)
	if b, err := base64.StdEncoding.DecodeString(sig); err == nil && len(b) == 20 {
		return true
	}
	if b, err := hex.DecodeString(sig); err == nil && len(b) == 20 {
		return true
	}
	return false
}

// deferVerification parks u on the retry queue when it qualifies (a retry
// queue, a well-formed signature, budget left) and returns the answer; ok
// is false when the caller must reject it instead.
func (w *Webhooks) deferVerification(ctx context.Context, u UnverifiedWebhook) (Response, bool) {
	if !w.opts.DeferUnverified || w.opts.Retry == nil || !wellFormedSignature(u.Signature) || !w.deferrals.take(w.opts.Now()) {
		return Response{}, false
	}
	b, err := encodeJob(Job{Kind: JobUnverified, Unverified: &u})
	if err != nil {
		return Response{}, false
	}
	id := unverifiedID(u)
	if err := w.opts.Retry.Enqueue(ctx, b, map[string]string{forward.AttributeEventID: id}); err != nil {
		w.app.log.WarnContext(ctx, "unverified webhook could not be deferred", "error", err.Error())
		return Response{}, false
	}
	obs.InvocationFrom(ctx).Batch().Add(MetricWebhookDeferred, obs.UnitCount, 1)
	w.app.log.WarnContext(ctx, "webhook signature matches no known signing key; verification deferred", "deferred_id", id)
	body, _ := json.Marshal(map[string]string{"id": id, "outcome": string(OutcomeDeferred)})
	return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}, true
}

// processUnverified verifies a deferred webhook again. Verified, it is
// processed like any webhook (and, if that fails, parked as a verified
// job). Still unverified, it waits for its next receive; past
// DeferredVerificationWindow it is dropped. It never reaches the
// dead-letter queue: on the queue's last receive within the window it is
// parked again as a new message.
func (w *Webhooks) processUnverified(ctx context.Context, u UnverifiedWebhook, receiveCount int) error {
	creds, version, err := w.app.creds.Get(ctx)
	if err != nil {
		return fmt.Errorf("unverified webhook: %w", err)
	}
	isJSON := u.ContentType == webhook.JSONContentType || strings.HasSuffix(u.ContentType, "+json")
	var form url.Values
	if !isJSON {
		if form, err = webhook.ParseForm(u.Body); err != nil {
			w.dropUnverified(ctx, u, "malformed form")
			return nil
		}
	}
	signed := webhook.SignedRequest{CandidateURLs: u.CandidateURLs, ContentType: u.ContentType, Body: u.Body, Form: form, Signature: u.Signature}
	verified, err := w.verifySignature(ctx, signed, creds, version)
	if err == nil {
		body := u.Body
		if verified.Form != nil && !webhook.SameForm(verified.Form, form) {
			form, body = verified.Form, []byte(verified.Form.Encode())
		}
		obs.InvocationFrom(ctx).Batch().Add(MetricWebhookDeferredVerified, obs.UnitCount, 1)
		resp := w.acceptVerified(ctx, body, form, isJSON, u.Query, u.ReceivedAt)
		switch {
		case resp.Status < 300:
			return nil
		case resp.Status >= 500:
			return fmt.Errorf("deferred webhook verified but neither processed nor queued (%d)", resp.Status)
		default:
			w.dropUnverified(ctx, u, fmt.Sprintf("verified but not a usable callback (%d)", resp.Status))
			return nil
		}
	}
	if !errors.Is(err, webhook.ErrInvalidSignature) || w.opts.Now().Sub(u.ReceivedAt) >= DeferredVerificationWindow {
		w.dropUnverified(ctx, u, err.Error())
		return nil
	}
	if receiveCount >= w.opts.MaxReceiveCount {
		if w.opts.Retry == nil {
			w.dropUnverified(ctx, u, "no retry queue to park it again")
			return nil
		}
		// SQS would move it to the DLQ: park a fresh copy instead.
		b, _ := encodeJob(Job{Kind: JobUnverified, Unverified: &u})
		// A distinct id: a FIFO retry queue would drop a copy under the
		// first one's deduplication id.
		id := fmt.Sprintf("%s_%d", unverifiedID(u), w.opts.Now().Unix())
		if qerr := w.opts.Retry.Enqueue(ctx, b, map[string]string{forward.AttributeEventID: id}); qerr != nil {
			w.dropUnverified(ctx, u, "could not be parked again: "+qerr.Error())
		}
		return nil
	}
	return errStillUnverified
}

// unverifiedID names a deferred webhook (logs, the queue's event_id).
func unverifiedID(u UnverifiedWebhook) string {
	sum := sha256.Sum256(append([]byte(u.Signature+"\n"), u.Body...))
	return "unverified_" + hex.EncodeToString(sum[:16])
}

// dropUnverified logs and counts a deferred webhook given up on.
func (w *Webhooks) dropUnverified(ctx context.Context, u UnverifiedWebhook, reason string) {
	obs.InvocationFrom(ctx).Batch().Add(MetricWebhookDeferredDropped, obs.UnitCount, 1)
	w.app.log.WarnContext(ctx, "deferred webhook dropped: its signature never matched a known signing key",
		"reason", redactQueries(reason, u.CandidateURLs), "age_seconds", int(w.opts.Now().Sub(u.ReceivedAt).Seconds()))
}

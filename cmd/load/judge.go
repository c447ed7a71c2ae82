package main

// Judging: whether each answer is what its request kind must get, and the
// per-kind summary.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/app"
)

// result is what one request got.
type result struct {
	latency time.Duration
	ok      bool
	reason  string // why the answer is unexpected
	outcome string // webhooks: "delivered" or "queued"
	id      string // webhooks: the envelope id answered
	status  int    // HTTP-shaped answers
}

func (r *result) judgeDirect(kind string, out []byte, errorType string) {
	switch kind {
	case KindRead:
		var p map[string]any
		if errorType != "" || json.Unmarshal(out, &p) != nil || p["schema_version"] == nil {
			r.reason = "direct read: errorType " + orNone(errorType)
		}
	case KindInvalidSID:
		if errorType != "InvalidSid" {
			r.reason = "direct invalid SID: errorType " + orNone(errorType)
		}
	}
}

func (r *result) judgeHTTP(kind string, out []byte) {
	var resp struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		r.reason = "answer is not an HTTP response"
		return
	}
	r.status = resp.StatusCode
	var p app.Problem
	if resp.Headers["Content-Type"] == app.ProblemContentType {
		if json.Unmarshal([]byte(resp.Body), &p) != nil || p.Status != resp.StatusCode {
			r.reason = fmt.Sprintf("HTTP %d with a malformed problem", resp.StatusCode)
			return
		}
	}
	got := fmt.Sprintf("HTTP %d %s", resp.StatusCode, strings.TrimPrefix(p.Type, app.ProblemTypeBase))
	switch kind {
	case KindRead:
		var body map[string]any
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &body) != nil || body["schema_version"] == nil {
			r.reason = got
		}
	case KindInvalidSID:
		if resp.StatusCode != 400 || p.Type != app.ProblemTypeBase+"invalid-sid" || p.Field == "" {
			r.reason = got
		}
	case KindWebhook, KindOutage:
		var ans struct{ ID, Outcome string }
		if resp.StatusCode != 200 || json.Unmarshal([]byte(resp.Body), &ans) != nil || ans.ID == "" ||
			(ans.Outcome != string(app.OutcomeDelivered) && ans.Outcome != string(app.OutcomeQueued)) ||
			(kind == KindOutage && ans.Outcome != string(app.OutcomeQueued)) {
			r.reason = got
			if ans.Outcome != "" {
				r.reason += " " + ans.Outcome
			}
			return
		}
		r.id, r.outcome = ans.ID, ans.Outcome
	case KindForged:
		if resp.StatusCode != 403 || p.Type != app.ProblemTypeBase+"invalid-signature" {
			r.reason = got
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// summarize fills the per-kind statistics and webhook counts, and returns
// the accepted webhooks' ids with their outcome.
func summarize(rep *Report, jobs []job, results []result) map[string]string {
	lat := map[string][]time.Duration{}
	accepted := map[string]string{}
	for _, k := range Kinds {
		rep.Kinds[k] = &KindStats{Errors: map[string]int{}}
	}
	for i, j := range jobs {
		r, k := results[i], rep.Kinds[jobs[i].kind]
		k.Count++
		lat[j.kind] = append(lat[j.kind], r.latency)
		if r.ok {
			k.OK++
		} else {
			k.Errors[r.reason]++
		}
		switch j.kind {
		case KindWebhook, KindOutage:
			rep.WebhooksSent++
			if r.ok {
				if _, dup := accepted[r.id]; dup {
					k.OK--
					k.Errors["duplicate event id "+r.id]++
					continue
				}
				accepted[r.id] = r.outcome
				rep.Accepted++
				if r.outcome == string(app.OutcomeQueued) {
					rep.AcceptedQueued++
				} else {
					rep.AcceptedDelivered++
				}
			}
		case KindForged:
			rep.ForgedSent++
			if r.status == 403 && r.ok {
				rep.ForgedRejected++
			}
		}
	}
	for k, ds := range lat {
		slices.Sort(ds)
		rep.Kinds[k].P50, rep.Kinds[k].P99 = percentile(ds, 50), percentile(ds, 99)
	}
	return accepted
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

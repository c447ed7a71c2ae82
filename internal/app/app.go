// Package app is the processing core, shared by every trigger. Routes.Handle
// sends an HTTP request to one of two routes:
//
//   - the read route (http.go, app.go): GET
//     /accounts/{a}/conferences/{c}/participants/{p} answered by
//     App.Participant, one SignalWire call with the cached credentials,
//     refreshed once on a 401;
//   - the webhook route: Webhooks.Handle (webhooks.go) verifies the
//     signature and Webhooks.Accept takes a direct invocation's webhook;
//     both build the envelope once and deliver those bytes to every
//     destination within the inline budget, send a permanent refusal to the
//     dead-letter queue and park what is left on the retry queue
//     (process.go); Webhooks.ProcessRetry delivers a parked message again.
//     messages.go holds the wire formats: the direct job, the retry
//     message and the dead-letter record;
//   - one mapping of errors to RFC 9457 problems (problems.go).
//
// It speaks the neutral Request and Response of http.go and knows nothing of
// Lambda; the trigger package translates the Lambda events into them and
// back. docs/DESIGN.md ("Request flows") walks through a read and a webhook.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// CredentialSource yields SignalWire credentials and replaces a rejected set.
// Refresh is rate limited by the source: a version equal to stale means
// nothing newer is known (yet).
type CredentialSource interface {
	Get(ctx context.Context) (credentials.Credentials, uint64, error)
	Refresh(ctx context.Context, stale uint64) (credentials.Credentials, uint64, error)
}

// errForeignAccount is wrapped by the error of a read whose account_sid is
// not the secret's project: SignalWire would answer 401 (and a refresh would
// not help), so it is answered without calling it.
var errForeignAccount = errors.New("account_sid is not the project this function serves")

// errNoNewerCredentials is wrapped by the error of a read SignalWire
// rejected (401) when the forced refresh brought no newer credentials: the
// secret was just fetched and holds the same ones, or the refresh was
// refused because another forced refresh started less than
// credentials.RefreshInterval ago.
var errNoNewerCredentials = errors.New("no newer credentials after the rejection")

// ParticipantGetter is the one SignalWire call the core makes.
type ParticipantGetter interface {
	GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error)
}

// App is the core, built once at init and shared by every invocation.
type App struct {
	creds    CredentialSource
	upstream ParticipantGetter
	log      *slog.Logger
}

// New returns the core; NewWebhooks builds the webhook processor on it and
// NewRoutes serves both over HTTP.
func New(creds CredentialSource, upstream ParticipantGetter, log *slog.Logger) *App {
	return &App{creds: creds, upstream: upstream, log: log}
}

// Participant reads one participant and normalizes it. The SIDs are
// validated before anything else; a 401 from SignalWire refreshes the
// credentials once and retries once.
func (a *App) Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error) {
	if err := ref.Validate(); err != nil {
		return participant.Participant{}, err
	}
	inv := obs.InvocationFrom(ctx)
	inv.SetSIDs(ref.AccountSID, ref.ConferenceSID, ref.CallSID)
	creds, version, err := a.creds.Get(ctx)
	if err != nil {
		return participant.Participant{}, err
	}
	if !strings.EqualFold(ref.AccountSID, creds.ProjectID) {
		// The Compatibility API's AccountSid is the Project ID: any other
		// account is a 401 upstream, and each 401 would cost a refresh.
		p := newProblem(problemAccountNotFound, http.StatusNotFound, "account_sid is not the SignalWire project this function serves")
		p.Field = "account_sid"
		return participant.Participant{}, fmt.Errorf("%w: %w", errForeignAccount, p)
	}
	p, err := a.get(ctx, creds, ref)
	if apiErr := (*signalwire.APIError)(nil); errors.As(err, &apiErr) && apiErr.Kind == signalwire.KindUnauthorized {
		a.log.WarnContext(ctx, "SignalWire rejected the credentials; refreshing them once", "error", err.Error())
		fresh, v, rerr := a.creds.Refresh(ctx, version)
		if rerr != nil {
			return participant.Participant{}, errors.Join(err, rerr)
		}
		if v != version {
			inv.Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
			p, err = a.get(ctx, fresh, ref)
		} else {
			// A rate-limited or unchanged refresh: no retry, and the
			// caller is told when one may help (ProblemFor).
			err = fmt.Errorf("%w: %w", errNoNewerCredentials, err)
		}
	}
	if err != nil {
		return participant.Participant{}, err
	}
	return participant.Normalize(p), nil
}

// get makes one client call and records its latency and error class.
func (a *App) get(ctx context.Context, creds credentials.Credentials, ref signalwire.ParticipantRef) (*signalwire.Participant, error) {
	start := time.Now()
	p, err := a.upstream.GetParticipant(ctx, signalwire.Auth{ProjectID: creds.ProjectID, APIToken: creds.APIToken, SpaceHost: creds.SpaceHost}, ref)
	if err == nil {
		err = checkParticipantAnswer(ref, p)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	inv := obs.InvocationFrom(ctx)
	batch := inv.Batch()
	batch.Add(obs.MetricUpstreamLatency, obs.UnitMilliseconds, ms)
	status := 200
	var apiErr *signalwire.APIError
	if err != nil && errors.As(err, &apiErr) {
		status = apiErr.StatusCode
		batch.AddDim(obs.MetricUpstreamErrors, obs.UnitCount, 1, "StatusClass", statusClass(apiErr.StatusCode))
	}
	inv.SetUpstream(status, ms)
	a.log.DebugContext(ctx, "upstream call")
	return p, err
}

func statusClass(code int) string {
	switch {
	case code == 0:
		return "network"
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	default:
		return "other"
	}
}

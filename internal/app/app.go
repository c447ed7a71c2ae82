// Package app is the processing core, shared by every trigger: the read
// route (App.Participant: one SignalWire call, credentials refreshed once on
// a 401), the webhook route (webhooks.go verifies, process.go builds the
// envelope once, delivers it, dead-letters permanent refusals and parks the
// rest; messages.go holds the queues' wire formats) and one mapping of
// errors to RFC 9457 problems (problems.go). It speaks the neutral Request
// and Response of http.go; package trigger translates Lambda's events.
// docs/DESIGN.md ("Request flows") walks through a read and a webhook.
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
// rejected (401) when the forced refresh brought nothing newer (the same
// secret, or a refresh within credentials.RefreshInterval of another).
var errNoNewerCredentials = errors.New("no newer credentials after the rejection")

// participantGetter is the one SignalWire call the core makes.
type participantGetter interface {
	GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error)
}

// App is the core, built once at init and shared by every invocation.
type App struct {
	creds    CredentialSource
	upstream participantGetter
	log      *slog.Logger
}

// New returns the core.
func New(creds CredentialSource, upstream participantGetter, log *slog.Logger) *App {
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

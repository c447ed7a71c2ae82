// Package app is the processing core every trigger shares: the read routes
// (app.go), the webhook route (webhooks.go verifies, process.go builds,
// delivers, dead-letters and parks; messages.go holds the queues' formats)
// and the RFC 9457 problems (problems.go), over the neutral Request and
// Response of http.go. docs/DESIGN.md ("Request flows") walks through them.
package app

import (
	"cmp"
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

// CredentialSource yields SignalWire credentials and replaces a rejected set;
// Refresh is rate limited (a version equal to stale: nothing newer, yet).
type CredentialSource interface {
	Get(ctx context.Context) (credentials.Credentials, uint64, error)
	Refresh(ctx context.Context, stale uint64) (credentials.Credentials, uint64, error)
}

// errForeignAccount is wrapped by the error of a read whose account_sid is
// not the secret's project, answered without calling SignalWire.
var errForeignAccount = errors.New("account_sid is not the project this function serves")

// errNoNewerCredentials is wrapped by the error of a read SignalWire
// rejected (401) when the forced refresh brought nothing newer.
var errNoNewerCredentials = errors.New("no newer credentials after the rejection")

// participantGetter is the SignalWire calls the core makes.
type participantGetter interface {
	GetParticipant(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef) (*signalwire.Participant, error)
	ListParticipants(ctx context.Context, auth signalwire.Auth, ref signalwire.ParticipantRef, f signalwire.ListFilter) ([]*signalwire.Participant, error)
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

// Participant validates ref's SIDs, reads the participant and normalizes it.
func (a *App) Participant(ctx context.Context, ref signalwire.ParticipantRef) (participant.Participant, error) {
	if err := ref.Validate(); err != nil {
		return participant.Participant{}, err
	}
	var p *signalwire.Participant
	err := a.call(ctx, ref, func(auth signalwire.Auth) (err error) {
		if p, err = a.upstream.GetParticipant(ctx, auth, ref); err == nil {
			err = checkParticipantAnswer(ref, p)
		}
		return err
	})
	if err != nil {
		return participant.Participant{}, err
	}
	return participant.Normalize(p), nil
}

// List is the list route's answer (schema/participant-list.v1.schema.json).
type List struct {
	SchemaVersion int                       `json:"schema_version"`
	Participants  []participant.Participant `json:"participants"`
}

// Participants lists a conference's active participants (every page; ref's
// CallSID is ignored), validated, checked and normalized as Participant does.
func (a *App) Participants(ctx context.Context, ref signalwire.ParticipantRef, f signalwire.ListFilter) (List, error) {
	ref.CallSID = ""
	if err := cmp.Or(signalwire.ValidateSID("account_sid", ref.AccountSID), signalwire.ValidateSID("conference_sid", ref.ConferenceSID)); err != nil {
		return List{}, err
	}
	var ps []*signalwire.Participant
	err := a.call(ctx, ref, func(auth signalwire.Auth) (err error) {
		if ps, err = a.upstream.ListParticipants(ctx, auth, ref, f); err != nil {
			return err
		}
		for i, p := range ps {
			one := ref
			if p != nil && p.CallSID != nil {
				one.CallSID = *p.CallSID
			}
			if err := checkParticipantAnswer(one, p); err != nil {
				return fmt.Errorf("participant %d of the list: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return List{}, err
	}
	out := List{SchemaVersion: 1, Participants: make([]participant.Participant, 0, len(ps))}
	for _, p := range ps {
		out.Participants = append(out.Participants, participant.Normalize(p))
	}
	return out, nil
}

// call makes fn's SignalWire call for ref with the cached credentials (none
// for an account but the secret's project); a 401 refreshes them, once.
func (a *App) call(ctx context.Context, ref signalwire.ParticipantRef, fn func(signalwire.Auth) error) error {
	inv := obs.InvocationFrom(ctx)
	inv.SetSIDs(ref.AccountSID, ref.ConferenceSID, ref.CallSID)
	creds, version, err := a.creds.Get(ctx)
	if err != nil {
		return err
	}
	if !strings.EqualFold(ref.AccountSID, creds.ProjectID) {
		// The Compatibility API's AccountSid is the Project ID: any other
		// account is a 401 upstream, and each 401 would cost a refresh.
		p := newProblem(problemAccountNotFound, http.StatusNotFound, "account_sid is not the SignalWire project this function serves")
		p.Field = "account_sid"
		return fmt.Errorf("%w: %w", errForeignAccount, p)
	}
	err = a.measure(ctx, creds, fn)
	if apiErr, ok := errors.AsType[*signalwire.APIError](err); ok && apiErr.Kind == signalwire.KindUnauthorized {
		a.log.WarnContext(ctx, "SignalWire rejected the credentials; refreshing them once", "error", err.Error())
		fresh, v, rerr := a.creds.Refresh(ctx, version)
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		if v == version {
			// A rate-limited or unchanged refresh: no retry, and the
			// caller is told when one may help (ProblemFor).
			return fmt.Errorf("%w: %w", errNoNewerCredentials, err)
		}
		inv.Batch().Add(obs.MetricCredentialsRefresh, obs.UnitCount, 1)
		err = a.measure(ctx, fresh, fn)
	}
	return err
}

// measure makes one client call and records its latency and error class.
func (a *App) measure(ctx context.Context, creds credentials.Credentials, fn func(signalwire.Auth) error) error {
	start := time.Now()
	err := fn(signalwire.Auth{ProjectID: creds.ProjectID, APIToken: creds.APIToken, SpaceHost: creds.SpaceHost})
	ms := float64(time.Since(start).Microseconds()) / 1000
	inv := obs.InvocationFrom(ctx)
	inv.Batch().Add(obs.MetricUpstreamLatency, obs.UnitMilliseconds, ms)
	status := 200
	if apiErr, ok := errors.AsType[*signalwire.APIError](err); ok {
		status = apiErr.StatusCode
		inv.Batch().AddDim(obs.MetricUpstreamErrors, obs.UnitCount, 1, "StatusClass", statusClass(apiErr.StatusCode))
	}
	inv.SetUpstream(status, ms)
	return err
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

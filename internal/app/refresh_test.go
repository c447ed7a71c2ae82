package app

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/credentials"
)

// refreshFails serves the cached secret but cannot fetch a fresh one.
type refreshFails struct{ *fakeCreds }

func (r refreshFails) Refresh(context.Context, uint64) (credentials.Credentials, uint64, error) {
	return credentials.Credentials{}, 0, errors.New("secrets manager unreachable")
}

// TestSignatureMismatchRefreshErrorIsLogged: when the refresh a mismatch
// triggers fails, the webhook is judged by the cached keys (403) and the
// failure is logged, not dropped.
func TestSignatureMismatchRefreshErrorIsLogged(t *testing.T) {
	f := newHooks(t, nil)
	f.app.creds = refreshFails{&fakeCreds{}}
	if r := f.routes.Handle(f.ctx(), signedPost(joinForm(call), "PSK_other")); r.Status != 403 {
		t.Fatalf("status %d, want 403", r.Status)
	}
	if !strings.Contains(f.logs.String(), `"refreshing the secret after a signature mismatch failed; the cached signing keys decide","error":"secrets manager unreachable"`) {
		t.Fatalf("the refresh error is not logged:\n%s", f.logs)
	}
}

package trigger

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

// unencodableCore returns a participant json.Marshal rejects (an Unparsed
// value that is not JSON).
type unencodableCore struct{ fakeCore }

func (*unencodableCore) Participant(context.Context, signalwire.ParticipantRef) (participant.Participant, error) {
	return participant.Participant{Unparsed: map[string]json.RawMessage{"x": json.RawMessage("{")}}, nil
}

// TestDirectEncodingErrorIsLogged: the caller gets a generic error, and the
// encoding error itself is in the log line, not dropped.
func TestDirectEncodingErrorIsLogged(t *testing.T) {
	r, logs := newRouter(&unencodableCore{}, nil)
	_, err := r.Invoke(context.Background(), []byte(`{"account_sid":"a","conference_sid":"c","call_sid":"p"}`))
	if err == nil || err.Error() != "encoding the participant failed" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(logs.String(), `"message":"encoding the participant failed","error":"json: error calling MarshalJSON`) {
		t.Fatalf("the encoding error is not logged:\n%s", logs)
	}
}

package credentials

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A secret that cannot be loaded at init says so then, with the cause,
// before any invocation asks for it; a later failed fetch does not say "init".
func TestFailedPrefetchIsLoggedAtInit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.failErr = throttled
		var logs bytes.Buffer
		c := New(f, "sw", Options{TTL: time.Hour, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		c.Prefetch()
		synctest.Wait()
		if got := logs.String(); strings.Count(got, "the secret could not be loaded at init") != 1 || !strings.Contains(got, "ThrottlingException") {
			t.Fatalf("init logs: %s", got)
		}
		logs.Reset()
		if _, _, err := c.Get(context.Background()); err == nil {
			t.Fatal("Get succeeded")
		}
		if strings.Contains(logs.String(), "at init") {
			t.Errorf("an invocation's failed fetch logged as init: %s", logs.String())
		}
	})
}

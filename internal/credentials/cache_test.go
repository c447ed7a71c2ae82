package credentials

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/sivchari/kumo"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// fakeSecrets counts calls and can block them to prove coalescing. Tests
// that move time run in a synctest bubble: time.Sleep advances the clock.
type fakeSecrets struct {
	calls   atomic.Int64
	gate    chan struct{}
	value   atomic.Pointer[string]
	failErr error
	fail    atomic.Pointer[error]
	// during, when set, runs inside the call (e.g. to stay frozen).
	during atomic.Pointer[func(ctx context.Context) error]
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	if fn := f.during.Load(); fn != nil {
		if err := (*fn)(ctx); err != nil {
			return nil, err
		}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done(): // like the SDK: a cancelled context ends the call
			return nil, ctx.Err()
		}
	}
	if e := f.fail.Load(); e != nil {
		return nil, *e
	}
	if f.failErr != nil {
		return nil, f.failErr
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value.Load()}, nil
}

func newFake(secret string) *fakeSecrets {
	f := &fakeSecrets{}
	f.value.Store(&secret)
	return f
}

func ttl(d time.Duration) Options { return Options{TTL: d} }

var throttled = error(&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"})

// meter runs calls in invocations of their own and adds up the EMF metrics
// they report.
type meter struct {
	out bytes.Buffer
	m   *obs.Metrics
}

func newMeter() *meter {
	m := &meter{}
	m.m = obs.NewMetrics(&m.out, "NS", "svc")
	return m
}

// invoke runs fn in a new invocation and flushes its metrics.
func (m *meter) invoke(fn func(ctx context.Context)) {
	inv := &obs.Invocation{Metrics: m.m.NewBatch()}
	fn(obs.WithInvocation(context.Background(), inv))
	if err := m.m.Flush(inv.Metrics); err != nil {
		panic(err)
	}
}

// sum is the total of metric over every line written.
func (m *meter) sum(t *testing.T, metric string) float64 {
	t.Helper()
	var total float64
	for _, line := range strings.Split(strings.TrimSpace(m.out.String()), "\n") {
		if line == "" {
			continue
		}
		var l map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		var one float64
		var many []float64
		if json.Unmarshal(l[metric], &one) == nil {
			total += one
		} else if json.Unmarshal(l[metric], &many) == nil {
			for _, v := range many {
				total += v
			}
		}
	}
	return total
}

func TestCacheFetchesOncePerTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Minute))
		ctx := context.Background()
		for i := 0; i < 1000; i++ {
			if _, _, err := c.Get(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.calls.Load(); got != 1 {
			t.Fatalf("1000 warm gets made %d GetSecretValue calls, want 1", got)
		}
		// Before the refresh-ahead window (the TTL's last fifth): no call.
		time.Sleep(47 * time.Second)
		c.Get(ctx)
		if f.calls.Load() != 1 {
			t.Fatal("fetched again before the refresh-ahead window")
		}
		// After the TTL with no traffic in the window: the first caller
		// waits for the fetch.
		time.Sleep(13 * time.Second)
		c.Get(ctx)
		if f.calls.Load() != 2 {
			t.Fatalf("calls = %d after TTL, want 2", f.calls.Load())
		}
	})
}

func TestCacheCoalescesConcurrentCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.gate = make(chan struct{})
		c := New(f, "sw", ttl(time.Minute))
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := c.Get(context.Background())
				errs <- err
			}()
		}
		synctest.Wait() // every goroutine waits in the cache before the one fetch completes
		close(f.gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := f.calls.Load(); got != 1 {
			t.Fatalf("50 concurrent cold gets made %d calls, want 1", got)
		}
	})
}

func TestRefreshReplacesRejectedSetOnce(t *testing.T) {
	f := newFake(validSecret)
	c := New(f, "sw", ttl(time.Hour))
	ctx := context.Background()
	_, v1, err := c.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Replace(validSecret, "PTsecret-token-value", "PTrotated-token-value", 1)
	f.value.Store(&rotated)
	creds, v2, err := c.Refresh(ctx, v1)
	if err != nil || creds.APIToken != "PTrotated-token-value" || v2 == v1 {
		t.Fatalf("refresh: %v %v", v2, err)
	}
	// A second caller that also saw v1 rejected gets v2 without a new fetch.
	creds, v3, err := c.Refresh(ctx, v1)
	if err != nil || v3 != v2 || creds.APIToken != "PTrotated-token-value" {
		t.Fatalf("second refresh: v=%d err=%v", v3, err)
	}
	if f.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (cold start + one refresh)", f.calls.Load())
	}
}

func TestFailedFetchIsNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(`{"project_id":"x"}`)
		c := New(f, "sw", ttl(time.Hour))
		if _, _, err := c.Get(context.Background()); !errors.Is(err, errMalformed) {
			t.Fatalf("err = %v, want errMalformed", err)
		}
		f.value.Store(ptr(validSecret))
		time.Sleep(RefreshInterval) // failed fetches are retried at most this often
		if _, _, err := c.Get(context.Background()); err != nil {
			t.Fatalf("after the secret was fixed: %v", err)
		}
	})
}

func TestClassifiesAccessDenied(t *testing.T) {
	f := newFake(validSecret)
	f.failErr = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized"}
	_, _, err := New(f, "arn:aws:secretsmanager:us-east-1:1:secret:sw", ttl(time.Hour)).Get(context.Background())
	if !errors.Is(err, errAccessDenied) || !strings.Contains(err.Error(), "secret arn:aws:secretsmanager") {
		t.Fatalf("err = %v", err)
	}
	f.failErr = throttled
	_, _, err = New(f, "sw", ttl(time.Hour)).Get(context.Background())
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, errAccessDenied) || errors.Is(err, errNotFound) {
		t.Fatalf("throttling: err = %v, want ErrUnavailable only", err)
	}
}

func TestWaitingCallerHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.gate = make(chan struct{})
		defer close(f.gate)
		c := New(f, "sw", ttl(time.Hour))
		go c.Get(context.Background()) // the leader blocks in GetSecretValue
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := c.Get(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestAgainstKumo runs the real SDK client against a local Secrets Manager.
func TestAgainstKumo(t *testing.T) {
	for k, v := range map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"} {
		t.Setenv(k, v)
	}
	srv := kumo.NewServer()
	defer srv.Close()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sw/creds"), SecretString: aws.String(validSecret)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("sw/bad"), SecretString: aws.String(`{"api_token":"PTsecret-token-value"}`)}); err != nil {
		t.Fatal(err)
	}
	creds, _, err := New(sm, "sw/creds", ttl(time.Minute)).Get(ctx)
	if err != nil || creds.SigningKey != "PSK_signing-key-value" {
		t.Fatalf("get: %v", err)
	}
	_, _, err = New(sm, "sw/missing", ttl(time.Minute)).Get(ctx)
	if !errors.Is(err, errNotFound) {
		t.Fatalf("missing secret: err = %v, want errNotFound", err)
	}
	_, _, err = New(sm, "sw/bad", ttl(time.Minute)).Get(ctx)
	if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), "project_id") || strings.Contains(err.Error(), "PTsecret") {
		t.Fatalf("partial secret: err = %v", err)
	}
}

func ptr(s string) *string { return &s }

// TestStaleWhileSecretsManagerFails (issue 10 §7): after the TTL, a failing
// Secrets Manager does not fail requests while the cached set is within
// maxStale; attempts are spaced by RefreshInterval; beyond maxStale the
// error reaches the caller.
func TestStaleWhileSecretsManagerFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		var logs bytes.Buffer
		c := New(f, "sw", Options{TTL: time.Minute, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		ctx := context.Background()
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		f.fail.Store(&throttled)
		time.Sleep(61 * time.Second)
		// 100 requests over 10 s of outage: all served, one attempt per
		// RefreshInterval; each failure reaches a later invocation's metrics.
		m := newMeter()
		for i := 0; i < 101; i++ {
			m.invoke(func(ctx context.Context) {
				creds, _, err := c.Get(ctx)
				if err != nil || creds.APIToken != "PTsecret-token-value" {
					t.Fatalf("request %d during the outage: %v", i, err)
				}
			})
			if i < 99 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if got := f.calls.Load(); got != 1+2 {
			t.Fatalf("GetSecretValue calls = %d, want 3 (cold + one per %s of outage)", got, RefreshInterval)
		}
		if fails, stale := m.sum(t, metricRefreshFailures), m.sum(t, metricStaleServed); fails != 2 || stale != 101 {
			t.Fatalf("EMF: refresh failures %v, stale served %v; want 2, 101", fails, stale)
		}
		// Each failure is one log line naming the cause, never a value.
		if n := strings.Count(logs.String(), "credentials refresh failed"); n != 2 || !strings.Contains(logs.String(), "ThrottlingException") ||
			strings.Contains(logs.String(), "PTsecret") || strings.Contains(logs.String(), "PSK_") {
			t.Fatalf("failure log lines (%d):\n%s", n, logs.String())
		}
		// Beyond maxStale the error is the caller's.
		time.Sleep(maxStale)
		if _, _, err := c.Get(ctx); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("past maxStale: err = %v, want ErrUnavailable", err)
		}
		// Recovery: the next fetch (RefreshInterval after the failed one)
		// replaces the set.
		f.fail.Store(nil)
		time.Sleep(RefreshInterval)
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
	})
}

// TestRefreshAheadIsOffTheRequestPath (issue 10 §7): near expiry the cache
// answers at once and fetches in the background; the next caller gets the
// new set without having waited.
func TestRefreshAheadIsOffTheRequestPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Minute))
		ctx := context.Background()
		_, v1, _ := c.Get(ctx)
		rotated := strings.Replace(validSecret, "PTsecret-token-value", "PTrotated-token-value", 1)
		f.value.Store(&rotated)
		f.gate = make(chan struct{}) // the background fetch blocks until released
		time.Sleep(50 * time.Second)
		creds, v, err := c.Get(ctx) // must not wait for the blocked fetch
		if err != nil || v != v1 || creds.APIToken != "PTsecret-token-value" {
			t.Fatalf("in the refresh-ahead window: %v v=%d", err, v)
		}
		synctest.Wait()
		if f.calls.Load() != 2 {
			t.Fatalf("calls = %d, want the background fetch", f.calls.Load())
		}
		c.Get(ctx) // a fetch is running: no second one
		close(f.gate)
		synctest.Wait()
		creds, v, _ = c.Get(ctx)
		if v == v1 || creds.APIToken != "PTrotated-token-value" || f.calls.Load() != 2 {
			t.Fatalf("after the background refresh: v=%d, calls %d", v, f.calls.Load())
		}
	})
}

// TestWaitersDoNotInheritACancellation (issue 10 §7): the caller that
// started a fetch is cancelled; the callers waiting on that fetch still get
// the credentials.
func TestWaitersDoNotInheritACancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.gate = make(chan struct{})
		c := New(f, "sw", ttl(time.Hour))
		leader, cancel := context.WithCancel(context.Background())
		leaderErr := make(chan error, 1)
		go func() { _, _, err := c.Get(leader); leaderErr <- err }()
		synctest.Wait()
		waiterErr := make(chan error, 1)
		go func() { _, _, err := c.Get(context.Background()); waiterErr <- err }()
		synctest.Wait()
		cancel()
		if err := <-leaderErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("leader: err = %v, want context.Canceled", err)
		}
		close(f.gate)
		if err := <-waiterErr; err != nil {
			t.Fatalf("waiter inherited the leader's cancellation: %v", err)
		}
		if f.calls.Load() != 1 {
			t.Fatalf("calls = %d, want 1", f.calls.Load())
		}
	})
}

// TestForcedRefreshesAreRateLimited (issue 10 §2, §3): however many forced
// refreshes are asked for (forged signatures, 401s), at most one
// GetSecretValue per RefreshInterval: 12 a minute. A new value in the
// secret is picked up within RefreshInterval.
func TestForcedRefreshesAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Hour))
		ctx := context.Background()
		_, v, _ := c.Get(ctx)
		m := newMeter()
		for i := 0; i < 6000; i++ { // one forced refresh every 10 ms for a minute
			m.invoke(func(ctx context.Context) {
				_, v2, err := c.Refresh(ctx, v)
				if err != nil {
					t.Fatal(err)
				}
				v = v2
			})
			time.Sleep(10 * time.Millisecond)
		}
		if got := f.calls.Load() - 1; got != 12 {
			t.Fatalf("6000 forced refreshes in a minute made %d GetSecretValue calls, want 12", got)
		}
		if n := m.sum(t, metricRefreshLimited); n != 6000-12 {
			t.Fatalf("%s = %v, want %d", metricRefreshLimited, n, 6000-12)
		}
		// The secret changes; the next allowed refresh (≤ RefreshInterval later) sees it.
		rotated := strings.Replace(validSecret, "PTsecret-token-value", "PTrotated-token-value", 1)
		f.value.Store(&rotated)
		var got Credentials
		for start := time.Now(); time.Since(start) <= RefreshInterval; time.Sleep(10 * time.Millisecond) {
			if got, v, _ = c.Refresh(ctx, v); got.APIToken == "PTrotated-token-value" {
				break
			}
		}
		if got.APIToken != "PTrotated-token-value" {
			t.Fatal("the rotated secret was not picked up within RefreshInterval")
		}
		// An unchanged secret keeps its version: callers know nothing is new.
		time.Sleep(RefreshInterval)
		if _, v3, _ := c.Refresh(ctx, v); v3 != v {
			t.Fatalf("an unchanged secret got a new version %d → %d", v, v3)
		}
	})
}

// TestFrozenRefreshIsNotAFailure: a refresh ahead outlives its invocation
// and Lambda freezes the environment; on thaw its timeout has long passed.
// That is not counted or logged as a Secrets Manager failure, and the next
// caller fetches at once instead of waiting RefreshInterval.
func TestFrozenRefreshIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		var logs bytes.Buffer
		c := New(f, "sw", Options{TTL: time.Minute, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
		ctx := context.Background()
		c.Get(ctx)
		frozen := func(ctx context.Context) error {
			time.Sleep(time.Minute) // the environment is frozen for a minute
			return ctx.Err()
		}
		f.during.Store(&frozen)
		time.Sleep(50 * time.Second)
		c.Get(ctx) // starts the refresh ahead
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		f.during.Store(nil)
		m := newMeter()
		var err error
		m.invoke(func(ctx context.Context) { _, _, err = c.Get(ctx) })
		if err != nil || f.calls.Load() != 3 || m.sum(t, metricRefreshFailures) != 0 || m.sum(t, metricStaleServed) != 0 ||
			strings.Contains(logs.String(), "refresh failed") {
			t.Fatalf("err %v, calls %d, metrics %s, logs %s; want a fresh fetch and no failure", err, f.calls.Load(), m.out.String(), logs.String())
		}
	})
}

// With no usable set (a cold start while Secrets Manager throttles or the
// secret is broken, or past maxStale), a flood of requests, forged webhooks
// included, must not make one GetSecretValue call each: after a failed
// fetch the next one waits RefreshInterval, and callers get the failure.
func TestFailedFetchesWithNothingCachedAreRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		f.fail.Store(&throttled)
		c := New(f, "sw", ttl(time.Hour))
		for range 100 {
			if _, _, err := c.Get(context.Background()); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("100 requests in 1 s with nothing cached made %d GetSecretValue calls, want 1", n)
		}
		f.fail.Store(nil)
		time.Sleep(RefreshInterval)
		if _, _, err := c.Get(context.Background()); err != nil || f.calls.Load() != 2 {
			t.Fatalf("after RefreshInterval: %v, %d calls", err, f.calls.Load())
		}
		// Past maxStale with Secrets Manager down again: the same bound.
		f.fail.Store(&throttled)
		time.Sleep(time.Hour + maxStale)
		for range 100 {
			_, _, _ = c.Get(context.Background())
			time.Sleep(10 * time.Millisecond)
		}
		if n := f.calls.Load(); n != 3 {
			t.Fatalf("100 requests in 1 s past maxStale made %d GetSecretValue calls, want 1", n-2)
		}
	})
}

// A refresh ahead frozen with its environment for longer than TTL +
// maxStale: on thaw the first request must not wait for (and fail with)
// that dead fetch, whose goroutine may not have run yet; it fetches anew.
func TestRequestAfterLongFreezeDoesNotWaitForTheFrozenFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Minute))
		ctx := context.Background()
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		var first atomic.Bool
		frozen := func(context.Context) error {
			if first.CompareAndSwap(false, true) {
				<-release // frozen: this goroutine has not run since
				return context.DeadlineExceeded
			}
			return nil
		}
		f.during.Store(&frozen)
		time.Sleep(50 * time.Second)
		c.Get(ctx) // starts the refresh ahead, then the environment freezes
		synctest.Wait()
		if f.calls.Load() != 2 {
			t.Fatalf("calls = %d, want the refresh ahead", f.calls.Load())
		}
		time.Sleep(2 * time.Hour) // thawed two hours later: past TTL + maxStale
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, _, err := c.Get(wctx)
		close(release)
		if err != nil || f.calls.Load() != 3 {
			t.Fatalf("first request after the thaw: %v, %d calls; want a fresh fetch", err, f.calls.Load())
		}
		synctest.Wait() // the frozen fetch ends
		if _, _, err := c.Get(ctx); err != nil || f.calls.Load() != 3 {
			t.Fatalf("after the frozen fetch ended: %v, %d calls; want the fresh set, no fetch", err, f.calls.Load())
		}
	})
}

// Past the TTL with Secrets Manager hanging (not failing fast), the caller
// that starts the fetch must not spend its whole deadline waiting for it:
// it holds credentials that still work. It waits a little (a normal fetch
// is tens of milliseconds), then is served the cached set with its time
// left; the fetch goes on in the background.
func TestHangingRefreshPastTTLDoesNotEatTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Minute))
		ctx := context.Background()
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		f.gate = make(chan struct{}) // Secrets Manager stops answering
		defer close(f.gate)
		time.Sleep(2 * time.Minute) // past the TTL, no refresh ahead happened
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		creds, _, err := c.Get(rctx)
		if err != nil || creds.APIToken != "PTsecret-token-value" {
			t.Fatalf("Get = %v", err)
		}
		if rctx.Err() != nil {
			t.Fatal("the caller's whole deadline went into waiting for a hanging Secrets Manager")
		}
	})
}

// During a Secrets Manager outage past the TTL, forged webhooks make every
// request both a Get (stale, refetched every RefreshInterval) and a forced
// Refresh (also every RefreshInterval): the two limits added up to 24
// GetSecretValue calls a minute. A failed fetch holds back both kinds.
func TestOutageWithForgedFloodStaysWithinOneLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(validSecret)
		c := New(f, "sw", ttl(time.Minute))
		ctx := context.Background()
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
		f.fail.Store(&throttled)
		time.Sleep(61 * time.Second)
		for range 600 { // 60 s of one forged webhook every 100 ms
			_, v, err := c.Get(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, _, _ = c.Refresh(ctx, v)
			time.Sleep(100 * time.Millisecond)
		}
		if n := f.calls.Load() - 1; n > 12 {
			t.Fatalf("%d GetSecretValue calls in a minute of outage, want at most 12", n)
		}
	})
}

// TestRequestWithoutCredentialsIsCounted: a request that gets no
// credentials at all (here a malformed secret, then the same error held
// back for RefreshInterval) leaves a CredentialsUnavailable metric in its
// invocation, so its EMF line is written like any other route's.
func TestRequestWithoutCredentialsIsCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(`{"project_id":"x"}`)
		c := New(f, "sw", ttl(time.Hour))
		for i := range 2 { // the fetch, then the held-back error
			m := newMeter()
			var err error
			m.invoke(func(ctx context.Context) { _, _, err = c.Get(ctx) })
			if err == nil {
				t.Fatalf("request %d: Get succeeded with a malformed secret", i)
			}
			if n := m.sum(t, metricUnavailable); n != 1 {
				t.Fatalf("request %d: %s = %v in %q, want 1", i, metricUnavailable, n, m.out.String())
			}
		}
		if f.calls.Load() != 1 {
			t.Fatalf("GetSecretValue calls = %d, want 1", f.calls.Load())
		}
	})
}

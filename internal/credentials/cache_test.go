package credentials

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/sivchari/kumo"
)

// fakeSecrets counts calls and can block them to prove coalescing.
type fakeSecrets struct {
	calls   atomic.Int64
	gate    chan struct{}
	value   atomic.Pointer[string]
	failErr error
}

func (f *fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
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

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCacheFetchesOncePerTTL(t *testing.T) {
	f := newFake(validSecret)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := NewCache(f, "sw", time.Minute, WithClock(clk.now))
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, _, err := c.Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("1000 warm gets made %d GetSecretValue calls, want 1", got)
	}
	clk.t = clk.t.Add(59 * time.Second)
	c.Get(ctx)
	if f.calls.Load() != 1 {
		t.Fatal("fetched again before the TTL ran out")
	}
	clk.t = clk.t.Add(time.Second)
	c.Get(ctx)
	if f.calls.Load() != 2 || c.Fetches() != 2 {
		t.Fatalf("calls = %d after TTL, want 2", f.calls.Load())
	}
}

func TestCacheCoalescesConcurrentCallers(t *testing.T) {
	f := newFake(validSecret)
	f.gate = make(chan struct{})
	c := NewCache(f, "sw", time.Minute)
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
	// Let every goroutine reach the cache before the one fetch completes.
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
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
}

func TestRefreshReplacesRejectedSetOnce(t *testing.T) {
	f := newFake(validSecret)
	c := NewCache(f, "sw", time.Hour)
	ctx := context.Background()
	_, v1, err := c.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Replace(validSecret, "PTsecret-token-value", "PTrotated-token", 1)
	f.value.Store(&rotated)
	creds, v2, err := c.Refresh(ctx, v1)
	if err != nil || creds.APIToken != "PTrotated-token" || v2 == v1 {
		t.Fatalf("refresh: %v %v", v2, err)
	}
	// A second caller that also saw v1 rejected gets v2 without a new fetch.
	creds, v3, err := c.Refresh(ctx, v1)
	if err != nil || v3 != v2 || creds.APIToken != "PTrotated-token" {
		t.Fatalf("second refresh: v=%d err=%v", v3, err)
	}
	if f.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (cold start + one refresh)", f.calls.Load())
	}
}

func TestFailedFetchIsNotCached(t *testing.T) {
	f := newFake(`{"project_id":"x"}`)
	c := NewCache(f, "sw", time.Hour)
	if _, _, err := c.Get(context.Background()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	f.value.Store(ptr(validSecret))
	if _, _, err := c.Get(context.Background()); err != nil {
		t.Fatalf("after the secret was fixed: %v", err)
	}
}

func TestClassifiesAccessDenied(t *testing.T) {
	f := newFake(validSecret)
	f.failErr = &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized"}
	_, _, err := NewCache(f, "arn:aws:secretsmanager:us-east-1:1:secret:sw", time.Hour).Get(context.Background())
	if !errors.Is(err, ErrAccessDenied) || !strings.Contains(err.Error(), "secret arn:aws:secretsmanager") {
		t.Fatalf("err = %v", err)
	}
	f.failErr = &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	_, _, err = NewCache(f, "sw", time.Hour).Get(context.Background())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("throttling: err = %v, want ErrUnavailable", err)
	}
}

func TestWaitingCallerHonoursItsContext(t *testing.T) {
	f := newFake(validSecret)
	f.gate = make(chan struct{})
	defer close(f.gate)
	c := NewCache(f, "sw", time.Hour)
	go c.Get(context.Background()) // the leader blocks in GetSecretValue
	for f.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
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
	creds, _, err := NewCache(sm, "sw/creds", time.Minute).Get(ctx)
	if err != nil || creds.SigningKey != "PSK_signing-key-value" {
		t.Fatalf("get: %v", err)
	}
	_, _, err = NewCache(sm, "sw/missing", time.Minute).Get(ctx)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing secret: err = %v, want ErrNotFound", err)
	}
	_, _, err = NewCache(sm, "sw/bad", time.Minute).Get(ctx)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "project_id") || strings.Contains(err.Error(), "PTsecret") {
		t.Fatalf("partial secret: err = %v", err)
	}
}

func ptr(s string) *string { return &s }

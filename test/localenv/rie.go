package localenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signalwire-lambda/participants/test/fake"
)

// InvocationPath is the RIE's invoke path.
const InvocationPath = "/2015-03-31/functions/function/invocations"

// rieAttempts is how many times StartRIE tries fresh ports when the ones it
// picked were taken in the meantime.
const rieAttempts = 3

// RIEOptions configures StartRIE. The zero value is ready to use.
type RIEOptions struct {
	// LogOutput, when set, also receives the process output (the
	// function's logs and the RIE's START/END/REPORT lines), e.g. os.Stderr
	// in the demo.
	LogOutput io.Writer
	// Dir is the working directory; default: the bootstrap's directory.
	Dir string
}

// RIE is a running Runtime Interface Emulator with its bootstrap.
type RIE struct {
	cmd    *exec.Cmd
	url    string
	logs   *fake.Buffer
	done   chan struct{} // closed when the process has exited
	client *http.Client

	startup time.Duration

	invokeMu    sync.Mutex // the RIE runs one invocation at a time
	mu          sync.Mutex
	invocations int
	firstInvoke time.Duration
	closed      bool
	waitErr     error
}

// InvokeError is a non-200 answer of the RIE (e.g. 502 when the bootstrap
// failed to start).
type InvokeError struct {
	StatusCode int
	Body       []byte
}

func (e *InvokeError) Error() string {
	return fmt.Sprintf("localenv: invoke answered %d: %s", e.StatusCode, bytes.TrimSpace(e.Body))
}

// StartRIE starts the emulator rieBin running bootstrap with exactly env as
// its environment (which the RIE passes on to the bootstrap), on two free
// loopback ports, with --log-level error, in its own process group. It waits
// until the emulator accepts connections; the bootstrap itself starts on the
// first Invoke, as a cold start. ctx bounds the start only: stop it with Close.
func StartRIE(ctx context.Context, rieBin, bootstrap string, env []string, opts RIEOptions) (*RIE, error) {
	var errs []error
	for range rieAttempts {
		r, retry, err := startRIE(ctx, rieBin, bootstrap, env, opts)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("localenv: start RIE: %w", errors.Join(errs...))
}

func startRIE(ctx context.Context, rieBin, bootstrap string, env []string, opts RIEOptions) (_ *RIE, retry bool, _ error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, false, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	logs := &fake.Buffer{}
	var out io.Writer = logs
	if opts.LogOutput != nil {
		out = io.MultiWriter(logs, opts.LogOutput)
	}
	cmd := exec.Command(rieBin,
		"--log-level", "error",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", apiAddr,
		bootstrap)
	cmd.Env = env
	cmd.Dir = opts.Dir
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(bootstrap)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 2 * time.Second
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("run %s: %w", rieBin, err)
	}
	r := &RIE{
		cmd:    cmd,
		url:    "http://" + addr + InvocationPath,
		logs:   logs,
		done:   make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{DisableCompression: true}},
	}
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		r.waitErr = err
		r.mu.Unlock()
		close(r.done)
	}()
	if err := r.waitReady(ctx, addr); err != nil {
		_ = r.Close()
		retry := strings.Contains(logs.String(), "address already in use")
		return nil, retry, fmt.Errorf("%w; output:\n%s", err, logs.String())
	}
	r.startup = time.Since(started)
	return r, false, nil
}

func (r *RIE) waitReady(ctx context.Context, addr string) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		select {
		case <-r.done:
			return fmt.Errorf("emulator exited before listening on %s: %w", addr, r.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("emulator not listening on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

func (r *RIE) exitErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waitErr == nil {
		return errors.New("exit status 0")
	}
	return r.waitErr
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var lc net.ListenConfig
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for range n {
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("localenv: free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// URL returns the invocation URL, http://127.0.0.1:port/2015-03-31/functions/function/invocations.
func (r *RIE) URL() string { return r.url }

// Invoke invokes the function with payload and returns the raw response
// body. The RIE runs one invocation at a time, so concurrent calls queue. A
// status other than 200 gives an *InvokeError; a function error is a 200
// whose body is the error JSON ({"errorMessage":...,"errorType":...}), and
// so is a timeout (AWS_LAMBDA_FUNCTION_TIMEOUT), whose body is "Task timed
// out after N.00 seconds".
func (r *RIE) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	r.invokeMu.Lock()
	defer r.invokeMu.Unlock()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("localenv: invoke request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	id, err := requestID()
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amzn-RequestId", id) // the RIE names the invocation after it
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localenv: invoke: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("localenv: invoke response: %w", err)
	}
	r.mu.Lock()
	r.invocations++
	if r.invocations == 1 {
		r.firstInvoke = time.Since(start)
	}
	r.mu.Unlock()
	if resp.StatusCode != http.StatusOK {
		return body, &InvokeError{StatusCode: resp.StatusCode, Body: body}
	}
	// The bootstrap and the RIE write to the same pipe, the function's lines
	// before it posts its answer, the RIE's REPORT line before it answers
	// us; a goroutine copies the pipe into the logs. Once REPORT is there,
	// so is every line of this invocation: a caller reading Logs() now sees
	// them (reading at once missed the last EMF line under load).
	if err := r.WaitForLog(ctx, "REPORT RequestId: "+id); err != nil {
		return body, fmt.Errorf("localenv: invocation %s answered, its logs did not arrive: %w", id, err)
	}
	return body, nil
}

// requestID returns a random UUID (version 4) for one invocation.
func requestID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("localenv: request id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// Startup returns how long the emulator took to accept connections.
func (r *RIE) Startup() time.Duration { return r.startup }

// FirstInvoke returns the round-trip time of the first completed Invoke,
// which includes starting and initialising the bootstrap (the cold start);
// zero before it.
func (r *RIE) FirstInvoke() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstInvoke
}

// Invocations returns the number of completed Invoke calls.
func (r *RIE) Invocations() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invocations
}

// InitDuration returns the bootstrap's init time as the RIE reported it on
// the first invocation's REPORT line ("Init Duration: X ms").
func (r *RIE) InitDuration() (time.Duration, bool) {
	const label = "Init Duration: "
	_, rest, ok := strings.Cut(r.logs.String(), label)
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " ms")
	if !ok {
		return 0, false
	}
	ms, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Logs returns everything the emulator and the bootstrap wrote so far.
func (r *RIE) Logs() string { return r.logs.String() }

// WaitForLog waits until the logs contain substr.
func (r *RIE) WaitForLog(ctx context.Context, substr string) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(r.logs.String(), substr) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("localenv: %q not in the logs: %w", substr, ctx.Err())
		case <-r.done:
			if !strings.Contains(r.logs.String(), substr) {
				return fmt.Errorf("localenv: %q not in the logs: the emulator exited", substr)
			}
		case <-tick.C:
		}
	}
	return nil
}

// Exited returns a channel closed when the emulator process has exited.
func (r *RIE) Exited() <-chan struct{} { return r.done }

// Close kills the emulator's process group (the bootstrap included) and
// waits for it. It is safe to call more than once.
func (r *RIE) Close() error {
	r.mu.Lock()
	closed := r.closed
	r.closed = true
	r.mu.Unlock()
	if !closed {
		select {
		case <-r.done:
		default:
			if err := killGroup(r.cmd.Process.Pid); err != nil {
				_ = r.cmd.Process.Kill()
			}
		}
		r.client.CloseIdleConnections()
	}
	<-r.done
	return nil
}

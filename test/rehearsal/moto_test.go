//go:build linux

package rehearsal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireTools returns python3 and moto_server, or skips the test with a
// one-line reason when one is missing; under CI=true it fails instead.
func requireTools(t *testing.T) (python, motoServer string) {
	t.Helper()
	var missing []string
	python, err := exec.LookPath("python3")
	if err != nil {
		missing = append(missing, "python3")
	} else if out, err := exec.Command(python, "-c", "import samtranslator").CombinedOutput(); err != nil {
		missing = append(missing, "the aws-sam-translator module ("+lastLine(out)+")")
	}
	if motoServer, err = exec.LookPath("moto_server"); err != nil {
		missing = append(missing, "moto_server")
	}
	if len(missing) > 0 {
		msg := "deploy rehearsal needs " + strings.Join(missing, ", ") + `: pip install aws-sam-translator "moto[server]"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: not skipped)")
		}
		t.Skip(msg)
	}
	return python, motoServer
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:] // Python's traceback ends with the error line
	}
	return s
}

// moto is a running moto_server on loopback.
type moto struct {
	url  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if err != nil {
		return n, fmt.Errorf("rehearsal: log buffer: %w", err)
	}
	return n, nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startMoto starts moto_server on a free 127.0.0.1 port in its own process
// group (killed, with its children, at the end of the test) and waits until
// it answers.
func startMoto(t *testing.T, bin string) *moto {
	t.Helper()
	var errs []error
	for range 3 { // a port picked free can be taken before moto binds it
		m, err := tryStartMoto(bin)
		if err == nil {
			t.Cleanup(m.close)
			return m
		}
		errs = append(errs, err)
	}
	t.Fatalf("moto_server: %v", errors.Join(errs...))
	return nil
}

func tryStartMoto(bin string) (*moto, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	m := &moto{url: "http://127.0.0.1:" + strconv.Itoa(port), logs: &syncBuffer{}, done: make(chan struct{})}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// moto needs no credentials; nothing it does leaves loopback.
	m.cmd.Env = append(os.Environ(), "AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test")
	m.cmd.Stdout, m.cmd.Stderr = m.logs, m.logs
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	m.cmd.WaitDelay = 2 * time.Second
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			return m, nil
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("moto_server exited:\n%s", m.logs.String())
		case <-ctx.Done():
			m.close()
			return nil, fmt.Errorf("moto_server not answering on %s:\n%s", m.url, m.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *moto) close() {
	select {
	case <-m.done:
	default:
		if err := syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			_ = m.cmd.Process.Kill()
		}
	}
	<-m.done
}

var unsupportedLine = regexp.MustCompile(`No Moto CloudFormation support for (\S+)`)

// unsupportedTypes returns the resource types moto's CloudFormation logged
// it cannot create, sorted and without duplicates.
func (m *moto) unsupportedTypes() []string {
	var types []string
	for _, sm := range unsupportedLine.FindAllStringSubmatch(m.logs.String(), -1) {
		if !slices.Contains(types, sm[1]) {
			types = append(types, sm[1])
		}
	}
	slices.Sort(types)
	return types
}

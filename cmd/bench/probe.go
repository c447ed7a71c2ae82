package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// netProbe is the least client of a cold read, run by the bench itself
// through the same relay and fakes as the functions: it opens TCP + TLS to
// Secrets Manager and sends GetSecretValue while it opens TCP + TLS to
// SignalWire, then sends the participant GET on that connection. Its time
// is what the floor's 4 round trips actually cost on this simulated network
// (the relay's timer overshoot and the fakes' own time included), which the
// nominal floor (4 × RTT) does not count.
type netProbe struct {
	sm, space  string // host:port of the relays
	secretID   string
	getPath    string
	user, pass string
	roots      *x509.CertPool
}

// run performs the cold path once and then warm GETs on the open
// SignalWire connection; it returns the cold time and the warm median.
func (p netProbe) run(ctx context.Context, warm int) (cold, warmMedian time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	start := time.Now()
	type dialed struct {
		c   *tls.Conn
		err error
	}
	spaceCh := make(chan dialed, 1)
	go func() {
		c, err := p.dial(ctx, p.space)
		spaceCh <- dialed{c, err}
	}()
	smConn, err := p.dial(ctx, p.sm)
	if err != nil {
		return 0, 0, err
	}
	defer smConn.Close()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+p.sm+"/",
		strings.NewReader(`{"SecretId":"`+p.secretID+`"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if err := roundTrip(smConn, req); err != nil {
		return 0, 0, fmt.Errorf("probe: GetSecretValue: %w", err)
	}
	d := <-spaceCh
	if d.err != nil {
		return 0, 0, d.err
	}
	defer d.c.Close()
	if err := p.get(ctx, d.c); err != nil {
		return 0, 0, err
	}
	cold = time.Since(start)
	var ws []time.Duration
	for range warm {
		t := time.Now()
		if err := p.get(ctx, d.c); err != nil {
			return 0, 0, err
		}
		ws = append(ws, time.Since(t))
	}
	return cold, time.Duration(ms(ws...).median() * float64(time.Millisecond)), nil
}

func (p netProbe) dial(ctx context.Context, addr string) (*tls.Conn, error) {
	d := tls.Dialer{Config: &tls.Config{RootCAs: p.roots, NextProtos: []string{"http/1.1"}}}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("probe: dial %s: %w", addr, err)
	}
	return c.(*tls.Conn), nil
}

func (p netProbe) get(ctx context.Context, c net.Conn) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.space+p.getPath, nil)
	req.SetBasicAuth(p.user, p.pass)
	if err := roundTrip(c, req); err != nil {
		return fmt.Errorf("probe: GET: %w", err)
	}
	return nil
}

// roundTrip writes req on c and reads the whole answer, which must be a 200.
func roundTrip(c net.Conn, req *http.Request) error {
	if err := req.Write(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// probe names the netProbe's specs.
const probe = "probe"

// probeSetup returns the probe's roots (the sandbox's CA and the fronts'
// certificate) and the participant path of the read event, as the function
// requests it.
func probeSetup(sandboxCA string, front []byte, readEvent []byte) (*x509.CertPool, string, error) {
	ca, err := os.ReadFile(sandboxCA)
	if err != nil {
		return nil, "", fmt.Errorf("bench: probe: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) || !roots.AppendCertsFromPEM(front) {
		return nil, "", fmt.Errorf("bench: probe: no certificate in %s or the fronts'", sandboxCA)
	}
	var ev struct {
		RawPath string `json:"rawPath"`
	}
	parts := strings.Split(strings.TrimPrefix(func() string { _ = json.Unmarshal(readEvent, &ev); return ev.RawPath }(), "/"), "/")
	if len(parts) != 6 {
		return nil, "", fmt.Errorf("bench: probe: read event path %q", ev.RawPath)
	}
	return roots, "/api/laml/2010-04-01/Accounts/" + parts[1] + "/Conferences/" + parts[3] + "/Participants/" + parts[5] + ".json", nil
}

// Package sandbox is a local stand-in for SignalWire's Compatibility (LaML)
// REST API, for the demo, the end-to-end tests, the benchmarks and the fault
// tests. It serves HTTPS on 127.0.0.1 and answers only "Retrieve a
// Participant" and "List All Active Participants" (list.go):
//
//	GET /api/laml/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants/{CallSid}[.json]
//	GET /api/laml/2010-04-01/Accounts/{AccountSid}/Conferences/{ConferenceSid}/Participants[.json]
//
// with SignalWire-shaped bodies and errors:
//
//   - missing or wrong Basic credentials: 401, code 20003;
//   - an AccountSid in the path other than the project's (with valid
//     credentials): 401, code 20003, as the real API answers credentials
//     that do not own the account;
//   - unknown conference or participant, and every other path: 404, code 20404;
//   - a method other than GET on either route: 405, code 20004;
//   - a list query parameter it cannot read (Muted, Hold, PageSize, Page): 400, code 20001.
//
// Tests can rotate the token, add and remove participants, and queue faults
// (see Fault) that the next requests consume in order.
package sandbox

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BasePath is the Compatibility API prefix the sandbox serves.
const BasePath = "/api/laml/2010-04-01"

// MoreInfo is the more_info URL of the sandbox's error bodies.
const MoreInfo = "https://developer.signalwire.com/compatibility-api/reference/error-codes"

// SignalWire error codes the sandbox answers with.
const (
	CodeAuthentication   = 20003
	CodeMethodNotAllowed = 20004
	CodeNotFound         = 20404
	CodeTooManyRequests  = 20429
	CodeInternal         = 20504
	CodeUnknown          = 20001
)

// Option configures a Server.
type Option func(*config)

type config struct {
	cert      *tls.Certificate
	projectID string
	token     string
	confs     []Conference
	latency   time.Duration
	maxPage   int
}

// WithCredentials replaces the project ID and API token the sandbox accepts.
func WithCredentials(projectID, token string) Option {
	return func(c *config) { c.projectID, c.token = projectID, token }
}

// WithConferences replaces the seeded conferences (Seed()) with confs;
// WithConferences() with no argument starts empty.
func WithConferences(confs ...Conference) Option {
	return func(c *config) { c.confs = confs }
}

// WithLatency adds a fixed delay before every answer, to model the network
// and upstream processing time in benchmarks. It honours request cancellation.
func WithLatency(d time.Duration) Option {
	return func(c *config) { c.latency = d }
}

// WithCertificate serves TLS with cert instead of httptest's RSA-2048
// certificate (cmd/bench: a real Space signs on its own hardware, not on
// the cores the function under test runs on).
func WithCertificate(cert tls.Certificate) Option {
	return func(c *config) { c.cert = &cert }
}

// WithMaxPageSize caps the list's page size at n (default 1000, Twilio's
// maximum), as an upstream that pages smaller than asked would.
func WithMaxPageSize(n int) Option {
	return func(c *config) { c.maxPage = n }
}

// Server is a running sandbox. All its methods are safe for concurrent use.
type Server struct {
	ts      *httptest.Server
	latency time.Duration
	maxPage int

	mu        sync.Mutex
	projectID string
	token     string
	confs     map[string]*conference
	faults    []Fault
	perPath   map[string]int64

	requests    atomic.Int64
	connections atomic.Int64
}

type conference struct {
	sid          string
	friendlyName string
	order        []string // call SIDs in insertion order
	participants map[string]Participant
}

// New starts a sandbox on a random 127.0.0.1 port, serving HTTPS with
// httptest's self-signed certificate. Close it when done.
func New(opts ...Option) *Server {
	cfg := config{projectID: ProjectID, token: APIToken, confs: Seed(), maxPage: maxPageSize}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{
		latency:   cfg.latency,
		maxPage:   max(cfg.maxPage, 1),
		projectID: cfg.projectID,
		token:     cfg.token,
		confs:     make(map[string]*conference),
		perPath:   make(map[string]int64),
	}
	for _, c := range cfg.confs {
		for _, p := range c.Participants {
			s.addLocked(c.Sid, c.FriendlyName, p)
		}
		if len(c.Participants) == 0 {
			s.conferenceLocked(c.Sid, c.FriendlyName)
		}
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.connections.Add(1)
		}
	}
	// TLS handshake and hijack noise is expected in fault tests.
	s.ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.cert != nil {
		s.ts.TLS = &tls.Config{Certificates: []tls.Certificate{*cfg.cert}}
	}
	s.ts.StartTLS()
	return s
}

// URL returns the sandbox's base URL, https://127.0.0.1:port.
func (s *Server) URL() string { return s.ts.URL }

// Host returns host:port (127.0.0.1:port), the value to use as a secret's space_host.
func (s *Server) Host() string { return strings.TrimPrefix(s.ts.URL, "https://") }

// Client returns an *http.Client that trusts the sandbox's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the sandbox's certificate PEM-encoded.
func (s *Server) Certificate() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ts.Certificate().Raw})
}

// WriteCACert writes the sandbox's certificate, PEM-encoded, to path, so that
// a separate process can trust it (SSL_CERT_FILE). Unless WithCertificate
// is given, every httptest TLS server in this process uses the same
// certificate.
func (s *Server) WriteCACert(path string) error {
	if err := os.WriteFile(path, s.Certificate(), 0o600); err != nil {
		return fmt.Errorf("sandbox: write CA certificate: %w", err)
	}
	return nil
}

// Close shuts the sandbox down, closing open connections.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// Credentials returns the project ID and the API token currently accepted.
func (s *Server) Credentials() (projectID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projectID, s.token
}

// RotateToken makes newToken the only accepted API token: requests with the
// previous one then get 401 (key rotation).
func (s *Server) RotateToken(newToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = newToken
}

// AddParticipant adds p to the conference conferenceSid, creating the
// conference if needed, or replaces the participant with the same CallSid.
// Empty dates are set to the current time.
func (s *Server) AddParticipant(conferenceSid string, p Participant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(conferenceSid, "", p)
}

// RemoveParticipant removes a participant (it left the conference): Retrieve
// then answers 404. It reports whether the participant was present.
func (s *Server) RemoveParticipant(conferenceSid, callSid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.confs[strings.ToLower(conferenceSid)]
	if !ok {
		return false
	}
	key := strings.ToLower(callSid)
	if _, ok := c.participants[key]; !ok {
		return false
	}
	delete(c.participants, key)
	c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == key })
	return true
}

// Participant returns a copy of the stored participant.
func (s *Server) Participant(conferenceSid, callSid string) (Participant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.confs[strings.ToLower(conferenceSid)]
	if !ok {
		return Participant{}, false
	}
	p, ok := c.participants[strings.ToLower(callSid)]
	return p.clone(), ok
}

// Conferences returns a deep copy of the sandbox's current conferences.
func (s *Server) Conferences() []Conference {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conference, 0, len(s.confs))
	for _, c := range s.confs {
		conf := Conference{Sid: c.sid, FriendlyName: c.friendlyName}
		for _, k := range c.order {
			conf.Participants = append(conf.Participants, c.participants[k].clone())
		}
		out = append(out, conf)
	}
	slices.SortFunc(out, func(a, b Conference) int { return strings.Compare(a.Sid, b.Sid) })
	return out
}

// ParticipantJSON returns the body the sandbox answers for a participant, as
// a successful Retrieve would.
func (s *Server) ParticipantJSON(conferenceSid, callSid string) ([]byte, bool) {
	s.mu.Lock()
	projectID := s.projectID
	s.mu.Unlock()
	p, ok := s.Participant(conferenceSid, callSid)
	if !ok {
		return nil, false
	}
	return RenderParticipant(projectID, conferenceSid, p), true
}

// Requests returns the number of requests received, faulted ones included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// RequestsFor returns the number of requests received for a URL path; a
// trailing ".json" is ignored on both sides, so ParticipantPath's result
// counts requests made with and without the suffix.
func (s *Server) RequestsFor(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perPath[strings.TrimSuffix(path, ".json")]
}

// Connections returns the number of TCP connections accepted so far.
func (s *Server) Connections() int64 { return s.connections.Load() }

// ParticipantPath returns the Retrieve a Participant path (without the .json
// suffix) for the given ids.
func ParticipantPath(accountSid, conferenceSid, callSid string) string {
	return BasePath + "/Accounts/" + accountSid + "/Conferences/" + conferenceSid + "/Participants/" + callSid
}

// RenderParticipant renders p as SignalWire does: the 13 documented fields in
// the reference's order, then p.Extra's other fields sorted by name. An
// Extra field with a documented name replaces that field's value, as sent:
// SignalWire's sloppy values ("muted":"TRUE", a number for a date) in place.
func RenderParticipant(accountSid, conferenceSid string, p Participant) []byte {
	var toCoach any
	if p.CallSidToCoach != "" {
		toCoach = p.CallSidToCoach
	}
	fields := []struct {
		name  string
		value any
	}{
		{"account_sid", accountSid}, {"call_sid", p.CallSid}, {"call_sid_to_coach", toCoach},
		{"coaching", p.Coaching}, {"conference_sid", conferenceSid}, {"date_created", p.DateCreated},
		{"date_updated", p.DateUpdated}, {"end_conference_on_exit", p.EndConferenceOnExit}, {"hold", p.Hold},
		{"muted", p.Muted}, {"start_conference_on_enter", p.StartConferenceOnEnter}, {"status", p.Status},
		{"uri", ParticipantPath(accountSid, conferenceSid, p.CallSid) + ".json"},
	}
	extra := maps.Clone(p.Extra)
	var buf bytes.Buffer
	member := func(name string, value any) {
		if buf.Len() == 0 {
			buf.WriteByte('{')
		} else {
			buf.WriteByte(',')
		}
		buf.Write(mustJSON(name))
		buf.WriteByte(':')
		buf.Write(mustJSON(value))
	}
	for _, f := range fields {
		if v, ok := extra[f.name]; ok {
			f.value = v
			delete(extra, f.name)
		}
		member(f.name, f.value)
	}
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		member(k, extra[k])
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// ErrorBody returns a SignalWire error body: {"code","message","more_info","status"}.
func ErrorBody(status, code int, message string) []byte {
	return mustJSON(struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
		Status   int    `json:"status"`
	}{code, message, MoreInfo, status})
}

// mustJSON marshals values that cannot fail to marshal (strings, bools,
// plain structs, and the JSON-compatible values of Participant.Extra).
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

func (s *Server) conferenceLocked(sid, friendlyName string) *conference {
	key := strings.ToLower(sid)
	c, ok := s.confs[key]
	if !ok {
		c = &conference{sid: sid, friendlyName: friendlyName, participants: make(map[string]Participant)}
		s.confs[key] = c
	}
	return c
}

func (s *Server) addLocked(conferenceSid, friendlyName string, p Participant) {
	c := s.conferenceLocked(conferenceSid, friendlyName)
	now := time.Now().UTC().Format(time.RFC1123Z)
	if p.DateCreated == "" {
		p.DateCreated = now
	}
	if p.DateUpdated == "" {
		p.DateUpdated = p.DateCreated
	}
	key := strings.ToLower(p.CallSid)
	if _, exists := c.participants[key]; !exists {
		c.order = append(c.order, key)
	}
	c.participants[key] = p.clone()
}

// serveHTTP counts the request, applies the base latency and the next queued
// fault, then answers normally (see answer).
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	s.perPath[strings.TrimSuffix(r.URL.Path, ".json")]++
	fault, faulted := s.nextFaultLocked()
	s.mu.Unlock()

	if !sleep(r, s.latency) {
		return
	}
	if faulted {
		s.applyFault(w, r, fault)
		return
	}
	status, header, body := s.answer(r)
	writeResponse(w, status, header, body)
}

// answer computes the normal (fault-free) response to r.
func (s *Server) answer(r *http.Request) (int, http.Header, []byte) {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	account, conf, call, ok := parsePath(r.URL.Path)
	if !ok {
		return http.StatusNotFound, h, notFound(r.URL.Path)
	}
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		return http.StatusMethodNotAllowed, h, ErrorBody(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
			"Method "+r.Method+" not allowed on "+r.URL.Path)
	}

	s.mu.Lock()
	projectID, token := s.projectID, s.token
	var (
		p     Participant
		found bool
	)
	if c, ok := s.confs[strings.ToLower(conf)]; ok {
		p, found = c.participants[strings.ToLower(call)]
		p = p.clone()
	}
	s.mu.Unlock()

	user, pass, hasAuth := r.BasicAuth()
	if !hasAuth || !equal(user, projectID) || !equal(pass, token) || !strings.EqualFold(account, projectID) {
		h.Set("WWW-Authenticate", `Basic realm="SignalWire"`)
		return http.StatusUnauthorized, h, ErrorBody(http.StatusUnauthorized, CodeAuthentication,
			"Authentication Error - invalid username")
	}
	if call == "" {
		return s.list(r, h, account, conf)
	}
	if !found {
		return http.StatusNotFound, h, notFound(r.URL.Path)
	}
	return http.StatusOK, h, RenderParticipant(projectID, conf, p)
}

func notFound(path string) []byte {
	return ErrorBody(http.StatusNotFound, CodeNotFound, "The requested resource "+path+" was not found")
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// parsePath splits a participant path into its ids, or a list path into
// its ids and an empty call.
func parsePath(path string) (account, conf, call string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, ".json"), BasePath+"/Accounts/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	if (len(parts) != 4 && len(parts) != 5) || parts[1] != "Conferences" || parts[3] != "Participants" {
		return "", "", "", false
	}
	if len(parts) == 5 {
		if call = parts[4]; call == "" {
			return "", "", "", false
		}
	}
	account, conf = parts[0], parts[2]
	return account, conf, call, account != "" && conf != ""
}

func writeResponse(w http.ResponseWriter, status int, header http.Header, body []byte) {
	for k, v := range header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sleep waits d or until the request is cancelled; it reports whether the
// full delay elapsed.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

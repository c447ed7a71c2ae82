package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/signalwire"
)

const webhookRoute = "/webhooks/signalwire"

// Request is an HTTP request of any HTTP trigger, as package trigger translates it.
type Request struct {
	Method     string
	Path       string            // raw, still percent-encoded
	PathParams map[string]string // API Gateway's route parameters
	Headers    map[string]string // lower-case names
	Host       string            // the domain name the caller used
	// For signature checks, the paths and other query strings the caller may
	// have used (a REST API: with and without its stage, every query order).
	URLPaths      []string
	RawQuery      string
	QueryVariants []string
	Body          string
	Base64        bool
}

// Header returns a header by case-insensitive name.
func (r Request) Header(name string) string { return r.Headers[strings.ToLower(name)] }

// Response is the HTTP answer, translated back by the trigger package.
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// Routes answers the function's HTTP routes: the read routes (App) and the webhook route.
type Routes struct {
	*App  // Participant and Participants, for the direct invocation
	hooks *webhooks
}

// NewRoutes returns the routes of a and hooks (nil: the webhook route is a 404).
func NewRoutes(a *App, hooks *webhooks) *Routes { return &Routes{App: a, hooks: hooks} }

// Handle routes an HTTP request to the read or the webhook route; a HEAD
// answer is the GET answer without its body (RFC 9110, 9.3.2).
func (rt *Routes) Handle(ctx context.Context, r Request) Response {
	resp := rt.route(ctx, r)
	if r.Method == http.MethodHead {
		resp.Body = nil
	}
	return resp
}

func (rt *Routes) route(ctx context.Context, r Request) Response {
	if ref, list, ok := readRoute(r); ok {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return methodNotAllowed("GET, HEAD")
		}
		if list {
			return rt.list(ctx, ref, r.RawQuery)
		}
		p, err := rt.Participant(ctx, ref)
		return rt.jsonResponse(ctx, p, err)
	}
	if strings.HasSuffix(r.Path, webhookRoute) {
		if r.Method != http.MethodPost {
			return methodNotAllowed("POST")
		}
		if rt.hooks == nil {
			return ProblemResponse(newProblem(problemRouteNotFound, http.StatusNotFound, "the webhook route is not enabled"))
		}
		return rt.hooks.Handle(ctx, r)
	}
	return ProblemResponse(newProblem(problemRouteNotFound, http.StatusNotFound,
		"no route for "+r.Method+" "+obs.Truncate(r.Path, 200)+"; use GET /accounts/{account_sid}/conferences/{conference_sid}/participants[/{call_sid}] or POST "+webhookRoute))
}

// list answers the list route, filtered by the optional muted and hold.
func (a *App) list(ctx context.Context, ref signalwire.ParticipantRef, rawQuery string) Response {
	var f signalwire.ListFilter
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return a.errorResponse(ctx, BadRequest("the query string is malformed"))
	}
	for name, dst := range map[string]**bool{"muted": &f.Muted, "hold": &f.Hold} {
		if vs, ok := q[name]; ok {
			if len(vs) != 1 || (vs[0] != "true" && vs[0] != "false") {
				p := BadRequest(name + " must be true or false, once")
				p.Field = name
				return a.errorResponse(ctx, p)
			}
			b := vs[0] == "true"
			*dst = &b
		}
	}
	l, err := a.Participants(ctx, ref, f)
	return a.jsonResponse(ctx, l, err)
}

// jsonResponse answers v as JSON, or err as a problem.
func (a *App) jsonResponse(ctx context.Context, v any, err error) Response {
	var body []byte
	if err == nil {
		body, err = EncodeJSON(v)
	}
	if err != nil {
		return a.errorResponse(ctx, err)
	}
	return Response{Status: http.StatusOK, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
}

// MaxAnswerBytes bounds every answer: Lambda refuses a synchronous response
// over 6 MB and the caller would get a generic error instead of a problem.
const MaxAnswerBytes = 6_000_000

// EncodeJSON marshals v without escaping <, > and & (safe in JSON, and
// escaping multiplies them by six).
func EncodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// AnswerTooLarge is the 502 problem replacing an answer over MaxAnswerBytes.
func AnswerTooLarge(size int) Problem {
	return newProblem(problemUpstreamError, http.StatusBadGateway, fmt.Sprintf("the answer would be %d bytes, over Lambda's response limit, and is never sent in part; SignalWire's data is not usable (a list can be narrowed with muted or hold)", size))
}

// errorResponse logs a failure (LogProblem) and renders it.
func (a *App) errorResponse(ctx context.Context, err error) Response {
	return ProblemResponse(LogProblem(ctx, a.log, "request failed", err))
}

// LogProblem logs err's problem (ProblemFor) as msg, at error level for a
// 5xx, else info (the caller's input can never be processed), and returns it.
func LogProblem(ctx context.Context, log *slog.Logger, msg string, err error) Problem {
	p := ProblemFor(err)
	level := slog.LevelInfo
	if p.Status >= 500 {
		level = slog.LevelError
	}
	log.Log(ctx, level, msg, "status", p.Status, "problem", p.Type, "error", err.Error())
	return p
}

// ProblemResponse renders p as an application/problem+json response.
func ProblemResponse(p Problem) Response {
	h := map[string]string{"Content-Type": problemContentType}
	if p.RetryAfterSeconds > 0 {
		h["Retry-After"] = strconv.Itoa(p.RetryAfterSeconds)
	}
	body, _ := json.Marshal(p) // every field is a plain string or int
	return Response{Status: p.Status, Headers: h, Body: body}
}

// methodNotAllowed answers 405 with the Allow header RFC 9110 requires.
func methodNotAllowed(allow string) Response {
	r := ProblemResponse(newProblem(problemMethodNotAllowed, http.StatusMethodNotAllowed, "this route accepts "+allow+" only"))
	r.Headers["Allow"] = allow
	return r
}

// readRoute recognises the read and list (list true, no CallSID) routes: API
// Gateway's path parameters, else a path ending in accounts/{a}/conferences/
// {c}/participants[/{p}[/]]. Segments stay encoded, so an encoded slash or
// dot segment fails SID validation instead of changing the upstream path.
func readRoute(r Request) (ref signalwire.ParticipantRef, list, ok bool) {
	pp := r.PathParams
	if a, c, p := pp["account_sid"], pp["conference_sid"], pp["call_sid"]; a != "" && c != "" {
		return signalwire.ParticipantRef{AccountSID: a, ConferenceSID: c, CallSID: p}, p == "", true
	}
	segs := strings.Split(strings.TrimSuffix(r.Path, "/"), "/")
	n := len(segs)
	if n >= 6 && segs[n-6] == "accounts" && segs[n-4] == "conferences" && segs[n-2] == "participants" {
		return signalwire.ParticipantRef{AccountSID: segs[n-5], ConferenceSID: segs[n-3], CallSID: segs[n-1]}, false, true
	}
	// No trailing slash: ".../participants/" is a read without a call SID.
	if n >= 5 && segs[n-5] == "accounts" && segs[n-3] == "conferences" && segs[n-1] == "participants" && !strings.HasSuffix(r.Path, "/") {
		return signalwire.ParticipantRef{AccountSID: segs[n-4], ConferenceSID: segs[n-2]}, true, true
	}
	return signalwire.ParticipantRef{}, false, false
}

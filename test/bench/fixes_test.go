package bench

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/participant"
	"github.com/signalwire-lambda/participants/internal/signalwire"
	"github.com/signalwire-lambda/participants/internal/trigger"
	"github.com/signalwire-lambda/participants/internal/webhook"
	"github.com/signalwire-lambda/participants/test/sandbox"
)

// ---------------------------------------------------------------------------
// 1. Event decoding: trigger.Detect's probe decode, then the adapter's full
// decode of events.APIGatewayV2HTTPRequest, then lowerHeaders' copy — against
// one decode into a struct holding only what the adapters use.

// request is what the HTTP adapters hand the core (app.Request's fields).
type request struct {
	Method, Path, Host, RawQuery, Body string
	PathParams, Headers                map[string]string
	Base64                             bool
}

// currentDecode is what trigger.Router.Invoke does for an HTTP API event today.
func currentDecode(payload []byte) (string, request, error) {
	kind := trigger.Detect(payload)
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &e); err != nil {
		return kind, request{}, err
	}
	h := make(map[string]string, len(e.Headers)) // lowerHeaders(e.Headers, nil)
	for k, v := range e.Headers {
		h[strings.ToLower(k)] = v
	}
	return kind, request{Method: e.RequestContext.HTTP.Method, Path: e.RawPath, PathParams: e.PathParameters, Headers: h,
		Host: e.RequestContext.DomainName, RawQuery: e.RawQueryString, Body: e.Body, Base64: e.IsBase64Encoded}, nil
}

// anyEvent is the prototype: every field any adapter reads, decoded once.
// (The SQS adapter would take Records from it too, and the direct ones
// their three SIDs or the job.)
type anyEvent struct {
	Version           string              `json:"version"`
	HTTPMethod        string              `json:"httpMethod"`
	RawPath           string              `json:"rawPath"`
	RawQueryString    string              `json:"rawQueryString"`
	Path              string              `json:"path"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	PathParameters    map[string]string   `json:"pathParameters"`
	QueryParameters   map[string]string   `json:"queryStringParameters"`
	MultiValueQuery   map[string][]string `json:"multiValueQueryStringParameters"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded"`
	RequestContext    struct {
		DomainName string `json:"domainName"`
		Path       string `json:"path"`
		HTTP       *struct {
			Method string `json:"method"`
		} `json:"http"`
	} `json:"requestContext"`
	Records       []events.SQSMessage `json:"Records"`
	AccountSID    *string             `json:"account_sid"`
	ConferenceSID string              `json:"conference_sid"`
	CallSID       string              `json:"call_sid"`
	WebhookJob    json.RawMessage     `json:"signalwire_webhook"`
}

// kind is trigger.Detect's decision, on the decoded event.
func (e *anyEvent) kind() string {
	switch {
	case len(e.Records) > 0 && e.Records[0].EventSource == "aws:sqs":
		return trigger.KindSQS
	case e.Version == "2.0" && e.RequestContext.HTTP != nil:
		if strings.Contains(e.RequestContext.DomainName, ".lambda-url.") {
			return trigger.KindFunctionURL
		}
		return trigger.KindHTTPAPI
	case e.HTTPMethod != "":
		return trigger.KindRESTAPI
	case e.AccountSID != nil:
		return trigger.KindDirect
	case len(e.WebhookJob) > 0:
		return trigger.KindWebhookJob
	}
	return trigger.KindUnknown
}

// lowerIfNeeded returns h itself when every name is lower case already (API
// Gateway's payload 2.0 and Function URLs lower-case them), else a copy.
func lowerIfNeeded(h map[string]string) map[string]string {
	for k := range h {
		if strings.ToLower(k) != k {
			out := make(map[string]string, len(h))
			for k, v := range h {
				out[strings.ToLower(k)] = v
			}
			return out
		}
	}
	return h
}

func prototypeDecode(payload []byte) (string, request, error) {
	var e anyEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return trigger.KindUnknown, request{}, err
	}
	r := request{Path: e.RawPath, PathParams: e.PathParameters, Headers: lowerIfNeeded(e.Headers),
		Host: e.RequestContext.DomainName, RawQuery: e.RawQueryString, Body: e.Body, Base64: e.IsBase64Encoded}
	if e.RequestContext.HTTP != nil {
		r.Method = e.RequestContext.HTTP.Method
	}
	return e.kind(), r, nil
}

func TestPrototypeDecodeMatchesDetectAndAdapter(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	for _, f := range files {
		if filepath.Base(f) == "env.json" {
			continue
		}
		payload := readFile(t, f)
		var e anyEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if got, want := e.kind(), trigger.Detect(payload); got != want {
			t.Errorf("%s: kind %s, Detect says %s", f, got, want)
		}
		if trigger.Detect(payload) != trigger.KindHTTPAPI {
			continue
		}
		_, want, err1 := currentDecode(payload)
		_, got, err2 := prototypeDecode(payload)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: prototype %+v (%v), current %+v (%v)", f, got, err2, want, err1)
		}
	}
}

func BenchmarkEventDecode(b *testing.B) {
	for _, name := range []string{"http-api-read.json", "webhook-participant-join.json"} {
		payload := readFile(b, filepath.Join("..", "..", "events", name))
		b.Run(strings.TrimSuffix(name, ".json")+"/current", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := currentDecode(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(strings.TrimSuffix(name, ".json")+"/single-decode", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := prototypeDecode(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ---------------------------------------------------------------------------
// 2. participant.ParseDate: net/mail.ParseDate tries its layouts in order,
// those without a weekday first, so SignalWire's "Mon, 24 Sep 2018 21:00:00
// +0000" fails 24 time.Parse calls (each allocating a *time.ParseError)
// before one matches. A first try with time.RFC1123Z, the format SignalWire
// writes, avoids all of them.

func parseDateFast(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC1123Z, s); err == nil {
		return t.UTC(), nil
	}
	return participant.ParseDate(s)
}

var dates = []string{
	"Mon, 24 Sep 2018 21:00:00 +0000", "Tue, 25 Sep 2018 09:30:00 +0200", "Mon, 24 Sept 2018 21:02:00 +0000",
	"24 Sep 2018 21:00:00 +0000", " Mon, 24 Sep 2018 21:00:00 +0000 ", "Monday, 24 September 2018 21:00:00 GMT",
	"Mon, 24 Sep 2018 21:00 +0000", "2018-09-24T21:00:00Z", "Mon, 4 Sep 2018 21:00:00 -0700", "garbage", "",
}

func TestParseDateFastPathAgrees(t *testing.T) {
	for _, s := range dates {
		want, werr := participant.ParseDate(s)
		got, gerr := parseDateFast(s)
		if !got.Equal(want) || (werr == nil) != (gerr == nil) || got.Location() != want.Location() {
			t.Errorf("%q: fast %v (%v), current %v (%v)", s, got, gerr, want, werr)
		}
	}
}

func BenchmarkParseDate(b *testing.B) {
	const s = "Mon, 24 Sep 2018 21:00:00 +0000"
	b.Run("current", func(b *testing.B) {
		for b.Loop() {
			if _, err := participant.ParseDate(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rfc1123z-first", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseDateFast(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 3. EMF metrics: per invocation a Batch with a map of groups, each with two
// maps, then a map[string]any line marshalled by reflection. The prototype
// builds the constant parts of a one-metric line once and appends the value
// and timestamp.

// emfLine is a prebuilt one-metric EMF line (Service dimension only).
type emfLine struct{ head, mid, tail []byte }

func newEMFLine(namespace, service, metric, unit string) emfLine {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	// encoding/json sorts map keys: Service, the metric name, _aws (byte order).
	return emfLine{
		head: []byte(`{"Service":` + q(service) + `,` + q(metric) + `:`),
		mid:  []byte(`,"_aws":{"Timestamp":`),
		tail: []byte(`,"CloudWatchMetrics":[{"Namespace":` + q(namespace) + `,"Dimensions":[["Service"]],"Metrics":[{"Name":` +
			q(metric) + `,"Unit":` + q(unit) + `}]}]}}` + "\n"),
	}
}

// appendJSONFloat formats like encoding/json for finite values.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func (l emfLine) append(b []byte, value float64, ts int64) []byte {
	b = append(b, l.head...)
	b = appendJSONFloat(b, value)
	b = append(b, l.mid...)
	b = strconv.AppendInt(b, ts, 10)
	return append(b, l.tail...)
}

var timestamp = regexp.MustCompile(`"Timestamp":\d+`)

func TestEMFPrototypeWritesTheSameLine(t *testing.T) {
	var buf bytes.Buffer
	m := obs.NewMetrics(&buf, "SignalWireParticipants", "signalwire-participants")
	batch := m.NewBatch()
	batch.Add(obs.MetricUpstreamLatency, obs.UnitMilliseconds, 0.523)
	if err := m.Flush(batch); err != nil {
		t.Fatal(err)
	}
	l := newEMFLine("SignalWireParticipants", "signalwire-participants", obs.MetricUpstreamLatency, obs.UnitMilliseconds)
	got := string(l.append(nil, 0.523, 0))
	want := timestamp.ReplaceAllString(buf.String(), `"Timestamp":0`)
	if got != want {
		t.Errorf("prototype:\n%s\ncurrent:\n%s", got, want)
	}
}

func BenchmarkEMF(b *testing.B) {
	b.Run("current", func(b *testing.B) {
		m := obs.NewMetrics(io.Discard, "SignalWireParticipants", "signalwire-participants")
		for b.Loop() {
			batch := m.NewBatch()
			batch.Add(obs.MetricUpstreamLatency, obs.UnitMilliseconds, 0.523)
			if err := m.Flush(batch); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prebuilt-line", func(b *testing.B) {
		l := newEMFLine("SignalWireParticipants", "signalwire-participants", obs.MetricUpstreamLatency, obs.UnitMilliseconds)
		var buf []byte
		for b.Loop() {
			buf = l.append(buf[:0], 0.523, time.Now().UnixMilli())
			_, _ = io.Discard.Write(buf)
		}
	})
}

// ---------------------------------------------------------------------------
// 4. signalwire.DecodeParticipant builds two maps of field pointers per call
// and runs json.Unmarshal once per string field. The prototype dispatches
// with a switch and takes plain strings (no escapes) straight from the
// quotes.

func decodeParticipantFast(body []byte) (*signalwire.Participant, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return signalwire.DecodeParticipant(body) // the same error as today
	}
	p := &signalwire.Participant{}
	for name, value := range raw {
		var str **string
		var boolean **bool
		switch name {
		case "account_sid":
			str = &p.AccountSID
		case "call_sid":
			str = &p.CallSID
		case "call_sid_to_coach":
			str = &p.CallSIDToCoach
		case "conference_sid":
			str = &p.ConferenceSID
		case "date_created":
			str = &p.DateCreated
		case "date_updated":
			str = &p.DateUpdated
		case "status":
			str = &p.Status
		case "uri":
			str = &p.URI
		case "coaching":
			boolean = &p.Coaching
		case "end_conference_on_exit":
			boolean = &p.EndConferenceOnExit
		case "muted":
			boolean = &p.Muted
		case "hold":
			boolean = &p.Hold
		case "start_conference_on_enter":
			boolean = &p.StartConferenceOnEnter
		default:
			if p.Extra == nil {
				p.Extra = make(map[string]json.RawMessage)
			}
			p.Extra[name] = value
			continue
		}
		v := bytes.TrimSpace(value)
		if string(v) == "null" {
			continue
		}
		if str != nil {
			if s, ok := fastString(v); ok {
				*str = &s
				continue
			}
		} else if b, ok := fastBool(v); ok {
			*boolean = &b
			continue
		}
		if p.Invalid == nil {
			p.Invalid = make(map[string]json.RawMessage)
		}
		p.Invalid[name] = value
	}
	return p, nil
}

// fastString unquotes a JSON string, without json.Unmarshal when it has no
// escapes or control characters.
func fastString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) && !bytes.ContainsFunc(inner, func(r rune) bool { return r < 0x20 }) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func fastBool(v []byte) (bool, bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	s, ok := fastString(v)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func participantBodies() [][]byte {
	var out [][]byte
	for _, c := range sandbox.Seed() {
		for _, p := range c.Participants {
			out = append(out, sandbox.RenderParticipant(sandbox.ProjectID, c.Sid, p))
		}
	}
	return append(out,
		[]byte(`{"call_sid":"a\u00e9\"b","muted":"TRUE","hold":" false ","coaching":1,"status":null,"uri":7,"extra":{"x":[1]}}`),
		[]byte("\xef\xbb\xbf{\"status\":\"in-progress\",\"date_created\":\"Mon, 24 Sep 2018 21:00:00 +0000\"}"),
		[]byte(`{"status":"bad\u0001","muted":"yes"}`))
}

func TestDecodeParticipantPrototypeAgrees(t *testing.T) {
	for _, body := range participantBodies() {
		want, werr := signalwire.DecodeParticipant(body)
		got, gerr := decodeParticipantFast(body)
		if !reflect.DeepEqual(got, want) || (werr == nil) != (gerr == nil) {
			t.Errorf("%s:\nprototype %#v (%v)\ncurrent %#v (%v)", body, got, gerr, want, werr)
		}
	}
}

func BenchmarkDecodeParticipant(b *testing.B) {
	body := sandbox.RenderParticipant(sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.Seed()[0].Participants[0])
	b.Run("current", func(b *testing.B) {
		for b.Loop() {
			if _, err := signalwire.DecodeParticipant(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("switch+fast-unquote", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeParticipantFast(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 5. The normalized participant through json.Marshal (reflection), as the
// read route answers it, against a hand-written appender.

func appendParticipant(b []byte, p *participant.Participant) []byte {
	str := func(key string, v *string) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		if v == nil {
			b = append(b, "null"...)
			return
		}
		q, _ := json.Marshal(*v) // strings may need escaping; kept simple here
		b = append(b, q...)
	}
	boolean := func(key string, v *bool) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		switch {
		case v == nil:
			b = append(b, "null"...)
		case *v:
			b = append(b, "true"...)
		default:
			b = append(b, "false"...)
		}
	}
	raw := func(key string, m map[string]json.RawMessage) {
		b = append(b, ',', '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		if m == nil {
			b = append(b, "null"...)
			return
		}
		q, _ := json.Marshal(m)
		b = append(b, q...)
	}
	b = append(b, `{"schema_version":`...)
	b = strconv.AppendInt(b, int64(p.SchemaVersion), 10)
	str("account_sid", p.AccountSID)
	str("conference_sid", p.ConferenceSID)
	str("call_sid", p.CallSID)
	str("call_sid_to_coach", p.CallSIDToCoach)
	boolean("coaching", p.Coaching)
	str("status", p.Status)
	boolean("muted", p.Muted)
	boolean("hold", p.Hold)
	boolean("end_conference_on_exit", p.EndConferenceOnExit)
	boolean("start_conference_on_enter", p.StartConferenceOnEnter)
	str("date_created", p.DateCreated)
	str("date_updated", p.DateUpdated)
	str("uri", p.URI)
	raw("extra", p.Extra)
	raw("unparsed", p.Unparsed)
	return append(b, '}')
}

func normalizedParticipant(tb testing.TB) participant.Participant {
	body := sandbox.RenderParticipant(sandbox.ProjectID, sandbox.ConferenceStandup, sandbox.Seed()[0].Participants[0])
	p, err := signalwire.DecodeParticipant(body)
	if err != nil {
		tb.Fatal(err)
	}
	return participant.Normalize(p)
}

func TestAppendParticipantAgrees(t *testing.T) {
	p := normalizedParticipant(t)
	want, _ := json.Marshal(p)
	if got := appendParticipant(nil, &p); !bytes.Equal(got, want) {
		t.Errorf("prototype %s\ncurrent %s", got, want)
	}
}

func BenchmarkMarshalParticipant(b *testing.B) {
	p := normalizedParticipant(b)
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("appender", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendParticipant(buf[:0], &p)
		}
	})
}

// ---------------------------------------------------------------------------
// 6. The webhook path: app.Webhooks.ServeHTTP parses and normalizes the form,
// then Process (through Accept) parses and normalizes it again from the Job;
// Source.set and convert look each key up in space-separated lists with
// strings.FieldsSeq (up to six scans per parameter); the envelope goes
// through json.Marshal, which re-validates and compacts what
// Envelope.MarshalJSON (itself json.Marshal of a struct holding a
// Source.MarshalJSON and a RawMessage) already produced.

func joinForm(tb testing.TB) []byte {
	var e struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(readFile(tb, filepath.Join("..", "..", "events", "webhook-participant-join.json")), &e); err != nil {
		tb.Fatal(err)
	}
	form, err := base64.StdEncoding.DecodeString(e.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return form
}

// BenchmarkWebhookNormalize is the cost of one ParseForm + Normalize pass:
// what passing the parsed Source from ServeHTTP to Process would save.
func BenchmarkWebhookNormalize(b *testing.B) {
	body := joinForm(b)
	for b.Loop() {
		form, err := webhook.ParseForm(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := webhook.Normalize(form, url.Values{}); err != nil {
			b.Fatal(err)
		}
	}
}

// inList is webhook's lookup (a copy); keyKinds the prototype, built once.
func inList(list, key string) bool {
	for w := range strings.FieldsSeq(list) {
		if w == key {
			return true
		}
	}
	return false
}

var keyKinds = func() map[string]byte {
	m := map[string]byte{}
	for kind, list := range map[byte]string{'b': webhook.BoolKeys, 'i': webhook.IntKeys, 't': webhook.TimeKeys} {
		for _, k := range strings.Fields(list) {
			m[k] = kind
		}
	}
	return m
}()

// BenchmarkKeyKind looks up every parameter of the join webhook the way
// Source.set and convert do (three lists in set, up to three in convert).
func BenchmarkKeyKind(b *testing.B) {
	keys := []string{"account_sid", "api_version", "call_sid", "coaching", "conference_sid", "end_conference_on_exit",
		"friendly_name", "hold", "muted", "sequence_number", "start_conference_on_enter", "status_callback_event", "timestamp"}
	b.Run("FieldsSeq-lists", func(b *testing.B) {
		n := 0
		// A b.N loop: inlining this range-over-func into a b.Loop body
		// crashes go1.26.8's compiler.
		for range b.N {
			for _, k := range keys {
				if inList(webhook.BoolKeys, k) || inList(webhook.IntKeys, k) || inList(webhook.TimeKeys, k) {
					n++
				}
				switch {
				case inList(webhook.BoolKeys, k), inList(webhook.IntKeys, k), inList(webhook.TimeKeys, k):
					n++
				}
			}
		}
		_ = n
	})
	b.Run("map-built-once", func(b *testing.B) {
		n := 0
		for b.Loop() {
			for _, k := range keys {
				if keyKinds[k] != 0 {
					n += 2
				}
			}
		}
		_ = n
	})
}

func envelope(tb testing.TB) webhook.Envelope {
	form, err := webhook.ParseForm(joinForm(tb))
	if err != nil {
		tb.Fatal(err)
	}
	src, err := webhook.Normalize(form, url.Values{})
	if err != nil {
		tb.Fatal(err)
	}
	env := webhook.NewEnvelope(src, time.Date(2026, 11, 26, 10, 15, 1, 0, time.UTC))
	p := normalizedParticipant(tb)
	env.Participant, _ = json.Marshal(p)
	env.ParticipantLookup = webhook.LookupFound
	return env
}

func TestEnvelopeMarshalJSONDirectAgrees(t *testing.T) {
	env := envelope(t)
	want, err1 := json.Marshal(env)
	got, err2 := env.MarshalJSON()
	if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
		t.Errorf("direct %s (%v)\njson.Marshal %s (%v)", got, err2, want, err1)
	}
}

func BenchmarkEnvelopeMarshal(b *testing.B) {
	env := envelope(b)
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MarshalJSON-direct", func(b *testing.B) {
		for b.Loop() {
			if _, err := env.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 7. Cold start: internal/config compiles its event bus pattern at package
// init; the bounded repetition {1,256} (twice) makes a large program
// (GODEBUG=inittrace=1 shows internal/config's init at ~1.1 ms and ~5,000
// allocations). A hand-written check costs nothing at init.

const busPattern = `^([A-Za-z0-9._\-/]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]{1,256})$`

func BenchmarkConfigInitRegexp(b *testing.B) {
	b.Run("busName-MustCompile", func(b *testing.B) {
		for b.Loop() {
			regexp.MustCompile(busPattern)
		}
	})
	b.Run("unbounded-plus-length-check", func(b *testing.B) {
		for b.Loop() {
			// The same language when combined with len checks on the name
			// part (1..256), which a validator does in code.
			regexp.MustCompile(`^([A-Za-z0-9._\-/]+|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/[A-Za-z0-9._\-/]+)$`)
		}
	})
}

func readFile(tb testing.TB, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

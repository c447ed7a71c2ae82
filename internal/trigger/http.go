package trigger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/signalwire-lambda/participants/internal/app"
	"github.com/signalwire-lambda/participants/internal/obs"
	"github.com/signalwire-lambda/participants/internal/webhook"
)

// serveV2 serves a decoded payload 2.0 event in its trigger's response type.
func (r *Router) serveV2(ctx context.Context, kind string, e *event) ([]byte, any, error) {
	req := app.Request{
		Method:   e.RequestContext.HTTP.Method,
		Path:     e.RawPath,
		Headers:  lowerHeaders(e.Headers, nil),
		Host:     e.RequestContext.DomainName,
		URLPaths: []string{e.RawPath},
		RawQuery: e.RawQueryString,
		Body:     e.Body,
		Base64:   e.IsBase64Encoded,
	}
	shape := func(resp app.Response) any {
		return events.LambdaFunctionURLResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: string(resp.Body)}
	}
	if kind != functionURL {
		req.PathParams, shape = e.PathParameters, v2Response
	}
	return r.answer(ctx, r.core.Handle(ctx, req), shape)
}

func v2Response(resp app.Response) any {
	return events.APIGatewayV2HTTPResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: string(resp.Body)}
}

// restAPI adapts a REST API (payload format 1.0) proxy event. It has only
// the decoded query parameters: a webhook's candidate query strings are
// rebuilt from them (webhook.QueryCandidates), names in the event's order.
func (r *Router) restAPI(ctx context.Context, payload []byte) ([]byte, any, error) {
	var e struct {
		events.APIGatewayProxyRequest
		Multi json.RawMessage `json:"multiValueQueryStringParameters"`
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		return r.badEvent(ctx, err)
	}
	names, q, err := restQuery(e.Multi, e.QueryStringParameters)
	if err != nil {
		return r.badEvent(ctx, err)
	}
	queries := []string{q.Encode()}
	if e.HTTPMethod == http.MethodPost {
		queries = webhook.QueryCandidates(names, q)
	}
	paths := []string{e.RequestContext.Path, e.Path}
	if e.RequestContext.Path == "" || e.RequestContext.Path == e.Path {
		paths = paths[1:]
	}
	resp := r.core.Handle(ctx, app.Request{
		Method:        e.HTTPMethod,
		Path:          e.Path,
		PathParams:    e.PathParameters,
		Headers:       lowerHeaders(e.Headers, e.MultiValueHeaders),
		Host:          e.RequestContext.DomainName,
		URLPaths:      paths,
		RawQuery:      queries[0],
		QueryVariants: queries[1:],
		Body:          e.Body,
		Base64:        e.IsBase64Encoded,
	})
	return r.answer(ctx, resp, func(resp app.Response) any {
		return events.APIGatewayProxyResponse{StatusCode: resp.Status, Headers: resp.Headers, Body: string(resp.Body)}
	})
}

// restQuery reads a REST API event's query parameters: multi (its raw
// multiValueQueryStringParameters) keeps the order of the names, single
// (queryStringParameters) adds the names multi lacks.
func restQuery(multi json.RawMessage, single map[string]string) ([]string, url.Values, error) {
	var names []string
	q := url.Values{}
	if len(multi) > 0 && string(multi) != "null" {
		dec := json.NewDecoder(bytes.NewReader(multi))
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil, nil, errors.New("multiValueQueryStringParameters is not an object")
		}
		for dec.More() {
			t, _ := dec.Token()
			name, _ := t.(string)
			var vs []string
			if err := dec.Decode(&vs); err != nil {
				return nil, nil, fmt.Errorf("multiValueQueryStringParameters: %w", err)
			}
			if !q.Has(name) {
				names, q[name] = append(names, name), vs
			}
		}
	}
	for k, v := range single {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	return names, q, nil
}

// answer renders resp in its trigger's shape. An answer over
// app.MaxAnswerBytes, which Lambda would refuse, becomes a 502 problem.
func (r *Router) answer(ctx context.Context, resp app.Response, shape func(app.Response) any) ([]byte, any, error) {
	out, err := app.EncodeJSON(shape(resp))
	if err == nil && len(out) > app.MaxAnswerBytes {
		r.log.ErrorContext(ctx, "answer over Lambda's response limit; a 502 problem replaces it", "bytes", len(out))
		resp = app.ProblemResponse(app.AnswerTooLarge(len(out)))
		out, err = app.EncodeJSON(shape(resp))
	}
	return out, resp.Status, err
}

// badEvent answers an event that looked like an HTTP trigger but did not
// decode: a 400 in the shape every HTTP trigger accepts.
func (r *Router) badEvent(ctx context.Context, err error) ([]byte, any, error) {
	r.log.WarnContext(ctx, "malformed event", "error", err.Error())
	return r.answer(ctx, app.ProblemResponse(app.BadRequest("the event does not match its trigger's format")), v2Response)
}

func lowerHeaders(single map[string]string, multi map[string][]string) map[string]string {
	h := make(map[string]string, len(single)+len(multi))
	for k, vs := range multi {
		if len(vs) > 0 {
			h[strings.ToLower(k)] = vs[0]
		}
	}
	for k, v := range single {
		h[strings.ToLower(k)] = v
	}
	return h
}

const (
	// sqsParallelism is the template's BatchSize: a batch is one round and
	// every message has the whole time (at 4, a batch of 10 with SignalWire
	// taking 4 s a lookup needed 12 s).
	sqsParallelism = 10
	// sqsMinMessageTime is the least time left for a message to be started
	// (more than app keeps to park what it leaves undone).
	sqsMinMessageTime = time.Second
)

// sqs processes a retry-queue batch and reports each failed message
// (ReportBatchItemFailures) by ctx's deadline: on "Task timed out", SQS
// would redeliver the whole batch.
func (r *Router) sqs(ctx context.Context, payload []byte) ([]byte, any, error) {
	var e events.SQSEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		// Lambda retries the whole batch, which is right: nothing was processed.
		return nil, "rejected", err
	}
	inv := obs.InvocationFrom(ctx)
	records := make([]*obs.Invocation, len(e.Records))
	for i, rec := range e.Records {
		records[i] = inv.Record(rec.MessageId)
	}
	errs := r.runRecords(ctx, e.Records, records)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, rec := range e.Records {
		if errs[i] != nil {
			r.log.WarnContext(obs.WithInvocation(ctx, records[i]), "retry message failed; it stays on the queue", "error", errs[i].Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	out, err := json.Marshal(resp)
	return out, map[string]int{"records": len(e.Records), "failed": len(resp.BatchItemFailures)}, err
}

// runRecords processes the records, sqsParallelism at a time (records[i] is
// record i's log identity), and returns their errors by the deadline: one
// still running then is errUnfinished, whatever it does later.
func (r *Router) runRecords(ctx context.Context, recs []events.SQSMessage, records []*obs.Invocation) []error {
	results := make([]error, len(recs)) // each written before its index is sent
	done := make(chan int, len(recs))   // never blocks a late finisher
	go func() {
		sem := make(chan struct{}, sqsParallelism)
		rounds := (len(recs) + sqsParallelism - 1) / sqsParallelism
		for i, rec := range recs {
			sem <- struct{}{}
			go func() {
				defer func() { <-sem }()
				results[i] = r.processRecord(obs.WithInvocation(ctx, records[i]), rec, rounds-i/sqsParallelism)
				done <- i
			}()
		}
	}()
	errs := slices.Repeat([]error{errUnfinished}, len(recs))
	var timeout <-chan time.Time
	if answerBy, ok := ctx.Deadline(); ok {
		// Messages honour their deadlines; this bounds the wait even if one
		// does not, inside the router's margin.
		timeout = time.After(time.Until(answerBy) + minMargin/4)
	}
	for range recs {
		select {
		case i := <-done:
			errs[i] = results[i]
		case <-timeout:
			return errs
		}
	}
	return errs
}

// processRecord processes one record, with a fair share of the time left
// over the roundsLeft rounds, at least sqsMinMessageTime.
func (r *Router) processRecord(ctx context.Context, rec events.SQSMessage, roundsLeft int) error {
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left < sqsMinMessageTime {
			return errNoTimeLeft
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, max(left/time.Duration(roundsLeft), sqsMinMessageTime))
		defer cancel()
	}
	if r.hooks == nil {
		return errNoRetryConsumer
	}
	n, _ := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]) // absent: 0, never the last receive
	return r.hooks.ProcessRetry(ctx, rec.Body, n)
}

var (
	errNoRetryConsumer = errors.New("no retry consumer is configured")
	errNoTimeLeft      = errors.New("not started: too little time left before the batch's deadline")
	errUnfinished      = errors.New("not finished before the batch's deadline")
)

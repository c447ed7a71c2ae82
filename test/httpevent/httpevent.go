// Package httpevent renders one HTTP request as each Lambda HTTP trigger
// event the function accepts: API Gateway HTTP API (payload 2.0), API
// Gateway REST API (payload 1.0 proxy) and Lambda Function URL, with
// aws-lambda-go's events types. The security and e2e tests share it.
package httpevent

import (
	"encoding/json"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
)

// Domain names the events carry.
const (
	APIDomain = "abc123def4.execute-api.us-east-1.amazonaws.com"
	URLDomain = "xyz789abcd1234efgh567ijk.lambda-url.us-east-1.on.aws"
)

// Request is one HTTP request, before it is rendered as a trigger event.
type Request struct {
	Method  string
	Path    string            // raw path, as the caller sent it
	Params  map[string]string // API Gateway route parameters (decoded)
	Headers map[string]string
	Query   string // raw query string
	Body    string
	Base64  bool // Body is base64-encoded
	// RouteKey is the HTTP API's route key; "$default" when empty.
	RouteKey string
}

// HTTPAPI renders r as an HTTP API (payload 2.0) event.
func (r Request) HTTPAPI() events.APIGatewayV2HTTPRequest {
	routeKey := r.RouteKey
	if routeKey == "" {
		routeKey = "$default"
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.Path, RawQueryString: r.Query,
		Headers: r.Headers, PathParameters: r.Params, Body: r.Body, IsBase64Encoded: r.Base64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: APIDomain, Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.Path},
		},
	}
}

// FunctionURL renders r as a Function URL event; Function URLs have no
// route parameters, so r.Params is dropped.
func (r Request) FunctionURL() events.LambdaFunctionURLRequest {
	return events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: r.Path, RawQueryString: r.Query, Headers: r.Headers, Body: r.Body, IsBase64Encoded: r.Base64,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: URLDomain,
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.Path},
		},
	}
}

// RESTAPI renders r as a REST API (payload 1.0) proxy event on stage Prod,
// with the query in both the single- and the multi-value maps (nil when
// there is no query).
func (r Request) RESTAPI() events.APIGatewayProxyRequest {
	var single map[string]string
	var multi map[string][]string
	if r.Query != "" {
		multi, _ = url.ParseQuery(r.Query) // a malformed pair is dropped, as API Gateway does
		single = make(map[string]string, len(multi))
		for k, vs := range multi {
			single[k] = vs[len(vs)-1]
		}
	}
	return events.APIGatewayProxyRequest{
		Path: r.Path, HTTPMethod: r.Method, Headers: r.Headers, PathParameters: r.Params,
		QueryStringParameters: single, MultiValueQueryStringParameters: multi,
		Body: r.Body, IsBase64Encoded: r.Base64,
		RequestContext: events.APIGatewayProxyRequestContext{DomainName: APIDomain, Stage: "Prod", Path: "/Prod" + r.Path, HTTPMethod: r.Method},
	}
}

// Shapes renders r in every HTTP trigger shape, as JSON, by shape name
// ("http-api", "rest-api", "function-url").
func (r Request) Shapes() (map[string][]byte, error) {
	out := make(map[string][]byte, 3)
	for name, ev := range map[string]any{"http-api": r.HTTPAPI(), "rest-api": r.RESTAPI(), "function-url": r.FunctionURL()} {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// The API's contract: openapi.yaml describes every route, served as is at
// /openapi.yaml and rendered at /docs; validateRequests holds every /v1/
// request to it before a handler sees it. TestSpecMatchesRoutes keeps the
// document and the routes Handler registers in step.

//go:embed openapi.yaml
var openAPIDocument []byte

//go:embed docs.html
var docsPage []byte

// specRoutes serves the OpenAPI document and the page that renders it. Both
// are open: no API key is needed to read how to use the API.
func (s *Server) specRoutes(e *echo.Echo) {
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", openAPIDocument)
	})
	e.GET("/docs", func(c echo.Context) error {
		return c.HTMLBlob(http.StatusOK, docsPage)
	})
}

// spec is the loaded, validated document and a router over its paths.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads and checks the embedded document once. It can only fail if
// openapi.yaml is broken, which the tests catch.
var loadSpec = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPIDocument)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	// Match requests on their path alone, whatever host and scheme the API
	// is reached at.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	return &spec{doc: doc, router: router}, nil
})

var validationOptions = openapi3filter.Options{
	// Authentication is the authenticate middleware's job.
	AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
	// One error, the first: the API names one field per answer.
	MultiError: false,
	// Validation checks the request; it never rewrites it.
	SkipSettingDefaults: true,
}

var bodylessValidationOptions = func() openapi3filter.Options {
	o := validationOptions
	o.ExcludeRequestBody = true
	return o
}()

// validateRequests checks every request under /v1/ against openapi.yaml:
// path and query parameters, headers and the JSON body (unknown fields,
// types, formats, patterns, required fields). A violation is a 400 naming
// the field, before any handler runs; the handlers keep their own checks
// (those the schema cannot express, and those that need the database or
// the invoice's workflow).
//
// A route the document does not describe passes untouched (Echo answers it,
// with a 404 when it has no such route); the webhooks are never checked here
// (their raw bodies are verified by signature, and must reach the handler
// byte for byte). A JSON body is read, as JSON whatever the Content-Type
// says (as the handlers read it), and put back for the handler; a body of
// another kind (a CSV upload) is left to its handler, and only the
// parameters are checked.
//
// It must run after the middleware that bounds the body, and is best placed
// after authentication and rate limiting, so that a caller without a key
// learns nothing about the request's shape.
func (s *Server) validateRequests() echo.MiddlewareFunc {
	sp, err := loadSpec()
	if err != nil {
		panic(err) // a broken openapi.yaml is a programming error (TestSpecLoads)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/v1/") {
				return next(c)
			}
			route, pathParams, err := sp.router.FindRoute(req)
			if err != nil {
				return next(c) // not described: Echo decides (404, 405)
			}
			check := req.Clone(req.Context())
			check.Body, check.GetBody, check.ContentLength = http.NoBody, nil, 0
			options := &validationOptions
			rb := route.Operation.RequestBody
			if rb != nil && rb.Value != nil && rb.Value.Content.Get(echo.MIMEApplicationJSON) == nil {
				// A body that is not JSON (a CSV file, a form) is the
				// handler's to read; its parameters are still checked.
				options = &bodylessValidationOptions
			} else if rb != nil && rb.Value != nil && req.Body != nil && req.Body != http.NoBody {
				body, err := io.ReadAll(req.Body)
				var maxErr *http.MaxBytesError
				if errors.As(err, &maxErr) {
					return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Field: "body", Message: fmt.Sprintf("body: larger than %d bytes", maxErr.Limit)}
				}
				if err != nil {
					return invalid("body", "could not be read: %v", err)
				}
				// The handler reads the body as it came.
				req.Body = io.NopCloser(bytes.NewReader(body))
				asJSON, err := bodyAsJSON(body, rb.Value)
				if err != nil {
					return err
				}
				if asJSON == nil {
					return next(c) // a YAML document that does not parse: the handler says why
				}
				check.Body = io.NopCloser(bytes.NewReader(asJSON))
				check.ContentLength = int64(len(asJSON))
				check.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
			}
			input := &openapi3filter.RequestValidationInput{
				Request: check, PathParams: pathParams, Route: route, Options: options,
			}
			if err := openapi3filter.ValidateRequest(req.Context(), input); err != nil {
				return specViolation(err)
			}
			return next(c)
		}
	}
}

// bodyAsJSON returns the body as JSON to validate: as it is when it is
// JSON; converted when it is YAML and the operation takes YAML (nil, nil if
// it does not parse, which the handler reports in its own words); else an
// error naming the body.
func bodyAsJSON(body []byte, rb *openapi3.RequestBody) ([]byte, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return []byte{}, nil // ValidateRequest reports the missing body
	}
	if json.Valid(body) {
		return body, nil
	}
	if rb.Content.Get("application/yaml") != nil {
		converted, err := yaml.YAMLToJSON(body)
		if err != nil || !json.Valid(converted) {
			return nil, nil
		}
		return converted, nil
	}
	var v any
	err := json.Unmarshal(body, &v)
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return nil, invalid("body", "malformed JSON at offset %d", syntaxErr.Offset)
	}
	return nil, invalid("body", "malformed JSON: %v", err)
}

// specViolation turns kin-openapi's error into the API's: a 400 naming the
// parameter, header or body field at fault.
func specViolation(err error) *Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: err.Error()}
	}
	switch {
	case re.Parameter != nil:
		return invalid(re.Parameter.Name, "%s", parameterProblem(re))
	case re.RequestBody != nil:
		if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
			return invalid("body", "a JSON object is required")
		}
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			field, problem := schemaProblem(se)
			if field == "" {
				field = "body"
			}
			return invalid(field, "%s", problem)
		}
		return invalid("body", "%s", strings.TrimPrefix(re.Error(), "request body has an error: "))
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Message: re.Error()}
}

// parameterProblem says what is wrong with a parameter or header.
func parameterProblem(re *openapi3filter.RequestError) string {
	var schema *openapi3.Schema
	if re.Parameter.Schema != nil {
		schema = re.Parameter.Schema.Value
	}
	var pe *openapi3filter.ParseError
	var se *openapi3.SchemaError
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		return "is required"
	case errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue):
		return "must not be empty"
	case errors.As(re.Err, &pe):
		// "limit=abc": say what is expected, as the handlers do.
		if want := expectation(schema); want != "" {
			return "must be " + want
		}
		return pe.Reason
	case errors.As(re.Err, &se):
		// "limit=0": "a whole number from 1 to 500" says the range too.
		if numeric(schema) && (se.SchemaField == "minimum" || se.SchemaField == "maximum") {
			return "must be " + expectation(schema)
		}
		_, problem := schemaProblem(se)
		return problem
	case re.Err != nil:
		return re.Err.Error()
	}
	return re.Reason
}

func numeric(s *openapi3.Schema) bool {
	return s != nil && s.Type != nil && (s.Type.Is(openapi3.TypeInteger) || s.Type.Is(openapi3.TypeNumber))
}

// expectation describes a value a schema accepts ("a whole number from 1
// to 500"), for the types whose errors say it better that way.
func expectation(s *openapi3.Schema) string {
	if s == nil || s.Type == nil {
		return ""
	}
	var want string
	switch {
	case s.Type.Is(openapi3.TypeInteger):
		want = "a whole number"
	case s.Type.Is(openapi3.TypeNumber):
		want = "a number"
	case s.Type.Is(openapi3.TypeBoolean):
		return "true or false"
	case s.Type.Is(openapi3.TypeString):
		return "a string"
	case s.Type.Is(openapi3.TypeArray):
		return "a list"
	case s.Type.Is(openapi3.TypeObject):
		return "a JSON object"
	default:
		return ""
	}
	switch {
	case s.Min != nil && s.Max != nil:
		want += fmt.Sprintf(" from %v to %v", *s.Min, *s.Max)
	case s.Min != nil:
		want += fmt.Sprintf(" of at least %v", *s.Min)
	case s.Max != nil:
		want += fmt.Sprintf(" of at most %v", *s.Max)
	}
	return want
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// schemaProblem names the field a schema error is about ("amount",
// "steps[2].template") and says what is wrong with it, in the words the
// handlers use.
func schemaProblem(se *openapi3.SchemaError) (field, problem string) {
	path := se.JSONPointer()
	// An allOf/anyOf/oneOf error wraps the one that says what is wrong.
	for se.SchemaField == "allOf" || se.SchemaField == "anyOf" || se.SchemaField == "oneOf" {
		var inner *openapi3.SchemaError
		if !errors.As(se.Origin, &inner) {
			break
		}
		se = inner
		if p := se.JSONPointer(); len(p) > len(path) {
			path = p
		}
	}
	schema := se.Schema
	// A schema may say in its own words what a value must look like
	// (x-error-message: must be a decimal string such as "1250.00").
	custom, _ := schema.Extensions["x-error-message"].(string)
	switch se.SchemaField {
	case "properties":
		if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
			return fieldName(append(path, m[1])), "unknown field"
		}
	case "required":
		return fieldName(path), "is required"
	case "type", "nullable", "format", "pattern":
		if custom != "" {
			return fieldName(path), custom
		}
		if want := expectation(schema); want != "" && se.SchemaField == "type" {
			return fieldName(path), "must be " + want
		}
		if want := expectation(schema); want != "" && se.SchemaField == "nullable" {
			return fieldName(path), "must be " + want + ", not null"
		}
	case "enum":
		var allowed []string
		for _, v := range schema.Enum {
			if v != nil {
				allowed = append(allowed, fmt.Sprint(v))
			}
		}
		return fieldName(path), "must be one of " + strings.Join(allowed, ", ")
	}
	return fieldName(path), se.Reason
}

// fieldName writes a JSON pointer the way the API names fields:
// ["steps", "2", "template"] is "steps[2].template".
func fieldName(pointer []string) string {
	var b strings.Builder
	for _, p := range pointer {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

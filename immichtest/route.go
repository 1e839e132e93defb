package immichtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"
)

// route is one operation of the spec.
type route struct {
	opID       string
	method     string
	path       string // spec path, without /api
	pathItem   *openapi3.PathItem
	op         *openapi3.Operation
	params     []string // path parameter names
	permission string   // x-immich-permission, "" when none
	public     bool     // no security requirement
	sharedOK   bool     // accepts key/slug share-link auth
	multipart  bool     // request body is multipart/form-data
	allFields  bool     // every request field of the spec is honoured (search)
	// unruled: every request field of the spec is honoured whatever its
	// value, so checkFields has nothing to find (and skips decoding the
	// body once more).
	unruled bool
}

// handlerFunc serves one operation after auth and request validation.
type handlerFunc func(c *call)

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

// router dispatches requests to the operations of the spec. Paths are
// matched segment by segment; where several templates match a path (Immich
// 2.x has /assets/device/{deviceId} next to /assets/{id}/metadata, which
// http.ServeMux refuses to hold together), the one with a literal segment
// earliest wins. Real requests are not ambiguous: an {id} is a UUID.
type router struct {
	s      *Server
	routes []*routeEntry
}

type routeEntry struct {
	rt   *route
	h    handlerFunc
	segs []string // "" marks a parameter
}

func (s *Server) buildMux() http.Handler {
	handlers := s.handlers()
	rtr := &router{s: s}
	for path, item := range s.spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				continue
			}
			// The embedded spec capitalises operationIds; Immich's are
			// lowerCamelCase ("uploadAsset").
			opID := strings.ToLower(op.OperationID[:1]) + op.OperationID[1:]
			rt := &route{opID: opID, method: method, path: path, pathItem: item, op: op}
			for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
				rt.params = append(rt.params, m[1])
			}
			if p, ok := op.Extensions["x-immich-permission"].(string); ok {
				rt.permission = p
			}
			sec := op.Security
			if sec == nil {
				sec = &s.spec.Security
			}
			rt.public = len(*sec) == 0
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == "query" && p.Value.Name == "key" {
					rt.sharedOK = true
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				_, rt.multipart = op.RequestBody.Value.Content["multipart/form-data"]
			}
			// The search handlers implement every filter of their DTOs.
			rt.allFields = strings.HasPrefix(path, "/search/")
			rt.unruled = rt.allFields || honoursAnyValue(rt)
			e := &routeEntry{rt: rt, h: handlers[rt.opID]}
			for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
				if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
					seg = ""
				}
				e.segs = append(e.segs, seg)
			}
			rtr.routes = append(rtr.routes, e)
		}
	}
	s.router = rtr
	return rtr
}

func (rtr *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Immich names every request with a correlation id (the caller's own,
	// when it sends one) and answers it in a header.
	hdr := rtr.s.correlationHeader()
	corr := r.Header.Get(hdr)
	if corr == "" {
		corr = uuid.NewString()
	}
	w.Header().Set(hdr, corr)
	if r.Method == http.MethodGet && r.URL.Path == "/.well-known/immich" {
		// Clients (the official CLI) discover the API base here; it lies
		// outside the spec.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"api":{"endpoint":"/api"}}`)
		return
	}
	var best *routeEntry
	var bestVals []string
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
		segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet // Express answers HEAD on GET routes
		}
		for _, e := range rtr.routes {
			if e.rt.method != method || len(e.segs) != len(segs) {
				continue
			}
			var vals []string
			match := true
			for i, seg := range e.segs {
				switch {
				case seg == "" && segs[i] != "":
					vals = append(vals, segs[i])
				case seg != segs[i]:
					match = false
				}
				if !match {
					break
				}
			}
			if match && (best == nil || moreSpecific(e.segs, best.segs)) {
				best, bestVals = e, vals
			}
		}
	}
	if best == nil {
		rtr.s.recordFailure(ValidationFailure{Method: r.Method, Path: r.URL.Path, Err: "no operation of the spec matches this method and path"})
		rtr.s.writeError(w, http.StatusNotFound, fmt.Sprintf("Cannot %s %s", r.Method, r.URL.Path), corr)
		return
	}
	for i, name := range best.rt.params {
		r.SetPathValue(name, bestVals[i])
	}
	rtr.s.serve(best.rt, best.h, w, r, corr)
}

// moreSpecific reports whether template a has a literal segment where b
// first has a parameter.
func moreSpecific(a, b []string) bool {
	for i := range a {
		if (a[i] == "") != (b[i] == "") {
			return a[i] != ""
		}
	}
	return false
}

// call is one request on its way through a handler.
type call struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	rt   *route
	auth *authCtx
	corr string
	ctx  context.Context
	f    *faultPlan
	// responded is set once a response was started.
	responded bool
}

// serve runs faults, authentication, request validation, the check that
// the fake honours every field sent (fields.go) and the handler. An
// operation without a handler answers 501 and is recorded as Unimplemented.
func (s *Server) serve(rt *route, h handlerFunc, w http.ResponseWriter, r *http.Request, corr string) {
	s.mu.Lock()
	s.counts[rt.opID]++
	plan := s.planFaultsLocked(rt.opID)
	s.mu.Unlock()

	r.Body = &countingBody{rc: r.Body, n: &s.bytesIn}
	c := &call{s: s, w: w, r: r, rt: rt, corr: corr, ctx: r.Context(), f: plan}
	if s.applyFaults(c) {
		return
	}
	a, status, msg := s.authenticate(rt, r)
	if status != 0 {
		c.error(status, msg)
		return
	}
	c.auth = a
	if !rt.multipart {
		if err := s.validateRequest(c, r, nil); err != nil {
			if errors.Is(err, errTooLarge) {
				proxyError(w, http.StatusRequestEntityTooLarge)
				return
			}
			s.recordFailure(ValidationFailure{OperationID: rt.opID, Method: r.Method, Path: r.URL.Path, Err: err.Error()})
			c.invalidRequest(err)
			return
		}
	}
	if h == nil {
		msg := "immichtest does not implement operation " + rt.opID
		s.recordFailure(ValidationFailure{OperationID: rt.opID, Method: r.Method, Path: r.URL.Path, Err: msg, Unimplemented: true})
		c.error(http.StatusNotImplemented, msg)
		return
	}
	if !c.checkFields() {
		return
	}
	h(c)
}

func (s *Server) input(rt *route, r *http.Request) *openapi3filter.RequestValidationInput {
	pp := map[string]string{}
	for _, name := range rt.params {
		pp[name] = r.PathValue(name)
	}
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pp,
		Route: &routers.Route{
			Spec: s.spec, Path: rt.path, PathItem: rt.pathItem, Method: rt.method, Operation: rt.op,
		},
		Options: &openapi3filter.Options{
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			MultiError:              false,
			SchemaValidationOptions: formatChecks,
		},
	}
}

// formatChecks makes kin-openapi check the uuid format, which it leaves
// alone by default: Immich 2's specs give ids only that format (3's add a
// pattern), and its server refuses what is not a UUID ("must be a UUID").
var formatChecks = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(checkUUID)),
}

// checkUUID accepts what kin-openapi's FormatOfStringForUUIDOfRFC4122
// pattern accepts (versions 1 to 5, the RFC variant, or the nil UUID),
// without a regular expression: a cached re-run's bulk-upload-check
// answers hold 500 ids, and matching them took 7% of the fake's CPU.
func checkUUID(s string) error {
	if s == "00000000-0000-0000-0000-000000000000" {
		return nil
	}
	ok := len(s) == 36 && s[14] >= '1' && s[14] <= '5' && strings.IndexByte("89abAB", s[19]) >= 0
	for i := 0; i < len(s) && ok; i++ {
		switch i {
		case 8, 13, 18, 23:
			ok = s[i] == '-'
		default:
			ok = isHexDigit(s[i])
		}
	}
	if !ok {
		return fmt.Errorf(`string doesn't match pattern "%s"`, openapi3.FormatOfStringForUUIDOfRFC4122)
	}
	return nil
}

func isHexDigit(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// validateRequest checks r against the spec (openapi3filter buffers and
// restores JSON bodies). A non-nil op replaces the route's operation.
func (s *Server) validateRequest(c *call, r *http.Request, op *openapi3.Operation) error {
	in := s.input(c.rt, r)
	if op != nil {
		in.Route.Operation = op
	}
	return openapi3filter.ValidateRequest(c.ctx, in)
}

// validationMessage says briefly what is wrong with a request, without
// kin-openapi's schema dump: the field and the reason.
func validationMessage(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		var re *openapi3filter.RequestError
		if errors.As(err, &re) && re.Parameter != nil {
			field = re.Parameter.Name
		}
		if field == "" {
			return se.Reason
		}
		return field + ": " + se.Reason
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Parameter != nil {
			return re.Parameter.Name + ": " + re.Reason
		}
		if re.Err != nil {
			return re.Reason + ": " + re.Err.Error()
		}
		return re.Reason
	}
	return err.Error()
}

// v3 reports whether the spec is of Immich 3 or later, which answers
// errors with only a message in the body and the correlation id in the
// X-Correlation-ID header.
func (s *Server) v3() bool { return s.version[0] >= 3 }

// correlationHeader is the header Immich names a request's correlation id
// in: X-Correlation-ID from 3.0, x-immich-cid before.
func (s *Server) correlationHeader() string {
	if s.v3() {
		return "X-Correlation-ID"
	}
	return "x-immich-cid"
}

// writeError answers with Immich's error body for the spec's major. 3.x:
// {"message"}. 2.x: {"message","error","statusCode","correlationId"},
// where message is a string or (validation) a list of strings, and a 500
// has no "error", as 2.x's global exception filter answers an error that
// is not an HTTP exception.
func (s *Server) writeError(w http.ResponseWriter, status int, msg any, corr string) {
	body := map[string]any{"message": msg}
	if !s.v3() {
		body["statusCode"], body["correlationId"] = status, corr
		if status != http.StatusInternalServerError {
			body["error"] = http.StatusText(status)
		}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// error answers with Immich's error body.
func (c *call) error(status int, msg string) {
	if c.responded {
		return
	}
	c.responded = true
	c.s.writeError(c.w, status, msg, c.corr)
}

// invalid answers 400 for a request Immich's validation refuses, when all
// the fake has is the reason (no field path): see invalidRequest.
func (c *call) invalid(msg string) { c.invalidRequest(errors.New(msg)) }

// invalidRequest answers 400 for a request the spec rejects, as Immich's
// validation does: 2.x (class-validator) lists messages in "message"; 3.x
// (zod) answers {"message":"Validation failed","errors":[issue]}, each
// issue with a code, the path of the field and a message (issueOf).
func (c *call) invalidRequest(err error) {
	if c.responded {
		return
	}
	c.responded = true
	if !c.s.v3() {
		c.s.writeError(c.w, http.StatusBadRequest, []string{validationMessage(err)}, c.corr)
		return
	}
	writeJSON(c.w, http.StatusBadRequest, map[string]any{"message": "Validation failed", "errors": []zodIssue{issueOf(err)}})
}

// zodIssue is one entry of Immich 3's "errors" list (a zod issue): the
// kind, the field's path, the message, and for a wrong type the type
// expected, for a value outside an enum the values allowed.
type zodIssue struct {
	Code     string `json:"code"`
	Expected string `json:"expected,omitempty"`
	Values   []any  `json:"values,omitempty"`
	Path     []any  `json:"path"`
	Message  string `json:"message"`
}

// issueOf describes a kin-openapi validation error as a zod issue: the
// field's path (array indexes as numbers), zod's code for the kind of
// failure and the reason.
func issueOf(err error) zodIssue {
	is := zodIssue{Code: "custom", Path: []any{}, Message: err.Error()}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		if re.Parameter != nil {
			is.Path = append(is.Path, re.Parameter.Name)
		}
		is.Message = re.Reason
		if re.Err != nil && re.Reason == "" {
			is.Message = re.Err.Error()
		}
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		// A value that does not parse as its type (a form field or a
		// query parameter): zod coerces it and finds NaN.
		is.Code, is.Message = "invalid_type", pe.Error()
		if sc := paramSchema(re); sc != nil && sc.Type != nil && len(*sc.Type) > 0 {
			is.Expected = (*sc.Type)[0]
		}
		if p := pe.Path(); len(p) > 0 {
			is.Path = append([]any{}, p...)
		}
		for inner := pe; inner != nil; inner, _ = inner.Cause.(*openapi3filter.ParseError) {
			if inner.Reason == "an invalid integer" || inner.Reason == "an invalid number" {
				is.Expected, is.Message = "number", "Invalid input: expected number, received NaN"
			}
		}
		return is
	}
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return is
	}
	for _, seg := range se.JSONPointer() {
		if n, err := strconv.Atoi(seg); err == nil {
			is.Path = append(is.Path, n)
		} else {
			is.Path = append(is.Path, seg)
		}
	}
	is.Message = se.Reason
	sc, got := se.Schema, jsonKind(se.Value)
	if se.SchemaField == "required" && sc != nil && len(is.Path) > 0 {
		// The error is the object's; the message is about the property.
		if name, ok := is.Path[len(is.Path)-1].(string); ok && sc.Properties[name] != nil {
			sc, got = sc.Properties[name].Value, "undefined"
		}
	}
	switch se.SchemaField {
	case "type", "required", "nullable":
		is.Code = "invalid_type"
		if sc != nil && sc.Type != nil && len(*sc.Type) > 0 {
			is.Expected = (*sc.Type)[0]
			is.Message = fmt.Sprintf("Invalid input: expected %s, received %s", is.Expected, got)
		}
	case "enum":
		is.Code = "invalid_value"
		if sc != nil {
			is.Values = sc.Enum
			var opts []string
			for _, v := range sc.Enum {
				b, _ := json.Marshal(v)
				opts = append(opts, string(b))
			}
			is.Message = "Invalid option: expected one of " + strings.Join(opts, "|")
		}
	case "format", "pattern":
		is.Code = "invalid_format"
		switch {
		case sc != nil && sc.Format == "date-time":
			is.Message = "Invalid ISO datetime"
		case sc != nil && sc.Format == "uuid":
			is.Message = "Invalid UUID"
		}
	case "minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties":
		is.Code = "too_small"
	case "maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties":
		is.Code = "too_big"
	case "additionalProperties":
		is.Code = "unrecognized_keys"
	}
	return is
}

// paramSchema is the schema of the parameter a request error is about, if
// any.
func paramSchema(re *openapi3filter.RequestError) *openapi3.Schema {
	if re == nil || re.Parameter == nil || re.Parameter.Schema == nil {
		return nil
	}
	return re.Parameter.Schema.Value
}

// jsonKind names the JSON type of a decoded value as zod's messages do.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, int, int64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// json answers with v as JSON after validating the response against the
// spec. A response that violates the spec is a bug of the fake: it is
// recorded as a ValidationFailure with Response set and answered 500.
func (c *call) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("immichtest: marshal %s response: %v", c.rt.opID, err))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	specStatus := status
	if status == http.StatusOK && c.rt.opID == "uploadAsset" && c.rt.op.Responses.Status(http.StatusOK) == nil {
		// Immich answers duplicates 200 in every release, though the specs
		// before 2.5 document only 201 (same body schema).
		specStatus = http.StatusCreated
	}
	if err := c.s.validateResponse(c, specStatus, h, b); err != nil {
		c.s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: err.Error(), Response: true})
		c.error(http.StatusInternalServerError, "immichtest: response violates the spec (bug of the fake): "+err.Error())
		return
	}
	if c.responded {
		return
	}
	c.responded = true
	for k, vv := range h {
		c.w.Header()[k] = vv
	}
	c.w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	c.w.WriteHeader(status)
	c.w.Write(b)
}

// noContent answers 204 after checking the spec allows it.
func (c *call) noContent() {
	if err := c.s.validateResponse(c, http.StatusNoContent, http.Header{}, nil); err != nil {
		c.s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: err.Error(), Response: true})
		c.error(http.StatusInternalServerError, "immichtest: response violates the spec (bug of the fake): "+err.Error())
		return
	}
	c.responded = true
	c.w.WriteHeader(http.StatusNoContent)
}

// streamHead validates the status and headers of a binary response (its body
// is not buffered) and reports whether the handler may write it.
func (c *call) streamHead(status int) bool {
	specStatus := status
	if status == http.StatusPartialContent {
		specStatus = http.StatusOK // Immich documents ranges as the 200 response
	}
	h := c.w.Header().Clone()
	h.Set("Content-Type", "application/octet-stream")
	if err := c.s.validateResponseHead(c, specStatus, h); err != nil {
		c.s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: err.Error(), Response: true})
		c.error(http.StatusInternalServerError, "immichtest: response violates the spec (bug of the fake): "+err.Error())
		return false
	}
	return true
}

func (s *Server) responseInput(c *call, status int, h http.Header, body []byte, excludeBody bool) *openapi3filter.ResponseValidationInput {
	in := s.input(c.rt, c.r)
	return &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 h,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			ExcludeResponseBody:     excludeBody,
			AuthenticationFunc:      openapi3filter.NoopAuthenticationFunc,
			SchemaValidationOptions: formatChecks,
		},
	}
}

func (s *Server) validateResponse(c *call, status int, h http.Header, body []byte) error {
	return openapi3filter.ValidateResponse(c.ctx, s.responseInput(c, status, h, body, body == nil))
}

func (s *Server) validateResponseHead(c *call, status int, h http.Header) error {
	return openapi3filter.ValidateResponse(c.ctx, s.responseInput(c, status, h, nil, true))
}

// decode reads the (already validated) JSON body into v.
func (c *call) decode(v any) bool {
	if err := json.NewDecoder(c.r.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		c.error(http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// pathID parses the {id} path parameter (validated as a uuid already).
func (c *call) pathID(name string) uuid.UUID {
	id, _ := uuid.Parse(c.r.PathValue(name))
	return id
}

func mediaType(h string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(h)
	if err != nil {
		return "", nil
	}
	return mt, params
}

// countingBody counts request-body bytes read by the server.
type countingBody struct {
	rc io.ReadCloser
	n  interface{ Add(int64) int64 }
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }

package wrapper

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors matched with errors.Is.
var (
	// ErrUnauthorized: the server answered 401 (missing, wrong or expired key or token).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the server answered 403 (the key lacks a permission).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the server answered 404, or Immich's 400 "Not found or
	// no asset.read access" (also "no album.read access", ...), which is
	// how Immich answers an id it does not have or the caller may not see.
	ErrNotFound = errors.New("not found")
	// ErrNotImmich: the answer is not one of Immich's API: a web page (a
	// proxy's login portal, another web app) where Immich's JSON was
	// expected, with a 2xx or an error status. The URL likely points at
	// the wrong server or path.
	ErrNotImmich = errors.New("not an Immich server")
	// ErrStalled: a transfer moved no bytes for the stall timeout, or the
	// server gave no answer within the answer timeout after the last byte of
	// a request. Such a request is retried under the RetryPolicy.
	ErrStalled = errors.New("transfer stalled")
)

// FieldError is one failed check of a request that Immich refused with
// "Validation failed" (3.x: an entry of "errors"; 2.x: one of the
// "message" strings, without Path).
type FieldError struct {
	// Path names the field, e.g. "duration" or "assets.0.checksum".
	Path string
	// Code is the validator's code, e.g. "invalid_type" (3.x only).
	Code string
	// Message says what is wrong with the field.
	Message string
}

func (f FieldError) String() string {
	if f.Path == "" {
		return f.Message
	}
	return f.Path + ": " + f.Message
}

// APIError is the error for every non-2xx answer of the Immich server.
type APIError struct {
	// Operation is the Immich operationId or a short description of the call.
	Operation string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the server's message ("message" of Immich's error body), or
	// the start of the body when it is not Immich's JSON error shape.
	Message string
	// Fields lists the field errors of a failed validation, in the
	// server's order; nil for other errors.
	Fields []FieldError
	// CorrelationID finds the request in the server's logs: the
	// X-Correlation-ID header of the answer (3.x), else the body's
	// "correlationId" (2.x).
	CorrelationID string
	// Hint says what the user can do about it, when we know.
	Hint string
	// page: the body is a web page, not an answer of Immich's API;
	// immich: the body is Immich's JSON error.
	page, immich bool
}

// maxFieldsShown is how many field errors Error lists.
const maxFieldsShown = 3

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	// 2.x fields have no path: their messages are the Message already.
	if len(e.Fields) > 0 && e.Fields[0].Path != "" {
		b.WriteString(" (")
		for i, f := range e.Fields[:min(len(e.Fields), maxFieldsShown)] {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.String())
		}
		if n := len(e.Fields) - maxFieldsShown; n > 0 {
			fmt.Fprintf(&b, "; and %d more", n)
		}
		b.WriteString(")")
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlationId %s)", e.CorrelationID)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is reports whether the error matches ErrUnauthorized, ErrForbidden,
// ErrNotFound (404, or Immich's 400 "Not found or no ... access") or
// ErrNotImmich (a web page that is not a proxy's gateway error).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.noAccess()
	case ErrNotImmich:
		return e.page && !proxyStatus(e.StatusCode)
	}
	return false
}

// noAccess reports Immich's answer for an id it does not have or the
// caller may not see: 400 "Not found or no asset.read access".
func (e *APIError) noAccess() bool {
	return (e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusNotFound) &&
		strings.HasPrefix(strings.ToLower(e.Message), "not found or no ")
}

// proxyStatus reports the statuses a proxy in front of Immich answers with
// its own page: the page says nothing about what is behind it.
func proxyStatus(code int) bool {
	switch code {
	case http.StatusRequestEntityTooLarge, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 524:
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// immichError is the body of Immich's error answers, of both majors:
// 3.x sends message (and errors for a failed validation); 2.x sends
// message (a string or a list of strings), error and correlationId.
type immichError struct {
	Message       json.RawMessage `json:"message"`
	Error         string          `json:"error"`
	CorrelationID string          `json:"correlationId"`
	Errors        []struct {
		Code    string `json:"code"`
		Path    []any  `json:"path"`
		Message string `json:"message"`
	} `json:"errors"`
}

// newAPIError builds an *APIError from a non-2xx status and its body; it
// reads at most 64 KiB of body.
func newAPIError(op string, status int, header http.Header, body io.Reader) *APIError {
	e := &APIError{Operation: op, StatusCode: status, CorrelationID: header.Get("X-Correlation-ID")}
	var raw []byte
	if body != nil {
		raw, _ = io.ReadAll(io.LimitReader(body, maxErrorBody))
	}
	var shape immichError
	if json.Unmarshal(raw, &shape) == nil && (len(shape.Message) > 0 || shape.Error != "") {
		e.parseImmich(shape)
	} else if len(raw) > 0 {
		e.Message, e.page = bodyText(raw, header)
		if e.page && !proxyStatus(status) {
			// A web server, or a login portal, not Immich's API (which
			// answers JSON).
			e.Hint = "this is a web page, not an answer of Immich's API: check the URL (the address you open Immich at) and any proxy in front of it"
		}
	}
	if h := e.hint(header); h != "" && (!e.page || proxyStatus(status)) {
		e.Hint = h
	}
	return e
}

// parseImmich fills e from Immich's error body.
func (e *APIError) parseImmich(shape immichError) {
	e.immich = true
	if e.CorrelationID == "" {
		e.CorrelationID = shape.CorrelationID
	}
	var s string
	var list []string
	switch {
	case json.Unmarshal(shape.Message, &s) == nil:
		e.Message = s
	case json.Unmarshal(shape.Message, &list) == nil:
		e.Message = strings.Join(list, "; ")
		for _, m := range list {
			e.Fields = append(e.Fields, FieldError{Message: m})
		}
	default:
		e.Message = shape.Error
	}
	for _, f := range shape.Errors {
		parts := make([]string, len(f.Path))
		for i, p := range f.Path {
			parts[i] = fmt.Sprint(p)
		}
		e.Fields = append(e.Fields, FieldError{Path: strings.Join(parts, "."), Code: f.Code, Message: f.Message})
	}
}

// bodyText makes one line of at most 200 bytes of an error body that is
// not Immich's JSON: for an HTML page (page true) its title, or its text
// without tags, as HTML page "…".
func bodyText(raw []byte, header http.Header) (msg string, page bool) {
	s := string(raw)
	page = strings.HasPrefix(strings.ToLower(header.Get("Content-Type")), "text/html") || strings.HasPrefix(strings.TrimSpace(s), "<")
	if page {
		lower := strings.ToLower(s)
		if i := strings.Index(lower, "<title>"); i >= 0 {
			if j := strings.Index(lower[i:], "</title>"); j >= 0 {
				s = s[i+len("<title>") : i+j]
			}
		}
		s = stripTags(s)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if page {
		s = fmt.Sprintf("HTML page %q", s)
	}
	return s, page
}

// stripTags drops everything between '<' and '>'.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hint says what a user can do about the answer, where a common cause is
// known.
func (e *APIError) hint(header http.Header) string {
	switch e.StatusCode {
	case http.StatusUnauthorized:
		return "check the API key or token (is it for this server, and not revoked?)"
	case http.StatusForbidden:
		return "the API key lacks the permission this operation needs"
	case http.StatusRequestEntityTooLarge:
		return "a proxy in front of Immich (nginx client_max_body_size, a CDN such as Cloudflare capping bodies at 100 MB) likely limits the request size: raise the limit or upload directly to the server"
	case 524:
		return "a proxy in front of Immich likely timed out waiting for the server (Cloudflare answers 524 after 100 s): raise the proxy's timeout or upload directly to the server"
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !e.immich {
			return "a proxy in front of Immich answered: the Immich server behind it is not answering (down, restarting or overloaded); check the server, then the proxy's timeout"
		}
	case http.StatusTooManyRequests:
		if ra := header.Get("Retry-After"); ra != "" {
			return "rate limited; the server asks to retry after " + ra
		}
		return "rate limited"
	}
	if e.noAccess() {
		return "the server has no such item, or these credentials may not see it (check the id)"
	}
	return ""
}

// ConnectionError is the error for a request that got no answer from the
// server at all: the URL is wrong (no such host, nothing listening at the
// port, an untrusted certificate) or the server is down. Err is the cause
// (errors.Is(err, syscall.ECONNREFUSED), ErrStalled, ... still work).
type ConnectionError struct {
	// Operation is the Immich operationId or a short description of the call.
	Operation string
	// URL is the Client's /api base URL (never with credentials).
	URL string
	// Err is what the transport said.
	Err error
}

func (e *ConnectionError) Error() string {
	op := ""
	if e.Operation != "" {
		op = e.Operation + ": "
	}
	return fmt.Sprintf("%scannot reach the Immich server at %s (%s): %v", op, e.URL, transportCause(e.Err), e.Err)
}

// Unwrap returns the cause.
func (e *ConnectionError) Unwrap() error { return e.Err }

// transportCause says in words why a request got no answer, and what to check.
func transportCause(err error) string {
	var ne net.Error
	switch {
	case ConnectionRefused(err):
		return "connection refused: is the server running, and is the port right?"
	case hostNotFound(err):
		return "the host name does not resolve: check the URL"
	case untrustedCertificate(err):
		return "its TLS certificate is not trusted for this host: fix the certificate or use the right host name"
	case errors.Is(err, ErrStalled):
		return "it stopped answering: is the server overloaded, or the connection poor?"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "no answer in time: is the server up, and the URL and port right?"
	}
	return "is the server up, and the URL right?"
}

// untrustedCertificate reports a TLS certificate the client refused.
func untrustedCertificate(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci)
}

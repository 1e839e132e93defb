package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors matched with errors.Is against an *APIError.
var (
	// ErrUnauthorized: the server answered 401 (missing, wrong or expired key or token).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the server answered 403 (the key lacks a permission).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the server answered 404.
	ErrNotFound = errors.New("not found")
	// ErrStalled: a transfer moved no bytes for the stall timeout, or the
	// server gave no answer within the answer timeout after the last byte of
	// a request. Such a request is retried under the RetryPolicy.
	ErrStalled = errors.New("transfer stalled")
)

// APIError is the error for every non-2xx answer of the Immich server.
type APIError struct {
	// Operation is the Immich operationId or a short description of the call.
	Operation string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the server's message ("message" of Immich's error body), or
	// the start of the body when it is not Immich's JSON error shape.
	Message string
	// CorrelationID is Immich's "correlationId", to find the request in the
	// server's logs.
	CorrelationID string
	// Hint says what the user can do about it, when we know.
	Hint string
}

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
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " (correlationId %s)", e.CorrelationID)
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Is reports whether the error matches ErrUnauthorized, ErrForbidden or
// ErrNotFound by status code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	}
	return false
}

// maxErrorBody bounds how much of an error body is read.
const maxErrorBody = 64 << 10

// newAPIError builds an *APIError from a non-2xx status and its body; it
// reads at most 64 KiB of body.
func newAPIError(op string, status int, header http.Header, body io.Reader) *APIError {
	e := &APIError{Operation: op, StatusCode: status}
	var raw []byte
	if body != nil {
		raw, _ = io.ReadAll(io.LimitReader(body, maxErrorBody))
	}
	var shape struct {
		Message       json.RawMessage `json:"message"`
		Error         string          `json:"error"`
		CorrelationID string          `json:"correlationId"`
	}
	if json.Unmarshal(raw, &shape) == nil && (len(shape.Message) > 0 || shape.Error != "") {
		e.CorrelationID = shape.CorrelationID
		var s string
		var list []string
		switch {
		case json.Unmarshal(shape.Message, &s) == nil:
			e.Message = s
		case json.Unmarshal(shape.Message, &list) == nil:
			e.Message = strings.Join(list, "; ")
		default:
			e.Message = shape.Error
		}
	} else if len(raw) > 0 {
		var page bool
		e.Message, page = bodyText(raw, header)
		if page {
			// A web server, a proxy's error page or a login portal, not
			// Immich's API (which answers JSON).
			e.Hint = "this is a web page, not an answer of Immich's API: check the URL (the address you open Immich at) and any proxy in front of it"
		}
	}
	if h := hintFor(status, header); h != "" {
		e.Hint = h
	}
	return e
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

// hintFor says what a user can do about a status, where a common cause is
// known.
func hintFor(status int, header http.Header) string {
	switch status {
	case http.StatusUnauthorized:
		return "check the API key or token (is it for this server, and not revoked?)"
	case http.StatusForbidden:
		return "the API key lacks the permission this operation needs"
	case http.StatusRequestEntityTooLarge:
		return "a proxy in front of Immich (nginx client_max_body_size, a CDN such as Cloudflare capping bodies at 100 MB) likely limits the request size: raise the limit or upload directly to the server"
	case 524, http.StatusGatewayTimeout:
		return "a proxy in front of Immich likely timed out waiting for the server (Cloudflare answers 524 after 100 s): raise the proxy's timeout or upload directly to the server"
	case http.StatusTooManyRequests:
		if ra := header.Get("Retry-After"); ra != "" {
			return "rate limited; the server asks to retry after " + ra
		}
		return "rate limited"
	}
	return ""
}

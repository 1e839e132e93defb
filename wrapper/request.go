package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Every request of a Client, whether a generated operation, a helper of
// this package or a caller's own, goes through Do: authentication
// (NewRequest and the generated client's request editor), the retry policy
// and the stall and answer timeouts (roundTrip, send), and the
// classification of what came back (Do: *ConnectionError, *APIError,
// ErrNotImmich). Nothing else sends a request.

// NewRequest builds an authorized request for path, relative to the /api
// base (e.g. "/assets/ID/original"), with query (may be nil) and body (may
// be nil). A *bytes.Reader, *bytes.Buffer or *strings.Reader body can be
// sent again on a retry; for another body set req.GetBody to allow that.
func (c *Client) NewRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
	u := *c.baseURL
	u.Path = c.baseURL.Path + "/" + strings.TrimLeft(path, "/")
	if query != nil {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	return req, nil
}

// Do sends req under the Client's RetryPolicy (see there: which requests
// are retried, the stall and answer timeouts) and classifies the outcome.
// op names the call in errors (an Immich operationId, e.g. "getAssetInfo").
//
// It returns the response of a 2xx answer, whose Body the caller reads and
// closes; its reads are watched for stalls until it is closed. Otherwise it
// returns, with no response:
//   - a *ConnectionError when no answer came (wrong URL, server down);
//   - an *APIError for a non-2xx answer, matching ErrUnauthorized,
//     ErrForbidden, ErrNotFound (also for Immich's 400 "Not found or no
//     ... access") or ErrNotImmich (a web page) with errors.Is;
//   - an error matching ErrNotImmich for a 2xx answer that no Immich
//     operation sends: a web page, or anything but JSON from an operation
//     that answers JSON;
//   - the context's error when ctx ended.
//
// Secrets (the API key, a shared link's key) never appear in its errors.
func (c *Client) Do(req *http.Request, op string) (*http.Response, error) {
	resp, err := c.roundTrip(req)
	var be *bodyError
	if errors.As(err, &be) {
		return nil, fmt.Errorf("%s: %w", op, be)
	}
	if err != nil {
		err = redactURLError(err)
		if req.Context().Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return nil, &ConnectionError{Operation: op, URL: c.ServerURL(), Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, newAPIError(op, resp.StatusCode, resp.Header, resp.Body)
	}
	if err := c.checkImmichAnswer(op, resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// roundTrip makes attempts of req until one is final under the policy.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	p := c.retry
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	counter, _ := ctx.Value(attemptsKey{}).(*atomic.Int32)
	_, op := c.operation(req)
	again := repeatable(req.Method, op)
	body := req.Body
	for n := 1; ; n++ {
		if counter != nil {
			counter.Add(1)
		}
		resp, err := c.send(req, body)
		if n >= p.attempts() || ctx.Err() != nil || (hasBody && req.GetBody == nil) ||
			!p.retryable(again, resp, err, c.answered.Load()) {
			return resp, err
		}
		wait := p.backoff(n, resp)
		if resp != nil {
			drain(resp.Body)
			resp.Body.Close()
			c.logger.Debug("retrying", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode, "attempt", n, "wait", wait)
		} else {
			c.logger.Debug("retrying", "method", req.Method, "path", req.URL.Path, "error", redactURLError(err), "attempt", n, "wait", wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		body = nil
		if hasBody {
			if body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("rewinding request body for retry: %w", err)
			}
		}
	}
}

// send makes one attempt of req with body under a stall watch. The watch
// covers sending the body (stall timeout), the wait for the answer (answer
// timeout) and reading the response body (stall timeout) until it is closed.
func (c *Client) send(req *http.Request, body io.ReadCloser) (*http.Response, error) {
	actx, w := newStallWatch(req.Context(), c.retry.stallTimeout(), c.retry.answerTimeout())
	// A shallow copy: nothing below changes the caller's headers or URL,
	// and a deep copy of them cost a kilobyte per request.
	r := req.WithContext(actx)
	switch {
	case body != nil && body != http.NoBody && req.ContentLength > 0 && req.ContentLength <= smallBody:
		b, err := readWhole(body, req.ContentLength)
		if err != nil {
			w.stop()
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		w.answering()
	case body != nil && body != http.NoBody:
		watched := func(rc io.ReadCloser) io.ReadCloser {
			return &stallReader{rc: rc, w: w, ctx: actx, size: req.ContentLength, request: true}
		}
		r.Body = watched(body)
		if req.GetBody != nil {
			r.GetBody = func() (io.ReadCloser, error) {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return watched(b), nil
			}
		}
	default:
		r.Body = body
		w.answering()
	}
	resp, err := c.hc.Do(r)
	if err != nil {
		cause := stallCause(actx)
		w.stop()
		if cause != nil && req.Context().Err() == nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, cause)
		}
		return nil, err
	}
	c.answered.Store(true)
	w.moving()
	resp.Body = &stallReader{rc: resp.Body, w: w, ctx: actx, size: -1, closeFn: w.stop}
	return resp, nil
}

// smallBody is the largest request body send reads whole before sending
// it. net/http writes the headers of a request whose body it cannot see in
// memory on their own, then copies the body part by part (a small photo's
// upload took four writes); a body in memory goes out with its headers in
// one write of the transport's buffer. Reading 64 KiB from a local file
// cannot stall, so the request is then watched by the answer timeout only.
const smallBody = 64 << 10

// bodyError is a failure to read a request body (a file that shrank or
// cannot be read): the request was not sent, and sending it again would
// not help.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// readWhole reads the n bytes of body and closes it.
func readWhole(body io.ReadCloser, n int64) ([]byte, error) {
	defer body.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, &bodyError{err}
	}
	return b, nil
}

// checkImmichAnswer returns an error matching ErrNotImmich when a 2xx
// answer is not what an Immich operation sends: a web page, or a non-empty
// body that is not JSON from an operation that answers JSON (where the
// generated client would leave JSON200 nil). A JSON body sent without a
// JSON content type (a proxy rewrote it, a test server sniffed it) is
// given one, so that the generated client decodes it. It reads at most
// 512 bytes of the body, and puts them back.
func (c *Client) checkImmichAnswer(op string, resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusNoContent || resp.ContentLength == 0 || isJSONType(ct) {
		return nil
	}
	if !isHTMLType(ct) && resp.Request != nil {
		if _, o := c.operation(resp.Request); o != nil && o.binary {
			return nil
		}
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(resp.Body, head)
	head = head[:n]
	rest := io.MultiReader(bytes.NewReader(head), resp.Body)
	switch {
	case n == 0:
		return nil
	case !isHTMLType(ct) && looksLikeJSON(head, n < 512):
		resp.Header.Set("Content-Type", "application/json")
		resp.Body = struct {
			io.Reader
			io.Closer
		}{rest, resp.Body}
		return nil
	}
	return c.notImmich(op, resp.StatusCode, resp.Header, rest)
}

// looksLikeJSON reports whether head, the start of a body (all of it when
// whole), is JSON: an object or an array, or a whole valid JSON value.
func looksLikeJSON(head []byte, whole bool) bool {
	t := bytes.TrimSpace(head)
	if whole {
		return json.Valid(t)
	}
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// notImmich is the error for a 2xx answer that is not Immich's.
func (c *Client) notImmich(op string, status int, header http.Header, body io.Reader) error {
	raw, _ := io.ReadAll(io.LimitReader(body, maxErrorBody))
	what, _ := bodyText(raw, header)
	if ct := header.Get("Content-Type"); what == "" || !strings.HasPrefix(what, "HTML page") {
		what = fmt.Sprintf("%q (%s)", what, ct)
	}
	return fmt.Errorf("%s: %w: the server answered %d with %s where Immich answers JSON; check the URL (%s): it should be the address you open Immich at, e.g. http://nas:2283, with no proxy login page in front of it",
		op, ErrNotImmich, status, what, c.ServerURL())
}

// CheckResponse returns nil for a 2xx answer of a generated operation and an
// error otherwise, classified as Client.Do does (*APIError, ErrNotFound for
// Immich's 400 "Not found or no ... access", ErrNotImmich for a web page).
// It is for api.ClientWithResponses used without a Client: a Client's
// generated operations return these errors themselves. op names the
// operation in the error; body is the response's Body field.
func CheckResponse(op string, resp *http.Response, body []byte) error {
	if resp == nil {
		return fmt.Errorf("%s: no response", op)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(op, resp.StatusCode, resp.Header, bytes.NewReader(body))
	}
	if len(body) > 0 && (isHTMLType(resp.Header.Get("Content-Type")) || looksLikePage(body)) {
		what, _ := bodyText(body, resp.Header)
		return fmt.Errorf("%s: %w: the server answered %d with %s; check the URL: it should be the address you open Immich at", op, ErrNotImmich, resp.StatusCode, what)
	}
	return nil
}

func isJSONType(ct string) bool {
	if ct == "application/json" || ct == "application/json; charset=utf-8" {
		return true // what Immich sends, without parsing it for each answer
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func isHTMLType(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// looksLikePage reports a body that starts like an HTML document.
func looksLikePage(b []byte) bool {
	b = bytes.ToLower(bytes.TrimSpace(b))
	return bytes.HasPrefix(b, []byte("<!doctype html")) || bytes.HasPrefix(b, []byte("<html"))
}

// operationInfo is one operation of the pinned spec (request_ops.gen.go, made by go generate).
type operationInfo struct {
	method, path, id string // path relative to /api, with {name} parameters
	binary           bool   // a 2xx answer is not JSON (a file, a playlist)
}

// operationIndex holds operations by method and number of path segments,
// those with fewer parameters first, so that "/albums/statistics" wins
// over "/albums/{id}".
var operationIndex = sync.OnceValue(func() map[string][]*operationInfo {
	idx := map[string][]*operationInfo{}
	for i := range operations {
		o := &operations[i]
		k := o.method + " " + strconv.Itoa(strings.Count(o.path, "/"))
		idx[k] = append(idx[k], o)
	}
	for _, ops := range idx {
		slices.SortStableFunc(ops, func(a, b *operationInfo) int {
			return strings.Count(a.path, "{") - strings.Count(b.path, "{")
		})
	}
	return idx
})

// lookupOperation returns the operation of the pinned spec that a request
// with method to path (relative to the /api base) calls, or nil.
func lookupOperation(method, path string) *operationInfo {
	path = "/" + strings.Trim(path, "/")
	segs := strings.Split(path, "/")
	for _, o := range operationIndex()[method+" "+strconv.Itoa(len(segs)-1)] {
		if matchPath(strings.Split(o.path, "/"), segs) {
			return o
		}
	}
	return nil
}

func matchPath(pattern, segs []string) bool {
	for i, p := range pattern {
		if !strings.HasPrefix(p, "{") && p != segs[i] {
			return false
		}
	}
	return true
}

// operation returns the name of the operation req calls: its operationId,
// or its method and path when it is not one of the pinned spec.
func (c *Client) operation(req *http.Request) (string, *operationInfo) {
	path := strings.TrimPrefix(req.URL.Path, c.baseURL.Path)
	if o := lookupOperation(req.Method, path); o != nil {
		return o.id, o
	}
	return req.Method + " " + path, nil
}

// doer is the HTTPRequestDoer of the embedded generated client: its
// operations go through Do, named by their operationId.
type doer struct{ c *Client }

func (d doer) Do(req *http.Request) (*http.Response, error) {
	op, _ := d.c.operation(req)
	return d.c.Do(req, op)
}

// redactURLError hides the shared link's key (and slug) in the URL that a
// *url.Error prints ("Get \"https://...?key=...\": connection refused"): a
// link key is a secret and never appears in errors.
func redactURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		ue.URL = "(URL hidden)"
		return err
	}
	q := u.Query()
	for _, k := range []string{"key", "slug"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	ue.URL = u.String()
	return err
}

// maxJSONAnswer bounds the size of a JSON answer callJSON decodes.
const maxJSONAnswer = 64 << 20

// callJSON sends in (JSON, when not nil) to path with method through Do
// and decodes the 2xx answer into out (when not nil). Errors are Do's,
// named op. It decodes only the fields out declares, so it works across
// server releases whose models differ in fields the caller does not use.
func (c *Client) callJSON(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.NewRequest(ctx, method, path, nil, body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req, op)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		drain(resp.Body)
		return nil
	}
	buf := answerBufs.Get().(*bytes.Buffer)
	defer putAnswerBuf(buf)
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxJSONAnswer)); err != nil {
		return fmt.Errorf("%s: reading the answer: %w", op, err)
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("%s: malformed answer from the server (is this Immich?): %w", op, err)
	}
	return nil
}

// answerBufs holds the buffers callJSON reads answers into: a re-run
// reads one bulk-upload-check answer of ~60 KB per 500 files, and a fresh
// buffer (or json.Decoder) grows from nothing for each.
var answerBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putAnswerBuf(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // let a rare large answer's buffer go
	}
	b.Reset()
	answerBufs.Put(b)
}

// drain reads what is left of an unwanted body, up to 64 KiB, so that its
// connection can be reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxErrorBody))
}

// Package wrapper is the high-level Immich client: a Client that embeds the
// generated api.ClientWithResponses, so every Immich operation is one of its
// methods, and adds Upload of files and folders and download-to-file helpers.
package wrapper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goimmich/goimmich/api"
)

// DefaultUserAgent is sent when WithUserAgent is not given.
const DefaultUserAgent = "goimmich"

// Client talks to one Immich server as one user. It is safe for concurrent
// use. Every generated operation of package api is a method of it, through
// the embedded *api.ClientWithResponses.
type Client struct {
	*api.ClientWithResponses

	baseURL   *url.URL // the /api base, without a trailing slash
	hc        *http.Client
	apiKey    string
	bearer    string
	userAgent string
	retry     RetryPolicy
	logger    *slog.Logger
	// answered: the server has answered a request of this Client (see
	// RetryPolicy on unreachable servers).
	answered atomic.Bool
	version  versionCache // ServerVersion's answer, see version.go
}

// Option configures a Client.
type Option func(*Client) error

// WithAPIKey authenticates with an Immich API key, sent in the x-api-key
// header and nowhere else.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(key) == "" {
			return errors.New("wrapper: empty API key")
		}
		c.apiKey = key
		return nil
	}
}

// WithBearerToken authenticates with an access token from POST /auth/login,
// sent as "Authorization: Bearer".
func WithBearerToken(token string) Option {
	return func(c *Client) error {
		if strings.TrimSpace(token) == "" {
			return errors.New("wrapper: empty bearer token")
		}
		c.bearer = token
		return nil
	}
}

// WithHTTPClient sets the HTTP client. Its Timeout should be zero: a total
// time cap cuts long uploads; the Client applies a stall timeout instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("wrapper: nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		c.userAgent = ua
		return nil
	}
}

// WithRetry sets the retry policy (DefaultRetryPolicy otherwise).
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) error {
		c.retry = p
		return nil
	}
}

// WithLogger sets the logger for retries and warnings; nil or absent means
// no logging. Secrets never reach it.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) error {
		c.logger = l
		return nil
	}
}

// New returns a Client for the Immich server at serverURL, for example
// "https://photos.example.com" or "http://nas:2283/api". The URL must be http
// or https with a host; "/api" is appended when missing, as the official CLI
// does.
func New(serverURL string, opts ...Option) (*Client, error) {
	base, err := normalizeURL(serverURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:   base,
		hc:        &http.Client{Transport: defaultTransport()},
		userAgent: DefaultUserAgent,
		retry:     DefaultRetryPolicy(),
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	gen, err := api.NewClientWithResponses(c.baseURL.String(),
		api.WithHTTPClient(&retryDoer{c: c}),
		api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			c.authorize(req)
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("wrapper: %w", err)
	}
	c.ClientWithResponses = gen
	return c, nil
}

// ServerURL returns the /api base URL the Client talks to.
func (c *Client) ServerURL() string { return c.baseURL.String() }

// String describes the Client without its credentials.
func (c *Client) String() string {
	auth := "no credentials"
	switch {
	case c.apiKey != "":
		auth = "API key"
	case c.bearer != "":
		auth = "bearer token"
	}
	return fmt.Sprintf("wrapper.Client{%s, %s}", c.baseURL, auth)
}

// GoString is String, so that %#v does not print credentials either.
func (c *Client) GoString() string { return c.String() }

func normalizeURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("wrapper: empty server URL; give the Immich URL, e.g. https://photos.example.com")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("wrapper: server URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("wrapper: server URL %q must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("wrapper: server URL %q has no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("wrapper: server URL must not hold credentials; use WithAPIKey")
	}
	u.RawQuery, u.Fragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/api") {
		u.Path += "/api"
	}
	u.RawPath = ""
	return u, nil
}

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 0 // waiting for a large upload's answer may take minutes
	return t
}

func (c *Client) authorize(req *http.Request) {
	if c.apiKey != "" {
		req.Header.Set("x-api-key", c.apiKey)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
}

// newRequest builds an authorized request for path, relative to the /api
// base (e.g. "/assets/ID/original").
func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Request, error) {
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

// do sends req with the retry policy and turns a non-2xx answer into an
// *APIError named op (the body is then read and closed). On success the
// caller owns resp.Body.
func (c *Client) do(req *http.Request, op string) (*http.Response, error) {
	resp, err := (&retryDoer{c: c}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, newAPIError(op, resp.StatusCode, resp.Header, resp.Body)
	}
	return resp, nil
}

// CheckResponse returns nil for a 2xx answer of a generated operation and an
// *APIError otherwise. op names the operation in the error; body is the
// response's Body field.
//
//	r, err := c.GetAssetInfoWithResponse(ctx, id, nil)
//	if err == nil { err = wrapper.CheckResponse("getAssetInfo", r.HTTPResponse, r.Body) }
func CheckResponse(op string, resp *http.Response, body []byte) error {
	if resp == nil {
		return fmt.Errorf("%s: no response", op)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	return newAPIError(op, resp.StatusCode, resp.Header, bytes.NewReader(body))
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxJSONAnswer bounds the size of a JSON answer callJSON decodes.
const maxJSONAnswer = 64 << 20

// callJSON sends in (JSON, when not nil) to path with method under the
// retry policy and decodes the 2xx answer into out (when not nil). A non-2xx
// answer is an *APIError named op. It decodes only the fields out declares,
// so it works across server releases whose models differ in fields the
// caller does not use.
func (c *Client) callJSON(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, nil, body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req, op)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
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

// CloseIdleConnections closes the idle keep-alive connections of the
// Client's HTTP client (and so their goroutines). Call it when done with a
// Client; it stays usable.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Package wrapper is the high-level Immich client: a Client that embeds the
// generated api.ClientWithResponses, so every Immich operation is one of its
// methods, and adds Upload of files and folders and download-to-file helpers.
package wrapper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goimmich/goimmich/api"
)

// DefaultUserAgent is sent when WithUserAgent is not given.
const DefaultUserAgent = "goimmich"

// Client talks to one Immich server as one user. It is safe for concurrent
// use. Every generated operation of package api is a method of it, through
// the embedded *api.ClientWithResponses, sent through Do: with the Client's
// credentials and RetryPolicy, and with Do's errors. A generated call that
// returns no error got a 2xx answer that is not a web page, with a JSON
// body where the operation answers JSON; its error names the operation by
// its operationId (e.g. "getAssetInfo").
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
	me       meCache      // Me's answer, see me.go
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
		api.WithHTTPClient(doer{c: c}),
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
	// A small photo's whole request (headers, form, file) goes out in one
	// write instead of three, and a large one in 64 KiB writes.
	t.WriteBufferSize = 64 << 10
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

// CloseIdleConnections closes the idle keep-alive connections of the
// Client's HTTP client (and so their goroutines). Call it when done with a
// Client; it stays usable.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

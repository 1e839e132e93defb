package wrapper

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RetryPolicy says which failed requests are sent again and when, and when a
// transfer counts as stalled.
//
// A request is retried after a connection error, a stall (ErrStalled), a 5xx
// or a 429 answer, only when it is idempotent (GET, HEAD, PUT, DELETE,
// OPTIONS) or a POST that is safe to repeat (an asset upload, which the
// server deduplicates by checksum; bulk-upload-check; restoring from the
// trash), and only when its body can be sent again (req.GetBody is set). The
// wait doubles from BaseDelay up to MaxDelay with full jitter; a Retry-After
// header is honoured (up to 5 minutes). TLS certificate errors are never
// retried. Neither is, unless RetryUnreachable is set, a refused connection
// or a host name that does not resolve while the Client has had no answer
// from the server yet: the URL is wrong or the server is down, and the
// error says so at once instead of after a minute of backoff. Once the
// server has answered, the same errors are retried (a server restarting
// during a long upload).
//
// There is no total time cap on a request: a 20 GB video on a slow link
// completes as long as bytes keep moving.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 5.
	MaxAttempts int
	// BaseDelay is the first backoff. Default 500ms.
	BaseDelay time.Duration
	// MaxDelay caps one backoff. Default 30s.
	MaxDelay time.Duration
	// StallTimeout aborts a transfer that moves no bytes for this long; zero
	// means the default (60s), negative disables it. It never caps the total
	// time of a transfer, and does not run while waiting for the server's
	// answer after the last byte of a request (AnswerTimeout does).
	StallTimeout time.Duration
	// RetryUnreachable retries a refused connection or an unknown host
	// even before the server has ever answered: for a service that may
	// start before Immich does (docker compose).
	RetryUnreachable bool
	// AnswerTimeout bounds the wait for the server's answer after the last
	// byte of a request was sent (the server may take minutes to store a
	// very large file). Zero means the default (10 minutes), negative
	// disables it.
	AnswerTimeout time.Duration
}

// Defaults of RetryPolicy.
const (
	DefaultStallTimeout  = 60 * time.Second
	DefaultAnswerTimeout = 10 * time.Minute
	maxRetryAfter        = 5 * time.Minute
)

// DefaultRetryPolicy: 5 attempts, 500ms doubling to 30s with jitter, 60s stall
// timeout, 10 minutes answer timeout.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second,
		StallTimeout: DefaultStallTimeout, AnswerTimeout: DefaultAnswerTimeout}
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

// stallTimeout is the effective stall timeout; <= 0 means off.
func (p RetryPolicy) stallTimeout() time.Duration {
	if p.StallTimeout == 0 {
		return DefaultStallTimeout
	}
	return p.StallTimeout
}

// answerTimeout is the effective answer timeout; <= 0 means off.
func (p RetryPolicy) answerTimeout() time.Duration {
	if p.AnswerTimeout == 0 {
		return DefaultAnswerTimeout
	}
	return p.AnswerTimeout
}

// backoff is the wait before attempt n+1 (n counts from 1).
func (p RetryPolicy) backoff(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && secs >= 0 {
				return min(time.Duration(secs)*time.Second, maxRetryAfter)
			}
			if t, err := http.ParseTime(s); err == nil {
				return min(max(time.Until(t), 0), maxRetryAfter)
			}
		}
	}
	base, maxd := p.BaseDelay, p.MaxDelay
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if maxd <= 0 {
		maxd = 30 * time.Second
	}
	d := base << min(n-1, 20)
	if d > maxd || d <= 0 {
		d = maxd
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

// retryableError reports whether a transport error is worth another try.
func retryableError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	return !errors.As(err, &cv) && !errors.As(err, &ua) && !errors.As(err, &hn) && !errors.As(err, &ci)
}

// unreachable reports a connection refused or a host name that does not
// resolve.
func unreachable(err error) bool {
	var dns *net.DNSError
	return ConnectionRefused(err) || (errors.As(err, &dns) && dns.IsNotFound)
}

// attemptsKey keys an *atomic.Int32 in a request's context that retryDoer
// increments on every attempt (see withAttemptCounter).
type attemptsKey struct{}

// withAttemptCounter returns a context whose requests count their attempts
// in the returned counter. Upload uses it to tell "duplicate" answers caused
// by its own retry (the first attempt landed, its answer was lost) from real
// duplicates.
func withAttemptCounter(ctx context.Context) (context.Context, *atomic.Int32) {
	n := new(atomic.Int32)
	return context.WithValue(ctx, attemptsKey{}, n), n
}

// retryDoer sends requests through the Client's HTTP client with its retry
// policy and stall watch. The generated client uses it too, so every
// operation is retried and watched under the same rules.
type retryDoer struct{ c *Client }

func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	p := d.c.retry
	ctx := req.Context()
	retryable := isIdempotent(req.Method) || isSafePost(req)
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		retryable = false
	}
	counter, _ := ctx.Value(attemptsKey{}).(*atomic.Int32)
	body := req.Body
	for n := 1; ; n++ {
		if counter != nil {
			counter.Add(1)
		}
		resp, err := d.c.send(req, body)
		last := n >= p.attempts() || !retryable || ctx.Err() != nil
		if err == nil && !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		if err != nil && (!retryableError(err) || (!p.RetryUnreachable && unreachable(err) && !d.c.answered.Load())) {
			last = true
		}
		if last {
			return resp, err
		}
		wait := p.backoff(n, resp)
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
			resp.Body.Close()
			d.c.logger.Debug("retrying", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode, "attempt", n, "wait", wait)
		} else {
			d.c.logger.Debug("retrying", "method", req.Method, "path", req.URL.Path, "error", err, "attempt", n, "wait", wait)
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
	r := req.Clone(actx)
	if body != nil && body != http.NoBody {
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
	} else {
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

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// isSafePost reports whether req is a POST that may be repeated: an asset
// upload (POST /assets: the server answers "duplicate" for a checksum it
// already has), POST /assets/bulk-upload-check (read only) or POST
// /trash/restore/assets (restoring twice is restoring once).
func isSafePost(req *http.Request) bool {
	if req.Method != http.MethodPost {
		return false
	}
	p := strings.TrimRight(req.URL.Path, "/")
	return strings.HasSuffix(p, "/assets") || strings.HasSuffix(p, "/assets/bulk-upload-check") ||
		strings.HasSuffix(p, "/trash/restore/assets")
}

package wrapper

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says which failed requests are sent again and when.
//
// A request is retried after a connection error, a 5xx or a 429 answer, only
// when it is idempotent (GET, HEAD, PUT, DELETE, OPTIONS) or an upload (the
// server deduplicates uploads by checksum), and only when its body can be
// sent again (req.GetBody is set). The wait doubles from BaseDelay up to
// MaxDelay with full jitter; a 429's Retry-After is honoured.
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
	// answer after the last byte of an upload.
	StallTimeout time.Duration
}

// DefaultRetryPolicy: 5 attempts, 500ms doubling to 30s with jitter, 60s stall
// timeout.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second, StallTimeout: 60 * time.Second}
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

// backoff is the wait before attempt n+1 (n counts from 1).
func (p RetryPolicy) backoff(n int, resp *http.Response) time.Duration {
	if resp != nil {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
				return time.Duration(secs) * time.Second
			}
			if t, err := http.ParseTime(s); err == nil {
				if d := time.Until(t); d > 0 {
					return d
				}
				return 0
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

// retryDoer sends requests through the Client's HTTP client with its retry
// policy. The generated client uses it too, so every operation is retried
// under the same rules.
type retryDoer struct{ c *Client }

func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	p := d.c.retry
	retryable := isIdempotent(req.Method) || isUpload(req)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		retryable = false
	}
	for n := 1; ; n++ {
		resp, err := d.c.hc.Do(req)
		last := n >= p.attempts() || !retryable || req.Context().Err() != nil
		if err == nil && !retryableStatus(resp.StatusCode) {
			return resp, nil
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
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, errors.Join(errors.New("rewinding request body for retry"), err)
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
	}
}

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// isUpload reports whether req is POST /assets (asset upload), which is safe
// to repeat: the server answers a duplicate for a checksum it already has.
func isUpload(req *http.Request) bool {
	return req.Method == http.MethodPost && bytes.HasSuffix([]byte(req.URL.Path), []byte("/assets"))
}

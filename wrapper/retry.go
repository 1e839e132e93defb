package wrapper

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// RetryPolicy says which failed requests are sent again and when, and when a
// transfer counts as stalled. It applies to every request of a Client: the
// generated operations, Upload, the download helpers and the command
// line's login check alike.
//
// A 429 answer is retried for any request. A connection error, a stall
// (ErrStalled) or a 5xx answer is retried only when the request is
// idempotent (GET, HEAD, PUT, DELETE, OPTIONS) or a POST that is safe to
// repeat (an asset upload, which the server deduplicates by checksum;
// restoring from the trash; a POST that only reads: bulk-upload-check, a
// metadata search, a zip download). Either way its body must be one that
// can be sent again (req.GetBody is set). The wait doubles from BaseDelay
// up to MaxDelay with full jitter; a Retry-After header is honoured (up to
// 5 minutes). TLS certificate errors are never retried. Neither is, unless
// RetryUnreachable is set, a connection that could not be made (refused,
// timed out, or a host name that does not resolve) while the Client has
// had no answer from the server yet: the URL is wrong or the server is
// down, and the error says so at once instead of after minutes of backoff.
// Once the server has answered, the same errors are retried (a server
// restarting during a long upload).
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
	// RetryUnreachable retries a connection that could not be made
	// (refused, timed out, unknown host) even before the server has ever
	// answered: for a service that may start before Immich does (docker
	// compose).
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

// unreachable reports a connection that could not be made: refused,
// timed out, or to a host name that does not resolve.
func unreachable(err error) bool {
	var op *net.OpError
	return ConnectionRefused(err) || hostNotFound(err) || (errors.As(err, &op) && op.Op == "dial")
}

// hostNotFound reports a host name that does not resolve.
func hostNotFound(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
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

// retryable reports whether an attempt that ended with resp or err is
// worth another under the policy (see RetryPolicy); repeatable says that
// the request may be sent twice (repeatable), answered that the Client has
// had an answer from the server.
func (p RetryPolicy) retryable(repeatable bool, resp *http.Response, err error, answered bool) bool {
	if err == nil {
		// 429: the server refused before doing anything, so any request
		// may be sent again.
		return resp.StatusCode == http.StatusTooManyRequests || (retryableStatus(resp.StatusCode) && repeatable)
	}
	var be *bodyError
	if untrustedCertificate(err) || errors.As(err, &be) || (!p.RetryUnreachable && !answered && unreachable(err)) {
		return false
	}
	return repeatable
}

// retryableStatus reports the statuses worth another attempt: 429 and 5xx.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500
}

func isIdempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// safePosts are the POST operations that may be repeated: an asset upload
// (the server answers "duplicate" for a checksum it already has),
// restoring from the trash (restoring twice is restoring once), and those
// that only read.
var safePosts = map[string]bool{
	"uploadAsset": true, "restoreAssets": true,
	"checkBulkUpload": true, "getDownloadInfo": true, "downloadArchive": true, "searchAssets": true,
}

// repeatable reports whether a request of method to operation o (nil when
// it is none of the pinned spec) may be sent twice.
func repeatable(method string, o *operationInfo) bool {
	return isIdempotent(method) || (method == http.MethodPost && o != nil && safePosts[o.id])
}

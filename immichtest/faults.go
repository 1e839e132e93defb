package immichtest

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// Faults makes the server misbehave on purpose, the way real servers and the
// proxies in front of them do. Which requests are hit is drawn from a
// pseudo-random sequence seeded with Seed, one fixed set of draws per request
// in arrival order, so a sequential client sees the same faults on every run.
// Rates are fractions between 0 and 1. The zero value injects nothing.
type Faults struct {
	// Seed seeds the pseudo-random draws.
	Seed int64
	// Operations limits the faults to these operationIds (for example
	// "uploadAsset", "downloadAsset"); empty means every operation.
	Operations []string
	// ErrorRate is the fraction of requests answered 500 (Immich's error
	// body), 502 or 503 (a proxy's plain-text body), in turn.
	ErrorRate float64
	// CutRate is the fraction of requests with a body whose connection is
	// closed after part of the body was read, without any response.
	CutRate float64
	// TruncateRate is the fraction of binary downloads (original, thumbnail,
	// video playback, archive) whose connection is closed after half the
	// announced Content-Length was sent.
	TruncateRate float64
	// Latency is added before every request is handled.
	Latency time.Duration
	// StallRate is the fraction of requests that stall for Stall: downloads
	// send their first bytes and then nothing; other requests stop reading
	// the request body after its first bytes (or, without a body, wait
	// before answering).
	StallRate float64
	Stall     time.Duration
	// MaxBodySize answers 413 with a proxy's plain-text body when a request
	// announces or sends more body bytes than this; 0 means no limit.
	MaxBodySize int64
	// RateLimitRate is the fraction of requests answered 429 with a
	// Retry-After header of RetryAfter (rounded up to whole seconds).
	RateLimitRate float64
	RetryAfter    time.Duration
}

// SetFaults replaces the faults (and restarts the seeded sequence) while the
// server runs.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	f.Operations = slices.Clone(f.Operations)
	s.faults = f
	s.faultRNG = &faultRand{r: rand.New(rand.NewPCG(uint64(f.Seed), 0x696d6d696368))}
}

type faultRand struct {
	r      *rand.Rand
	errSeq int
}

// faultPlan is what happens to one request.
type faultPlan struct {
	latency   time.Duration
	errStatus int
	cut       bool
	truncate  bool
	stall     time.Duration
	maxBody   int64
	rateLimit time.Duration // > 0: answer 429 with this Retry-After
}

func (s *Server) planFaultsLocked(opID string) *faultPlan {
	f := s.faults
	p := &faultPlan{}
	if len(f.Operations) > 0 && !slices.Contains(f.Operations, opID) {
		return p
	}
	rng := s.faultRNG
	// Always draw the same number of values per request, so the sequence
	// does not depend on which faults are enabled.
	dErr, dCut, dTrunc, dStall, dRate := rng.r.Float64(), rng.r.Float64(), rng.r.Float64(), rng.r.Float64(), rng.r.Float64()
	p.latency = f.Latency
	p.maxBody = f.MaxBodySize
	if dRate < f.RateLimitRate {
		p.rateLimit = max(f.RetryAfter, time.Second)
	}
	if dErr < f.ErrorRate {
		p.errStatus = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[rng.errSeq%3]
		rng.errSeq++
	}
	p.cut = dCut < f.CutRate
	p.truncate = dTrunc < f.TruncateRate
	if dStall < f.StallRate {
		p.stall = f.Stall
	}
	return p
}

var errTooLarge = errors.New("request body larger than the injected MaxBodySize")

// applyFaults runs the request-side faults; it reports whether the request
// was answered (or cut) already.
func (s *Server) applyFaults(c *call) bool {
	p := c.f
	if p.latency > 0 && !s.sleep(c.ctx, p.latency) {
		return true
	}
	if p.rateLimit > 0 {
		secs := int((p.rateLimit + time.Second - 1) / time.Second)
		c.w.Header().Set("Retry-After", fmt.Sprint(secs))
		c.error(http.StatusTooManyRequests, "Too Many Requests")
		return true
	}
	if p.maxBody > 0 {
		if c.r.ContentLength > p.maxBody {
			proxyError(c.w, http.StatusRequestEntityTooLarge)
			c.responded = true
			return true
		}
		c.r.Body = &limitBody{rc: c.r.Body, left: p.maxBody}
	}
	if p.errStatus != 0 {
		if p.errStatus == http.StatusInternalServerError {
			c.error(p.errStatus, "Internal server error")
		} else {
			proxyError(c.w, p.errStatus)
			c.responded = true
		}
		return true
	}
	hasBody := c.r.ContentLength != 0 && c.r.Body != nil && c.r.Body != http.NoBody
	if p.cut && hasBody {
		// Read part of the body, then drop the connection without answering.
		n := c.r.ContentLength / 2
		if n <= 0 || n > 64<<10 {
			n = 64 << 10
		}
		io.CopyN(io.Discard, c.r.Body, n)
		panic(http.ErrAbortHandler)
	}
	if p.stall > 0 && !isDownload(c.rt.opID) {
		if hasBody {
			c.r.Body = &stallBody{rc: c.r.Body, after: 64 << 10, stall: p.stall, s: s, c: c}
		} else if !s.sleep(c.ctx, p.stall) {
			return true
		}
	}
	return false
}

func isDownload(opID string) bool {
	switch opID {
	case "downloadAsset", "viewAsset", "playAssetVideo", "downloadArchive":
		return true
	}
	return false
}

// proxyError answers like a reverse proxy would: plain text, not Immich's
// JSON.
func proxyError(w http.ResponseWriter, status int) {
	// The proxy answers for itself: no correlation id of Immich's.
	w.Header().Del("X-Correlation-ID")
	w.Header().Del("x-immich-cid")
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx</center></body></html>\n",
		status, http.StatusText(status), status, http.StatusText(status))
}

// limitBody fails reads past the injected MaxBodySize with errTooLarge.
type limitBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), errTooLarge
	}
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// stallBody stops reading for stall after the first bytes.
type stallBody struct {
	rc      io.ReadCloser
	after   int64
	read    int64
	stall   time.Duration
	stalled bool
	s       *Server
	c       *call
}

func (b *stallBody) Read(p []byte) (int, error) {
	if !b.stalled && b.read >= b.after {
		b.stalled = true
		if !b.s.sleep(b.c.ctx, b.stall) {
			return 0, errors.New("stalled request ended")
		}
	}
	if !b.stalled && int64(len(p)) > b.after-b.read {
		p = p[:b.after-b.read]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	return n, err
}

func (b *stallBody) Close() error { return b.rc.Close() }

// faultWriter applies the download-side faults (truncate, stall) to a body
// of the given announced length.
type faultWriter struct {
	w       http.ResponseWriter
	c       *call
	total   int64
	written int64
	stalled bool
}

func (fw *faultWriter) Header() http.Header { return fw.w.Header() }
func (fw *faultWriter) WriteHeader(code int) {
	if cl := fw.w.Header().Get("Content-Length"); cl != "" {
		fmt.Sscan(cl, &fw.total)
	}
	fw.w.WriteHeader(code)
}

func (fw *faultWriter) Write(p []byte) (int, error) {
	p0 := len(p)
	if fw.c.f.stall > 0 && !fw.stalled {
		first := min(int64(len(p)), 4096)
		n, err := fw.w.Write(p[:first])
		fw.written += int64(n)
		if err != nil {
			return n, err
		}
		http.NewResponseController(fw.w).Flush()
		fw.stalled = true
		if !fw.c.s.sleep(fw.c.ctx, fw.c.f.stall) {
			panic(http.ErrAbortHandler)
		}
		p = p[first:]
	}
	if fw.c.f.truncate {
		limit := fw.total / 2
		if fw.total <= 0 {
			limit = 32 << 10
		}
		if fw.written+int64(len(p)) >= limit {
			n, _ := fw.w.Write(p[:max(0, limit-fw.written)])
			fw.written += int64(n)
			http.NewResponseController(fw.w).Flush()
			panic(http.ErrAbortHandler)
		}
	}
	n, err := fw.w.Write(p)
	fw.written += int64(n)
	if err != nil {
		return n, err
	}
	return p0, nil
}

func (fw *faultWriter) Flush() { http.NewResponseController(fw.w).Flush() }

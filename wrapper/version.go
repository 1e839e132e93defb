package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// Version is an Immich release, as GET /server/version reports it.
type Version struct {
	Major, Minor, Patch int
}

// OldestSupportedVersion returns the oldest Immich release the Client
// works with (2.3.0).
func OldestSupportedVersion() Version { return Version{Major: 2, Minor: 3, Patch: 0} }

// ErrServerTooOld is matched (errors.Is) by the error of ServerVersion, and
// of operations that need it, when the server runs a release older than
// OldestSupportedVersion.
var ErrServerTooOld = errors.New("server release too old")

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// Less reports whether v is an earlier release than w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// versionCache holds a Client's server version once read.
type versionCache struct {
	mu    sync.Mutex
	v     Version
	known bool
}

// ServerVersion returns the release the server runs (GET /server/version,
// public: no credentials needed). The first successful answer is kept for
// the Client's life, so later calls send nothing; a failed read is not kept
// and the next call asks again. Concurrent first calls send one request.
//
// A server older than OldestSupportedVersion returns its version and an
// error matching ErrServerTooOld that names both releases.
func (c *Client) ServerVersion(ctx context.Context) (Version, error) {
	vc := &c.version
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if !vc.known {
		var v Version
		if err := c.callJSON(ctx, "getServerVersion", http.MethodGet, "/server/version", nil, &struct {
			Major *int `json:"major"`
			Minor *int `json:"minor"`
			Patch *int `json:"patch"`
		}{&v.Major, &v.Minor, &v.Patch}); err != nil {
			return Version{}, err
		}
		if v.Major <= 0 {
			return Version{}, fmt.Errorf("getServerVersion: the answer has no major release (got %s); check the server URL", v)
		}
		vc.v, vc.known = v, true
	}
	if vc.v.Less(OldestSupportedVersion()) {
		return vc.v, fmt.Errorf("wrapper: the server runs Immich %s, older than %s, the oldest release goimmich supports: upgrade the server: %w",
			vc.v, OldestSupportedVersion(), ErrServerTooOld)
	}
	return vc.v, nil
}

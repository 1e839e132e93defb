package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// PermissionError is Upload's error when its API key lacks permissions the
// run needs. It matches ErrForbidden with errors.Is.
type PermissionError struct {
	// Missing lists the Immich permissions the key lacks, e.g. "asset.upload".
	Missing []string
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("wrapper: the API key lacks the permission %s; create a key with it (Immich: Account Settings > API Keys) or one with \"all\"",
		strings.Join(e.Missing, ", "))
}

// Is makes errors.Is(err, ErrForbidden) true.
func (e *PermissionError) Is(target error) bool { return target == ErrForbidden }

// preflight checks the server, its release and the credentials, and learns
// what Upload needs, before any file is read. Its errors say what to do.
func (c *Client) preflight(ctx context.Context, opts UploadOptions) (serverInfo, error) {
	var info serverInfo
	if c.apiKey == "" && c.bearer == "" {
		return info, errors.New("wrapper: no credentials: give an API key with WithAPIKey (create one in Immich under Account Settings > API Keys)")
	}
	if err := c.pingImmich(ctx); err != nil {
		return info, err
	}
	v, err := c.ServerVersion(ctx)
	switch {
	case ctx.Err() != nil:
		return info, ctx.Err()
	case errors.Is(err, ErrServerTooOld):
		return info, err
	case err != nil:
		c.logger.Warn("server version unknown; sending deviceAssetId/deviceId", "error", err)
	default:
		info.version = v
	}
	if info.userID, err = c.myUserID(ctx); err != nil {
		return info, err
	}
	if err := c.checkPermissions(ctx, neededPermissions(opts)); err != nil {
		return info, err
	}
	info.media = c.mediaTypes(ctx)
	return info, ctx.Err()
}

// pingImmich checks that the server answers GET /server/ping like Immich.
func (c *Client) pingImmich(ctx context.Context) error {
	var ping struct {
		Res string `json:"res"`
	}
	err := c.callJSON(ctx, "pingServer", http.MethodGet, "/server/ping", nil, &ping)
	var ae *APIError
	var ce *ConnectionError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err == nil && ping.Res == "pong":
		return nil
	case err == nil:
		return fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping said %q, not \"pong\"); check the server URL", c.baseURL, ping.Res)
	case errors.As(err, &ae):
		return fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping: %w); check the server URL", c.baseURL, err)
	case errors.As(err, &ce):
		return err // it names the server, the cause and what to check
	}
	return fmt.Errorf("wrapper: %s does not answer like an Immich server: %w; check the server URL", c.baseURL, err)
}

// myUserID checks the credentials with Me (GET /users/me, unless the
// Client knows the answer already) and returns the user's id; "" when the
// key may not read it (a key without user.read).
func (c *Client) myUserID(ctx context.Context) (string, error) {
	me, err := c.Me(ctx)
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err == nil:
		return me.Id.String(), nil
	case errors.Is(err, ErrUnauthorized):
		return "", fmt.Errorf("wrapper: the server rejected the credentials: %w", err)
	case errors.Is(err, ErrForbidden):
		// A valid key without user.read (e.g. one made for uploads only):
		// go on; operations it may not do fail per file.
		c.logger.Debug("credentials lack user.read", "error", err)
		return "", nil
	}
	return "", fmt.Errorf("wrapper: checking the credentials: %w", err)
}

// neededPermissions lists the Immich permissions (x-immich-permission of
// the operations) a run with opts certainly uses.
func neededPermissions(opts UploadOptions) []string {
	need := []string{"asset.upload"} // bulk-upload-check and upload
	if opts.AlbumName != "" || opts.AlbumPerFolder {
		need = append(need, "album.read")
		if !opts.DryRun {
			need = append(need, "albumAsset.create")
		}
	}
	if opts.RestoreTrashed && !opts.DryRun {
		need = append(need, "asset.delete")
	}
	return need
}

// checkPermissions asks GET /api-keys/me which permissions the API key
// holds and fails with a *PermissionError naming those of need it lacks.
// Bearer tokens (sessions have every permission of their user) and
// servers that do not answer are not checked: the operations themselves
// then fail per file.
func (c *Client) checkPermissions(ctx context.Context, need []string) error {
	if c.apiKey == "" {
		return nil
	}
	var key struct {
		Permissions []string `json:"permissions"`
	}
	if err := c.callJSON(ctx, "getMyApiKey", http.MethodGet, "/api-keys/me", nil, &key); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.logger.Debug("cannot read the API key's permissions; not checked", "error", err)
		return nil
	}
	if slices.Contains(key.Permissions, "all") {
		return nil
	}
	var missing []string
	for _, p := range need {
		if !slices.Contains(key.Permissions, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return &PermissionError{Missing: missing}
	}
	return nil
}

// mediaTypes asks the server which extensions it accepts, and falls back
// to DefaultMediaTypes.
func (c *Client) mediaTypes(ctx context.Context) MediaTypes {
	var mt struct {
		Image   []string `json:"image"`
		Video   []string `json:"video"`
		Sidecar []string `json:"sidecar"`
	}
	err := c.callJSON(ctx, "getSupportedMediaTypes", http.MethodGet, "/server/media-types", nil, &mt)
	if err != nil || len(mt.Image)+len(mt.Video) == 0 {
		c.logger.Warn("using the built-in list of media types", "error", err)
		return DefaultMediaTypes()
	}
	return MediaTypes{Image: mt.Image, Video: mt.Video, Sidecar: mt.Sidecar}
}

package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// preflight checks the server, its release and the credentials, and learns
// what Upload needs, before any file is read. Its errors say what to do.
func (c *Client) preflight(ctx context.Context) (serverInfo, error) {
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
	var ue *url.Error
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err == nil && ping.Res == "pong":
		return nil
	case err == nil:
		return fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping said %q, not \"pong\"); check the server URL", c.baseURL, ping.Res)
	case errors.As(err, &ae):
		return fmt.Errorf("wrapper: %s does not answer like an Immich server (GET /server/ping: %w); check the server URL", c.baseURL, err)
	case errors.As(err, &ue):
		return fmt.Errorf("wrapper: cannot reach the Immich server at %s: %w; check the URL and that the server is running", c.baseURL, err)
	}
	return fmt.Errorf("wrapper: %s does not answer like an Immich server: %w; check the server URL", c.baseURL, err)
}

// myUserID checks the credentials with GET /users/me and returns the user's
// id ("" for a valid key without user.read).
func (c *Client) myUserID(ctx context.Context) (string, error) {
	var me struct {
		ID string `json:"id"`
	}
	err := c.callJSON(ctx, "getMyUser", http.MethodGet, "/users/me", nil, &me)
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err == nil:
		return me.ID, nil
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

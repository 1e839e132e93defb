package wrapper

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/goimmich/goimmich/api"
	"github.com/google/uuid"
)

// meCache holds a Client's user once read.
type meCache struct {
	mu    sync.Mutex
	me    api.UserAdminResponseDto
	known bool
}

// Me returns the user the Client's credentials belong to (GET /users/me,
// Immich permission user.read). The first successful answer is kept for the
// Client's life, so later calls, Upload's check of the credentials among
// them, send nothing; a failed read is not kept and the next call asks
// again. Concurrent first calls send one request.
//
// Its errors are Do's: a wrong key matches ErrUnauthorized, a key without
// user.read ErrForbidden; an answer without a user id matches ErrNotImmich.
// The returned value is a copy, but its pointer, slice and map fields are
// shared with the kept answer: do not modify what they point to.
func (c *Client) Me(ctx context.Context) (api.UserAdminResponseDto, error) {
	mc := &c.me
	mc.mu.Lock()
	defer mc.mu.Unlock()
	if !mc.known {
		var me api.UserAdminResponseDto
		if err := c.callJSON(ctx, "getMyUser", http.MethodGet, "/users/me", nil, &me); err != nil {
			return api.UserAdminResponseDto{}, err
		}
		if me.Id == uuid.Nil {
			return api.UserAdminResponseDto{}, fmt.Errorf("getMyUser: the answer holds no user; check the server URL: %w", ErrNotImmich)
		}
		mc.me, mc.known = me, true
	}
	return mc.me, nil
}

package immichtest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// authCtx is who is calling.
type authCtx struct {
	userID uuid.UUID
	key    *apiKey  // set for x-api-key auth
	link   *linkRec // set for share-link auth (key or slug)
}

// authenticate follows Immich's auth guard: public operations need nothing;
// share links (key or slug query) where the operation accepts them; then
// x-api-key, then a bearer token (header or immich_access_token cookie).
// It returns a status and message when the request is refused.
func (s *Server) authenticate(rt *route, r *http.Request) (*authCtx, int, string) {
	if rt.public {
		return &authCtx{}, 0, ""
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt.sharedOK && (q.Has("key") || q.Has("slug")) {
		for _, l := range s.links {
			if (q.Has("key") && l.key == q.Get("key")) || (q.Has("slug") && l.slug != "" && l.slug == q.Get("slug")) {
				return &authCtx{userID: l.userID, link: l}, 0, ""
			}
		}
		if q.Has("key") {
			return nil, http.StatusUnauthorized, "Invalid share key"
		}
		return nil, http.StatusUnauthorized, "Invalid share slug"
	}
	if k := r.Header.Get("x-api-key"); k != "" {
		key, ok := s.keys[k]
		if !ok {
			return nil, http.StatusUnauthorized, "Invalid API key"
		}
		if rt.permission != "" && !slices.Contains(key.permissions, "all") && !slices.Contains(key.permissions, rt.permission) {
			return nil, http.StatusForbidden, "Missing required permission: " + rt.permission
		}
		return &authCtx{userID: key.userID, key: key}, 0, ""
	}
	token := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(strings.ToLower(h), "bearer ") {
		token = strings.TrimSpace(h[len("bearer "):])
	} else if ck, err := r.Cookie("immich_access_token"); err == nil {
		token = ck.Value
	}
	if token != "" {
		uid, ok := s.tokens[token]
		if !ok {
			return nil, http.StatusUnauthorized, "Invalid user token"
		}
		return &authCtx{userID: uid}, 0, ""
	}
	return nil, http.StatusUnauthorized, "Authentication required"
}

// login is POST /auth/login: email and password give a bearer token.
func (s *Server) login(c *call) {
	var body struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !c.decode(&body) {
		return
	}
	s.mu.Lock()
	var u *user
	for _, cand := range s.users {
		if strings.EqualFold(cand.email, body.Email) && cand.password == body.Password {
			u = cand
		}
	}
	var token string
	if u != nil {
		token = randomSecret(32)
		s.tokens[token] = u.id
	}
	s.mu.Unlock()
	if u == nil {
		c.error(http.StatusUnauthorized, "Incorrect email or password")
		return
	}
	c.json(http.StatusCreated, map[string]any{
		"accessToken":          token,
		"userId":               u.id.String(),
		"userEmail":            u.email,
		"name":                 u.name,
		"isAdmin":              u.isAdmin,
		"profileImagePath":     "",
		"shouldChangePassword": false,
		"isOnboarded":          true,
	})
}

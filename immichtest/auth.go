package immichtest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// authCtx is who is calling.
type authCtx struct {
	userID uuid.UUID
	key    *apiKey  // set for x-api-key auth
	link   *linkRec // set for share-link auth (key or slug)
}

// authenticate follows Immich's auth guard (AuthService.authenticate):
// public operations need nothing; otherwise the credentials are tried in
// Immich's order: share key (x-immich-share-key or ?key=), share slug
// (x-immich-share-slug or ?slug=), session token (x-immich-user-token,
// x-immich-session-token, ?sessionKey=, Authorization: Bearer, the
// immich_access_token cookie), then API key (x-api-key or ?apiKey=). Then
// admin-only operations refuse non-admins, share links are refused where
// the operation does not accept them, and an API key needs the operation's
// permission. It returns a status and message when the request is refused.
func (s *Server) authenticate(rt *route, r *http.Request) (*authCtx, int, string) {
	if rt.public {
		return &authCtx{}, 0, ""
	}
	q := r.URL.Query()
	first := func(header, query string) string {
		if v := r.Header.Get(header); v != "" {
			return v
		}
		return q.Get(query)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var a *authCtx
	shareKey, shareSlug := first("x-immich-share-key", "key"), first("x-immich-share-slug", "slug")
	session := first("x-immich-user-token", "sessionKey")
	if session == "" {
		session = r.Header.Get("x-immich-session-token")
	}
	if session == "" {
		if typ, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(typ, "bearer") {
			session = tok
		}
	}
	if session == "" {
		if ck, err := r.Cookie("immich_access_token"); err == nil {
			session = ck.Value
		}
	}
	apiKeySecret := first("x-api-key", "apiKey")
	switch {
	case shareKey != "":
		l := s.linkByLocked(func(l *linkRec) bool { return l.key == shareKey })
		if l == nil {
			return nil, http.StatusUnauthorized, "Invalid share key"
		}
		a = &authCtx{userID: l.userID, link: l}
	case shareSlug != "":
		l := s.linkByLocked(func(l *linkRec) bool { return l.slug != "" && l.slug == shareSlug })
		if l == nil {
			return nil, http.StatusUnauthorized, "Invalid share slug"
		}
		a = &authCtx{userID: l.userID, link: l}
	case session != "":
		uid, ok := s.tokens[session]
		if !ok {
			return nil, http.StatusUnauthorized, "Invalid user token"
		}
		a = &authCtx{userID: uid}
	case apiKeySecret != "":
		key, ok := s.keys[apiKeySecret]
		if !ok {
			return nil, http.StatusUnauthorized, "Invalid API key"
		}
		a = &authCtx{userID: key.userID, key: key}
	default:
		return nil, http.StatusUnauthorized, "Authentication required"
	}
	if admin, _ := rt.op.Extensions["x-immich-admin-only"].(bool); admin && !s.users[a.userID].isAdmin {
		return nil, http.StatusForbidden, "Forbidden"
	}
	if a.link != nil && !rt.sharedOK {
		return nil, http.StatusForbidden, "Forbidden"
	}
	if k := a.key; k != nil && rt.permission != "" && !slices.Contains(k.permissions, "all") && !slices.Contains(k.permissions, rt.permission) {
		return nil, http.StatusForbidden, "Missing required permission: " + rt.permission
	}
	return a, 0, ""
}

// linkByLocked returns the first valid (not expired) link matching.
func (s *Server) linkByLocked(match func(*linkRec) bool) *linkRec {
	for _, l := range s.links {
		if !match(l) {
			continue
		}
		if l.expiresAt != nil {
			if t, err := time.Parse(time.RFC3339Nano, *l.expiresAt); err == nil && !t.After(time.Now()) {
				continue
			}
		}
		return l
	}
	return nil
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

// logout is POST /auth/logout: a session token stops working.
func (s *Server) logout(c *call) {
	if _, tok, ok := cutBearer(c.r); ok {
		s.mu.Lock()
		delete(s.tokens, tok)
		s.mu.Unlock()
	}
	c.json(http.StatusOK, map[string]any{"successful": true, "redirectUri": "/auth/login?autoLaunch=0"})
}

func cutBearer(r *http.Request) (string, string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && (h[:7] == "Bearer " || h[:7] == "bearer ") {
		return "Bearer", h[7:], true
	}
	return "", "", false
}

// validateAccessToken is POST /auth/validateToken: the guard has accepted
// the credentials already.
func (s *Server) validateAccessToken(c *call) {
	c.json(http.StatusOK, map[string]any{"authStatus": true})
}

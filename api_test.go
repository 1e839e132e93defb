package goimmich_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
	"github.com/goimmich/goimmich/api/apispec"
)

// TestEveryOperationHasAMethod checks that api.ClientWithResponses has an
// OperationIdWithResponse method for every operation of the pinned spec.
func TestEveryOperationHasAMethod(t *testing.T) {
	spec, err := apispec.GetSpec()
	if err != nil {
		t.Fatalf("loading embedded spec: %v", err)
	}
	typ := reflect.TypeFor[*api.ClientWithResponses]()
	var ops, missing []string
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
				continue
			}
			ops = append(ops, op.OperationID)
			// Operations with a typed JSON body get OpWithResponse; those
			// whose body is multipart or a form only get the streaming
			// OpWithBodyWithResponse (content type and io.Reader).
			name := strings.ToUpper(op.OperationID[:1]) + op.OperationID[1:]
			_, typed := typ.MethodByName(name + "WithResponse")
			_, raw := typ.MethodByName(name + "WithBodyWithResponse")
			if !typed && !raw {
				missing = append(missing, name+"WithResponse")
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d operations lack a method on api.ClientWithResponses: %v", len(missing), len(ops), missing)
	}
	// Immich 3.0.3 has 254 operations; a much smaller count means the spec
	// or the generator lost some.
	if len(ops) < 200 {
		t.Errorf("embedded spec has %d operations; expected the whole Immich API (254 in 3.0.3)", len(ops))
	}
	t.Logf("%d operations, all with a generated method", len(ops))
}

// TestGeneratedClientOverLoopback calls a few generated operations against a
// real HTTP server on loopback and checks requests and decoded responses.
func TestGeneratedClientOverLoopback(t *testing.T) {
	const key = "test-key-123"
	userID := uuid.New()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

	mux := http.NewServeMux()
	requireKey := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("x-api-key") != key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Invalid API key","error":"Unauthorized","statusCode":401,"correlationId":"abc"}`))
			return false
		}
		return true
	}
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /api/server/ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"res": "pong"})
	})
	mux.HandleFunc("GET /api/server/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"major": 3, "minor": 0, "patch": 3})
	})
	mux.HandleFunc("GET /api/users/me", func(w http.ResponseWriter, r *http.Request) {
		if !requireKey(w, r) {
			return
		}
		writeJSON(w, map[string]any{
			"avatarColor": "primary", "createdAt": created, "deletedAt": nil,
			"email": "admin@example.com", "id": userID, "isAdmin": true, "license": nil,
			"name": "Admin", "oauthId": "", "profileChangedAt": created, "profileImagePath": "",
			"quotaSizeInBytes": nil, "quotaUsageInBytes": 1234, "shouldChangePassword": false,
			"status": "active", "storageLabel": "admin", "updatedAt": created,
		})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	withKey := api.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("x-api-key", key)
		return nil
	})
	c, err := api.NewClientWithResponses(srv.URL+"/api", withKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	ping, err := c.PingServerWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ping.StatusCode() != 200 || ping.JSON200 == nil || ping.JSON200.Res != "pong" {
		t.Errorf("ping: status %d, body %+v", ping.StatusCode(), ping.JSON200)
	}

	ver, err := c.GetServerVersionWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ver.JSON200 == nil || *ver.JSON200 != (api.ServerVersionResponseDto{Major: 3, Minor: 0, Patch: 3}) {
		t.Errorf("version: %+v", ver.JSON200)
	}

	me, err := c.GetMyUserWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := me.JSON200
	if u == nil {
		t.Fatalf("users/me: status %d, body %s", me.StatusCode(), me.Body)
	}
	if u.Id != userID || string(u.Email) != "admin@example.com" || !u.IsAdmin || u.Status != api.UserStatusActive ||
		!u.CreatedAt.Equal(created) || u.QuotaUsageInBytes == nil || *u.QuotaUsageInBytes != 1234 ||
		u.QuotaSizeInBytes != nil || u.StorageLabel == nil || *u.StorageLabel != "admin" {
		t.Errorf("users/me decoded wrong: %+v", u)
	}

	// Without the key the server's 401 is surfaced, not decoded as a user.
	anon, err := api.NewClientWithResponses(srv.URL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	me, err = anon.GetMyUserWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if me.StatusCode() != http.StatusUnauthorized || me.JSON200 != nil {
		t.Errorf("users/me without key: status %d, user %+v", me.StatusCode(), me.JSON200)
	}
}

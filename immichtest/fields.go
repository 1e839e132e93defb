package immichtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// valueRule says whether the fake honours a field with this value: the raw
// JSON of a body property, or the text of a query parameter or multipart
// field. A nil rule honours every value the spec allows.
type valueRule func(v string) bool

// emptyList honours a list field only when it is empty: Immich does nothing
// with an empty list of album users or metadata items, which the fake can
// promise; a non-empty one it does not implement.
func emptyList(v string) bool { return strings.TrimSpace(v) == "[]" }

// oneOf honours the listed values only (JSON text or query/form text).
func oneOf(vals ...string) valueRule {
	return func(v string) bool { return slices.Contains(vals, strings.Trim(strings.TrimSpace(v), `"`)) }
}

// honoured lists, per operationId, the request fields the fake implements
// with the semantics of Immich's server: JSON body properties, query
// parameters and multipart form fields, by name (path parameters and the
// headers the spec lists are always honoured). A request that sends a field
// of the spec missing here (or with a value its rule refuses) is answered
// 501 and recorded as Unimplemented, so a test never passes or fails
// because the fake silently ignored what it was asked. Fields the spec does
// not have are dropped, as Immich's validation drops unknown properties.
// Operations under /search/ honour every field of their spec (their
// handlers implement them all; see route.allFields).
var honoured = map[string]map[string]valueRule{
	// key and slug authenticate share links (authenticate).
	"uploadAsset": {
		"key": nil, "slug": nil,
		"assetData": nil, "sidecarData": nil, "deviceAssetId": nil, "deviceId": nil,
		"fileCreatedAt": nil, "fileModifiedAt": nil, "filename": nil, "isFavorite": nil,
		"visibility": nil, "duration": nil, "metadata": nil,
	},
	"replaceAsset": {
		"key": nil, "slug": nil,
		"assetData": nil, "deviceAssetId": nil, "deviceId": nil, "duration": nil,
		"fileCreatedAt": nil, "fileModifiedAt": nil, "filename": nil,
	},
	"checkBulkUpload":     {"assets": nil},
	"checkExistingAssets": {"deviceAssetIds": nil, "deviceId": nil},
	"getAssetInfo":        {"key": nil, "slug": nil},
	"getAssetMetadata":    {},
	// The fake never has edits: Immich serves the original then.
	"downloadAsset":  {"key": nil, "slug": nil, "edited": nil},
	"playAssetVideo": {"key": nil, "slug": nil},
	// fullsize is the original (web images) or a redirect to the preview
	// in Immich; the fake serves neither.
	"viewAsset":          {"key": nil, "slug": nil, "edited": nil, "size": oneOf("thumbnail", "preview", "original")},
	"deleteAssets":       {"ids": nil, "force": nil},
	"updateAsset":        {"isFavorite": nil, "visibility": nil, "description": nil},
	"updateAssets":       {"ids": nil, "isFavorite": nil, "visibility": nil, "description": nil},
	"getAssetStatistics": {"isFavorite": nil, "isTrashed": nil, "visibility": nil},
	"restoreTrash":       {},
	"restoreAssets":      {"ids": nil},
	"emptyTrash":         {},

	"getAllAlbums":       {"assetId": nil, "shared": nil, "id": nil, "name": nil, "isShared": nil, "isOwned": nil},
	"createAlbum":        {"albumName": nil, "description": nil, "assetIds": nil, "albumUsers": emptyList},
	"getAlbumInfo":       {"key": nil, "slug": nil, "withoutAssets": nil},
	"deleteAlbum":        {},
	"updateAlbumInfo":    {"albumName": nil, "description": nil, "isActivityEnabled": nil, "order": nil, "albumThumbnailAssetId": nil},
	"getAlbumStatistics": {},
	// Adding to an album through a share link answers 501 (the handlers).
	"addAssetsToAlbum":     {"ids": nil},
	"addAssetsToAlbums":    {"albumIds": nil, "assetIds": nil},
	"removeAssetFromAlbum": {"ids": nil},

	"getDownloadInfo": {"key": nil, "slug": nil, "assetIds": nil, "albumId": nil, "userId": nil, "archiveSize": nil},
	"downloadArchive": {"key": nil, "slug": nil, "assetIds": nil, "edited": nil},

	// A password protects a link in Immich, and hidden metadata strips the
	// assets answered through it; the fake does neither.
	"createSharedLink": {
		"type": nil, "albumId": nil, "assetIds": nil, "allowDownload": nil, "allowUpload": nil,
		"showMetadata": oneOf("true"), "slug": nil, "description": nil, "expiresAt": nil,
	},
	"getAllSharedLinks": {"albumId": nil, "id": nil},
	"getMySharedLink":   {"key": nil, "slug": nil},
	"getSharedLinkById": {},
	"removeSharedLink":  {},

	"login":                  {"email": nil, "password": nil},
	"logout":                 {},
	"validateAccessToken":    {},
	"pingServer":             {},
	"getServerVersion":       {},
	"getAboutInfo":           {},
	"getServerFeatures":      {},
	"getServerConfig":        {},
	"getSupportedMediaTypes": {},
	"getServerStatistics":    {},
	"getStorage":             {},
	"getMyUser":              {},
	"getMyApiKey":            {},
}

// honours reports whether the fake implements field name of rt with value v.
func (rt *route) honours(name, v string) bool {
	if rt.allFields {
		return true
	}
	rule, ok := honoured[rt.opID][name]
	return ok && (rule == nil || rule(v))
}

// unhonoured answers 501 naming a field the fake does not implement and
// records it (Unimplemented), so NewTestServer fails the test.
func (c *call) unhonoured(field string) {
	msg := fmt.Sprintf("immichtest does not implement field %s of operation %s", field, c.rt.opID)
	c.s.recordFailure(ValidationFailure{OperationID: c.rt.opID, Method: c.r.Method, Path: c.r.URL.Path, Err: msg, Unimplemented: true})
	c.error(http.StatusNotImplemented, msg)
}

// checkFields finds the first query parameter or JSON body property of the
// spec that the request sends and the fake does not honour; it answers 501
// and reports false then. Multipart fields are checked as they stream in
// (receiveUpload). The JSON body was buffered by validation; it is read and
// put back.
func (c *call) checkFields() bool {
	if c.rt.unruled {
		return true
	}
	q := c.r.URL.Query()
	for _, p := range c.rt.op.Parameters {
		if p.Value == nil || p.Value.In != "query" || !q.Has(p.Value.Name) {
			continue
		}
		if !c.rt.honours(p.Value.Name, q.Get(p.Value.Name)) {
			c.unhonoured(p.Value.Name)
			return false
		}
	}
	if c.rt.multipart || c.rt.op.RequestBody == nil || c.rt.op.RequestBody.Value == nil {
		return true
	}
	media := c.rt.op.RequestBody.Value.Content["application/json"]
	if media == nil || media.Schema == nil || media.Schema.Value == nil || c.r.Body == nil {
		return true
	}
	data, err := io.ReadAll(c.r.Body)
	if err != nil {
		c.error(http.StatusBadRequest, "reading the body: "+err.Error())
		return false
	}
	c.r.Body = io.NopCloser(bytes.NewReader(data))
	var props map[string]json.RawMessage
	if json.Unmarshal(data, &props) != nil {
		return true // not an object: validation decided already
	}
	for _, name := range sortedKeys(props) {
		if media.Schema.Value.Properties[name] == nil {
			continue // unknown properties are dropped, as Immich does
		}
		if !c.rt.honours(name, string(props[name])) {
			c.unhonoured(name)
			return false
		}
	}
	return true
}

// honouredFields returns the request fields (JSON body properties, query
// parameters, multipart form fields) the fake implements for the operation
// in the spec it serves, sorted; any other field of the spec is answered
// 501. It returns nil for an operation the fake does not implement.
func (s *Server) honouredFields(operationID string) []string {
	for _, e := range s.router.routes {
		if e.rt.opID != operationID || e.h == nil {
			continue
		}
		var out []string
		for _, name := range specFields(e.rt) {
			if e.rt.allFields {
				out = append(out, name)
				continue
			}
			if _, ok := honoured[operationID][name]; ok {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return nil
}

// honoursAnyValue reports whether the fake honours every query parameter
// and body property the spec gives rt's operation, with no rule on values.
func honoursAnyValue(rt *route) bool {
	fields, ok := honoured[rt.opID]
	if !ok {
		return false
	}
	for _, name := range specFields(rt) {
		if rule, ok := fields[name]; !ok || rule != nil {
			return false
		}
	}
	return true
}

// specFields lists the query parameters and request body properties the
// spec gives the operation.
func specFields(rt *route) []string {
	var out []string
	for _, p := range rt.op.Parameters {
		if p.Value != nil && p.Value.In == "query" {
			out = append(out, p.Value.Name)
		}
	}
	if rt.op.RequestBody != nil && rt.op.RequestBody.Value != nil {
		for _, media := range rt.op.RequestBody.Value.Content {
			if media.Schema != nil && media.Schema.Value != nil {
				for name := range media.Schema.Value.Properties {
					out = append(out, name)
				}
			}
		}
	}
	return out
}

package immichtest

import (
	"fmt"
	"net/http"
)

// handlers maps operationIds to their implementation. Operations of the spec
// missing here answer 501 and are recorded (Unimplemented); the request
// fields each one honours are listed in fields.go.
func (s *Server) handlers() map[string]handlerFunc {
	return map[string]handlerFunc{
		"pingServer":             s.ping,
		"getServerVersion":       s.serverVersion,
		"getAboutInfo":           s.about,
		"getServerFeatures":      s.features,
		"getServerConfig":        s.serverConfig,
		"getSupportedMediaTypes": s.mediaTypes,
		"getServerStatistics":    s.serverStatistics,
		"getMyUser":              s.myUser,
		"getMyApiKey":            s.myAPIKey,
		"login":                  s.login,
		"uploadAsset":            s.uploadAsset,
		"replaceAsset":           s.replaceAsset,
		"checkBulkUpload":        s.bulkUploadCheck,
		"checkExistingAssets":    s.checkExistingAssets,
		"getAssetInfo":           s.getAsset,
		"getAssetMetadata":       s.assetMetadata,
		"downloadAsset":          s.downloadAsset,
		"viewAsset":              s.viewAsset,
		"playAssetVideo":         s.playVideo,
		"deleteAssets":           s.deleteAssets,
		"updateAsset":            s.updateAsset,
		"updateAssets":           s.updateAssets,
		"getAssetStatistics":     s.assetStatistics,
		"restoreTrash":           s.restoreTrash,
		"restoreAssets":          s.restoreAssets,
		"emptyTrash":             s.emptyTrash,
		"searchAssets":           s.searchAssets,
		"searchAssetStatistics":  s.searchStatistics,
		"getAllAlbums":           s.listAlbums,
		"createAlbum":            s.createAlbum,
		"getAlbumInfo":           s.getAlbum,
		"deleteAlbum":            s.deleteAlbum,
		"addAssetsToAlbum":       s.addAssetsToAlbum,
		"addAssetsToAlbums":      s.addAssetsToAlbums,
		"removeAssetFromAlbum":   s.removeAssetsFromAlbum,
		"getDownloadInfo":        s.downloadInfo,
		"downloadArchive":        s.downloadArchive,
		"createSharedLink":       s.createSharedLink,
		"getAllSharedLinks":      s.listSharedLinks,
		"getMySharedLink":        s.mySharedLink,
		"getSharedLinkById":      s.getSharedLink,
		"removeSharedLink":       s.removeSharedLink,
		"updateAlbumInfo":        s.updateAlbum,
		"getAlbumStatistics":     s.albumStatistics,
		"getStorage":             s.storage,
		"logout":                 s.logout,
		"validateAccessToken":    s.validateAccessToken,
	}
}

func (s *Server) ping(c *call) { c.json(http.StatusOK, map[string]any{"res": "pong"}) }

func (s *Server) serverVersion(c *call) {
	c.json(http.StatusOK, map[string]any{"major": s.version[0], "minor": s.version[1], "patch": s.version[2], "prerelease": nil})
}

func (s *Server) about(c *call) {
	v := "v" + s.spec.Info.Version
	c.json(http.StatusOK, map[string]any{
		"version":    v,
		"versionUrl": "https://github.com/immich-app/immich/releases/tag/" + v,
		"licensed":   false,
		"build":      "immichtest",
		"nodejs":     "immichtest (Go)",
		"repository": "immich-app/immich",
	})
}

func (s *Server) features(c *call) {
	c.json(http.StatusOK, map[string]any{
		"configFile": false, "duplicateDetection": false, "email": false, "facialRecognition": false,
		"importFaces": false, "map": false, "oauth": false, "oauthAutoLaunch": false, "ocr": false,
		"passwordLogin": true, "realtimeTranscoding": false, "reverseGeocoding": false, "search": true,
		"sidecar": true, "smartSearch": false, "trash": true,
	})
}

func (s *Server) serverConfig(c *call) {
	c.json(http.StatusOK, map[string]any{
		"externalDomain": "", "isInitialized": true, "isOnboarded": true, "loginPageMessage": "",
		"maintenanceMode": false, "mapDarkStyleUrl": "", "mapLightStyleUrl": "", "minFaces": 3,
		"oauthButtonText": "Login with OAuth", "publicUsers": true, "trashDays": 30, "userDeleteDelay": 7,
	})
}

func (s *Server) mediaTypes(c *call) {
	c.json(http.StatusOK, map[string]any{
		"image":   extList(rawTypes, otherImageTypes),
		"video":   extList(videoTypes),
		"sidecar": extList(sidecarTypes),
	})
}

func (s *Server) serverStatistics(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type acc struct{ photos, videos, usage, usagePhotos, usageVideos int64 }
	per := map[string]*acc{}
	total := &acc{}
	for _, a := range s.assets {
		if a.IsTrashed {
			continue
		}
		u := per[a.OwnerID.String()]
		if u == nil {
			u = &acc{}
			per[a.OwnerID.String()] = u
		}
		for _, x := range []*acc{u, total} {
			x.usage += a.Size
			switch a.Type {
			case "IMAGE":
				x.photos++
				x.usagePhotos += a.Size
			case "VIDEO":
				x.videos++
				x.usageVideos += a.Size
			}
		}
	}
	byUser := []any{}
	for _, u := range s.sortedUsersLocked() {
		x := per[u.id.String()]
		if x == nil {
			x = &acc{}
		}
		byUser = append(byUser, map[string]any{
			"userId": u.id.String(), "userName": u.name, "photos": x.photos, "videos": x.videos,
			"usage": x.usage, "usagePhotos": x.usagePhotos, "usageVideos": x.usageVideos, "quotaSizeInBytes": nil,
		})
	}
	c.json(http.StatusOK, map[string]any{
		"photos": total.photos, "videos": total.videos, "usage": total.usage,
		"usagePhotos": total.usagePhotos, "usageVideos": total.usageVideos, "usageByUser": byUser,
	})
}

func (s *Server) sortedUsersLocked() []*user {
	out := make([]*user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].createdAt.Before(out[j-1].createdAt); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func (s *Server) myUser(c *call) {
	s.mu.Lock()
	u := s.users[c.auth.userID]
	var usage int64
	for _, a := range s.assets {
		if a.OwnerID == u.id {
			usage += a.Size
		}
	}
	s.mu.Unlock()
	c.json(http.StatusOK, map[string]any{
		"id": u.id.String(), "email": u.email, "name": u.name, "isAdmin": u.isAdmin,
		"avatarColor": "primary", "createdAt": ts(u.createdAt), "updatedAt": ts(u.createdAt),
		"deletedAt": nil, "license": nil, "oauthId": "", "profileChangedAt": ts(u.createdAt),
		"profileImagePath": "", "quotaSizeInBytes": nil, "quotaUsageInBytes": usage,
		"shouldChangePassword": false, "status": "active", "storageLabel": map[bool]any{true: "admin", false: nil}[u.isAdmin],
	})
}

func (s *Server) myAPIKey(c *call) {
	k := c.auth.key
	if k == nil {
		c.error(http.StatusForbidden, "Not authenticated with an API key")
		return
	}
	c.json(http.StatusOK, map[string]any{
		"id": k.id.String(), "name": k.name, "permissions": k.permissions,
		"createdAt": ts(k.createdAt), "updatedAt": ts(k.createdAt),
	})
}

// storage is GET /server/storage: a fixed 1 TiB disk whose use is the size
// of the stored assets.
func (s *Server) storage(c *call) {
	const size = int64(1) << 40
	s.mu.Lock()
	var used int64
	for _, a := range s.assets {
		used += a.Size
	}
	s.mu.Unlock()
	human := func(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
	c.json(http.StatusOK, map[string]any{
		"diskSize": human(size), "diskSizeRaw": size, "diskUse": human(used), "diskUseRaw": used,
		"diskAvailable": human(size - used), "diskAvailableRaw": size - used,
		"diskUsagePercentage": float64(used) * 100 / float64(size),
	})
}

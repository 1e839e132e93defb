// Package immichtest is a fake Immich server for tests: it runs on a
// loopback httptest.Server, behaves like Immich (as its server source
// defines it) for what a client does with assets, checks every request and
// response against Immich's OpenAPI spec, and can misbehave on purpose.
//
// Start one with NewServer (or Start, which returns errors instead of
// panicking, or NewTestServer, which also closes it and fails the test on a
// bug of the fake), point a client at URL with the x-api-key APIKey, and
// assert what the server holds with Assets, Albums and the other inspection
// methods.
//
// # Validation
//
// Each request is checked with kin-openapi's openapi3filter against the
// pinned spec embedded in package api/apispec (Immich 3.0.3), or against the
// spec file given with WithSpecFile, so the same test can run against Immich
// 2.x (which requires deviceAssetId and deviceId on upload) and 3.x. A
// request that violates the spec is answered 400 and recorded (see
// ValidationFailures); so is a path no operation of the spec has (404,
// "Cannot GET /api/..."). Unknown multipart text fields and JSON properties
// are dropped, as Immich does; unknown file parts are refused ("Unexpected
// field"). Uploads are validated without buffering the file: the body is
// streamed, then an equivalent multipart body with the same fields and an
// empty file is validated. Every JSON response of the fake is validated
// before it is sent; one that violates the spec is a bug of the fake,
// answered 500 and recorded with Response set (NewTestServer fails the test
// then). Binary responses have their status and headers validated.
//
// # Errors and correlation ids
//
// Error answers have the shape of the spec's major. Immich 3:
// {"message": "..."}, and for a request the spec rejects
// {"message": "Validation failed", "errors": [{"code", "path", "message"}]}
// (zod's issues: the path of the field, array indexes as numbers); every
// answer carries an X-Correlation-ID header, the caller's own when its
// request had one. Immich 2: {"message", "error", "statusCode",
// "correlationId"}, the message a list of strings for a rejected request, no
// "error" on a 500; the correlation id also in the x-immich-cid header (the
// caller's, when sent).
//
// # Fields it honours, and 501
//
// The fake never ignores what it is asked. For every operation it serves,
// each request field of the spec (JSON body property, query parameter,
// multipart form field) is either implemented with the real server's
// semantics or answered 501 {"message": "immichtest does not implement field
// X of operation Y"} and recorded as a ValidationFailure with Unimplemented
// set, which fails a test started with NewTestServer. An operation of the
// spec without a handler answers 501 "immichtest does not implement
// operation Y" and is recorded the same way. Path parameters and the
// headers of the spec are always honoured.
//
// # What it implements
//
// Authentication in Immich's order: share key (x-immich-share-key or ?key=),
// share slug, session token (Authorization: Bearer from POST /auth/login,
// the immich_access_token cookie, x-immich-user-token), API key (x-api-key
// or ?apiKey=); 401 with Immich's messages otherwise. Admin-only operations
// refuse other users, share links work only where the spec takes a key
// parameter, and an API key needs the operation's x-immich-permission
// (AddUser and NewAPIKey make other users and limited keys). Sessions are
// never elevated by a PIN code, so locked assets are out of reach, as they
// are in Immich without one.
//
// Below, each operation with the request fields it honours; any other field
// of its spec answers 501.
//
// Server and users: pingServer, getServerVersion, getAboutInfo (from the
// spec's release), getServerFeatures, getServerConfig,
// getSupportedMediaTypes (Immich's extension lists), getServerStatistics,
// getStorage, getMyUser, getMyApiKey, login (email, password), logout,
// validateAccessToken; and /.well-known/immich.
//
// Assets:
//   - uploadAsset (POST /assets): assetData, sidecarData, deviceAssetId,
//     deviceId, fileCreatedAt, fileModifiedAt, filename, isFavorite,
//     visibility, duration, metadata (kept, one value per key, read back
//     with getAssetMetadata), key, slug. SHA-1 computed while streaming, an
//     x-immich-checksum pre-check before the body is read, 201 created or
//     200 duplicate with the existing id even when it is trashed, file types
//     checked by extension when each file arrives; through a share link the
//     asset joins the link. Not livePhotoVideoId.
//   - replaceAsset (2.x): assetData, deviceAssetId, deviceId, duration,
//     fileCreatedAt, fileModifiedAt, filename, key, slug.
//   - checkBulkUpload: assets (hex or base64 checksums; duplicates with
//     assetId and isTrashed). checkExistingAssets (2.x): deviceId,
//     deviceAssetIds.
//   - getAssetInfo (a full AssetResponseDto of the spec's release): key,
//     slug. getAssetMetadata.
//   - downloadAsset: key, slug, edited (there are no edits: the original).
//     playAssetVideo: key, slug. Range/206, a weak ETag honoured by
//     If-None-Match and If-Range, Content-Length, Content-Disposition.
//   - viewAsset: key, slug, edited, size thumbnail or preview (JPEG images,
//     250 or 1440 pixels on the short side, scaled from the original when it
//     is a JPEG, PNG or GIF; Immich sends WebP, the fake says image/jpeg);
//     size original is refused as Immich does; fullsize answers 501.
//   - updateAsset: isFavorite, visibility, description. updateAssets: ids,
//     isFavorite, visibility, description (locking takes the assets out of
//     every album). Not dateTimeOriginal, latitude, longitude, rating,
//     livePhotoVideoId, duplicateId, dateTimeRelative, timeZone.
//   - deleteAssets: ids, force. restoreAssets: ids. restoreTrash,
//     emptyTrash.
//   - getAssetStatistics: isFavorite, isTrashed, visibility (by default the
//     timeline and the archive).
//
// Search: see the next section.
//
// Albums:
//   - getAllAlbums (newest first): assetId; 2.x shared; 3.x id, name,
//     isOwned, isShared (an album is shared when it has a share link: the
//     fake has no album users).
//   - createAlbum: albumName, description, assetIds (those the caller may
//     not share are left out), albumUsers only when empty.
//   - getAlbumInfo: key, slug, withoutAssets (2.x). updateAlbumInfo:
//     albumName, description, isActivityEnabled, order,
//     albumThumbnailAssetId (an asset of the album). deleteAlbum,
//     getAlbumStatistics.
//   - addAssetsToAlbum: ids; addAssetsToAlbums: albumIds, assetIds;
//     removeAssetFromAlbum: ids; Immich's per-asset results ("duplicate",
//     "no_permission", "not_found"). Adding through a share link answers
//     501.
//
// Downloads: getDownloadInfo: assetIds, albumId, userId, archiveSize, key,
// slug (archives split by archiveSize as Immich does). downloadArchive:
// assetIds, edited, key, slug (a zip stream with sanitised, de-duplicated
// names).
//
// Shared links: createSharedLink: type, albumId, assetIds, allowDownload,
// allowUpload, showMetadata only true, slug, description, expiresAt (not
// password); Immich's defaults. getAllSharedLinks: albumId, id.
// getMySharedLink: key, slug (not password, token). getSharedLinkById,
// removeSharedLink.
//
// Every other operation of the spec answers 501.
//
// Assets of different users are invisible to each other; asking for one
// answers 400 "Not found or no asset.read access" as Immich does.
//
// # Search
//
// searchAssets (POST /search/metadata), and any other operation under
// /search/ the fake serves, honours every request field of its spec (the
// list is taken from the spec, so it follows each release).
//
// # Faults and inspection
//
// Faults (WithFaults, SetFaults) injects 5xx answers, cut connections,
// truncated downloads, latency, stalls, 413 and 429, deterministically from
// a seed. Assets, Asset, AssetContent, Albums, RequestCount, RequestCounts,
// ValidationFailures and BytesReceived show what the server really holds
// and saw, so a test asserts that rather than what a client reports.
//
// # Storage and memory
//
// Bodies are kept in memory unless WithDataDir is given; then they are
// streamed to files (ID[0:2]/ID[2:4]/ID.EXT under the data dir, as Immich
// lays out uploads), and an upload's heap cost does
// not depend on its size: BenchmarkUploadDataDir1GiB measures the peak heap
// growth of a 1 GiB upload.
package immichtest

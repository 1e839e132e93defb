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
// request that violates the spec is answered 400 with Immich's error body
// ({"message","error","statusCode","correlationId"}) and recorded (see
// ValidationFailures); so is a path no operation of the spec has (404,
// "Cannot GET /api/..."). Unknown multipart text fields are dropped, as
// Immich does; unknown file parts are refused ("Unexpected field"). Uploads
// are validated without buffering the file: the body is streamed, then an
// equivalent multipart body with the same fields and an empty file is
// validated. Every JSON response of the fake is validated before it is sent;
// one that violates the spec is a bug of the fake, answered 500 and recorded
// with Response set (NewTestServer fails the test then). Binary responses
// have their status and headers validated.
//
// # What it implements
//
// Authentication in Immich's order: share key (x-immich-share-key or ?key=),
// share slug, session token (Authorization: Bearer from POST /auth/login,
// the immich_access_token cookie, x-immich-user-token), API key (x-api-key
// or ?apiKey=); 401 with Immich's messages otherwise. Admin-only operations
// refuse other users, share links work only where the spec takes a key
// parameter, and an API key needs the operation's x-immich-permission
// (AddUser and NewAPIKey make other users and limited keys).
//
// Server info (ping, version and about from the spec's release, features,
// config, media-types with Immich's extension lists, statistics, storage),
// /.well-known/immich, users/me, api-keys/me, login, logout and
// validateToken.
//
// Assets: upload (POST /assets: SHA-1 computed while streaming,
// x-immich-checksum pre-check before the body is read, 201 created or 200
// duplicate with the existing id even when it is trashed, sidecar stored,
// file types checked by extension when each file arrives as Immich does),
// replace (PUT /assets/{id}/original in the 2.x releases that have it),
// bulk-upload-check (hex or base64 checksums, duplicates with assetId and
// isTrashed), asset info (a full AssetResponseDto of the spec's release),
// original download and video playback (Range/206, a weak ETag honoured by
// If-None-Match and If-Range, Content-Length, Content-Disposition),
// thumbnails (JPEG images, 250 or 1440 pixels on the short side, scaled
// from the original when it is a JPEG, PNG or GIF; Immich sends WebP
// thumbnails, which the standard library cannot encode, and the fake says
// image/jpeg), delete (trash, or force), trash restore and empty, asset
// statistics, and metadata search (id, checksum, originalFileName, device
// ids, type, visibility, albums, paging with nextPage).
//
// Albums: list, create with assets, get, rename, delete, statistics, add
// and remove assets with
// Immich's per-asset results ("duplicate", "no_permission", "not_found"),
// and PUT /albums/assets. Downloads: POST /download/info (archives split by
// archiveSize as Immich does) and POST /download/archive (a zip stream with
// sanitised, de-duplicated names). Shared links: create (album or
// individual, with Immich's defaults), list, get, remove, shared-links/me,
// and reading or uploading through them. Other operations of the spec answer 501.
//
// Assets of different users are invisible to each other; asking for one
// answers 400 "Not found or no asset.read access" as Immich does.
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
// streamed to files (named <asset id><ext>), and an upload's heap cost does
// not depend on its size: BenchmarkUploadDataDir1GiB measures the peak heap
// growth of a 1 GiB upload.
package immichtest

// Package immichtest is a fake Immich server for tests: it runs on a
// loopback httptest.Server, behaves like Immich for what a client does with
// assets, checks every request and response against Immich's OpenAPI spec,
// and can misbehave on purpose.
//
// # Validation
//
// Each request is checked with kin-openapi's openapi3filter against the
// pinned spec embedded in package api/apispec (Immich 3.0.3), or against the
// spec file given with WithSpecFile, so the same test can run against Immich
// 2.x (which requires deviceAssetId and deviceId on upload) and 3.x. A
// request that violates the spec is answered 400 with Immich's error body
// ({"message","error","statusCode","correlationId"}) and recorded (see
// ValidationFailures). Unknown multipart fields are dropped, as Immich does.
// Uploads are validated without buffering the file: the body is streamed,
// and an equivalent multipart body with the same fields and an empty file is
// validated. Each JSON response of the fake is validated too; one that
// violates the spec is a bug of the fake, answered 500 and recorded with
// Response set. Binary responses have their status and headers validated.
//
// # What it implements
//
// Authentication by x-api-key, by "Authorization: Bearer" (or the
// immich_access_token cookie) from POST /auth/login, and by share-link key
// or slug where the operation accepts them; API key permissions are honoured
// where the spec names one (x-immich-permission).
// Server info (ping, version, about, features, config, media-types with
// Immich's extension lists, statistics), users/me, api-keys/me.
// Upload (POST /assets: SHA-1 computed while streaming, x-immich-checksum
// pre-check, 201 created or 200 duplicate, sidecar stored, file type checked
// by extension as Immich does), replace (PUT /assets/{id}/original, in
// releases that have it), bulk-upload-check (hex or base64 checksums), asset
// info, original download (Content-Disposition, Content-Length, Range/206,
// ETag), thumbnails (real JPEG images), video playback (Range), delete
// (trash or force), trash restore and empty, asset statistics, metadata
// search (id, checksum, originalFileName, device ids, type, albums, paging),
// albums (list, create with assets, get, delete, add and remove assets with
// per-asset results), downloads (archive info grouped by size, zip archive
// stream) and shared links. Other operations of the spec answer 501.
//
// Assets of different users (AddUser) are invisible to each other; asking
// for one answers 400 "Not found or no asset.read access" as Immich does.
//
// # Faults and inspection
//
// Faults (WithFaults, SetFaults) injects 5xx answers, cut connections,
// truncated downloads, latency, stalls, 413 and 429, deterministically from
// a seed. Assets, Albums, AssetContent, RequestCount, ValidationFailures and
// BytesReceived show what the server really holds and saw.
//
// # Storage and memory
//
// Bodies are kept in memory unless WithDataDir is given; then they are
// streamed to files, and an upload's heap cost does not depend on its size.
package immichtest

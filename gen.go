// Package goimmich is the Go client for Immich, the self-hosted photo and
// video server.
//
// The module has four public packages:
//
//   - api: every model and a low-level client for every operation of the
//     pinned Immich release, generated from its OpenAPI spec.
//   - wrapper: a Client embedding the generated one, with Upload of files and
//     folders and download-to-file helpers.
//   - immichtest: a fake Immich server, validated against the spec, for tests.
//   - apitypes: the hand-written types api uses for fields whose JSON
//     differs between Immich releases (apitypes.Duration).
//
// Run "go generate ./..." at the module root to fetch the pinned spec
// (openapi/IMMICH_VERSION, checked against openapi/IMMICH_SPEC_SHA256) and
// regenerate everything derived from it. Generated files are committed and
// never edited by hand; scripts/check-drift.sh proves it. oapi-codegen
// applies the overlay openapi/overlay.yaml first: it gives the fields whose
// JSON differs between Immich releases a type of package apitypes that reads
// every form, and byte counts int64 (COMPATIBILITY.md).
package goimmich

//go:generate bash scripts/fetch-spec.sh
//go:generate go tool oapi-codegen -config openapi/api.cfg.yaml .spec/immich-openapi-specs.json
//go:generate go run ./internal/gen/apispec -spec .spec/immich-openapi-specs.json -out api/apispec/spec.gen.go
//go:generate go run ./internal/gen/apicmd -spec .spec/immich-openapi-specs.json -out internal/cli/apicmd/operations.gen.go
//go:generate go run ./internal/gen/requestops -spec .spec/immich-openapi-specs.json -out wrapper/request_ops.gen.go

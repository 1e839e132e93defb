// Package apitypes holds the hand-written Go types that the generated
// package api uses for fields whose JSON shape differs between Immich
// releases, so that one set of api types reads the answers of every
// supported release.
//
// The generator is told to use them by the overlay openapi/overlay.yaml
// (x-go-type); COMPATIBILITY.md lists each field and why.
package apitypes

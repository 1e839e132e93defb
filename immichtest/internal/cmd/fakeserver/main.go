// Command fakeserver runs an immichtest fake Immich server until it gets
// SIGINT or SIGTERM, for scripts (scripts/official-cli-compat.sh) that drive
// it with other clients. It prints "URL=<api base>" and "KEY=<api key>" when
// ready and, when stopped, one JSON summary line of what the server holds:
// assets (name, SHA-1, size), albums, request counts and validation
// failures.
//
//	go run ./immichtest/internal/cmd/fakeserver -addr 127.0.0.1:0 -key secret
package main

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/goimmich/goimmich/immichtest"
)

type albumSummary struct {
	Name   string `json:"name"`
	Assets int    `json:"assets"`
}

type assetSummary struct {
	Name string `json:"name"`
	SHA1 string `json:"sha1"`
	Size int64  `json:"size"`
}

type summary struct {
	Assets             int                            `json:"assets"`
	Files              []assetSummary                 `json:"files"`
	Trashed            int                            `json:"trashed"`
	Albums             []albumSummary                 `json:"albums"`
	RequestCounts      map[string]int                 `json:"requestCounts"`
	ValidationFailures []immichtest.ValidationFailure `json:"validationFailures"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	key := flag.String("key", "", "API key of the default user (random when empty)")
	spec := flag.String("spec", "", "Immich OpenAPI spec file (the embedded 3.0.3 spec when empty)")
	dataDir := flag.String("data-dir", "", "store uploaded bodies in this directory instead of memory")
	flag.Parse()

	opts := []immichtest.Option{immichtest.WithAddr(*addr)}
	if *key != "" {
		opts = append(opts, immichtest.WithAPIKey(*key))
	}
	if *spec != "" {
		opts = append(opts, immichtest.WithSpecFile(*spec))
	}
	if *dataDir != "" {
		opts = append(opts, immichtest.WithDataDir(*dataDir))
	}
	s, err := immichtest.Start(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver:", err)
		os.Exit(1)
	}
	fmt.Printf("URL=%s\nKEY=%s\n", s.URL(), s.APIKey())
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	s.Close()

	sum := summary{RequestCounts: s.RequestCounts(), ValidationFailures: s.ValidationFailures(), Albums: []albumSummary{}, Files: []assetSummary{}}
	for _, a := range s.Assets() {
		sum.Assets++
		sum.Files = append(sum.Files, assetSummary{Name: a.OriginalFileName, SHA1: hex.EncodeToString(a.Checksum), Size: a.Size})
		if a.IsTrashed {
			sum.Trashed++
		}
	}
	for _, al := range s.Albums() {
		sum.Albums = append(sum.Albums, albumSummary{Name: al.Name, Assets: len(al.AssetIDs)})
	}
	if sum.ValidationFailures == nil {
		sum.ValidationFailures = []immichtest.ValidationFailure{}
	}
	json.NewEncoder(os.Stdout).Encode(sum)
}

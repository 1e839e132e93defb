package wrapper

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/goimmich/goimmich/api"
)

const (
	// albumBatchSize is the most asset ids sent in one add-to-album call.
	albumBatchSize = 1000
	// albumConcurrency bounds the albums created and filled at once.
	albumConcurrency = 4
)

// AlbumResult reports one album of an Upload run as the server answered:
// Added counts only assets the server confirmed it added.
type AlbumResult struct {
	Name string `json:"name"`
	// ID is the album's id ("" when it does not exist and could not be, or
	// was not, created).
	ID string `json:"id,omitempty"`
	// Created says Upload created the album.
	Created bool `json:"created,omitempty"`
	// Added counts assets the server confirmed added.
	Added int `json:"added"`
	// AlreadyIn counts assets the server said were in the album already.
	AlreadyIn int `json:"already_in"`
	// Failed lists assets the server did not add, with its reason.
	Failed []AlbumFailure `json:"failed,omitempty"`
	// Error is set when the album could not be found or created: none of
	// its assets were added.
	Error string `json:"error,omitempty"`
	// WouldCreate and WouldAdd describe a DryRun.
	WouldCreate bool `json:"would_create,omitempty"`
	WouldAdd    int  `json:"would_add,omitempty"`
}

// AlbumFailure is an asset an album did not take.
type AlbumFailure struct {
	AssetID  string `json:"asset_id"`
	Filepath string `json:"filepath"`
	Error    string `json:"error"`
}

type albumAsset struct {
	id   string
	path string
}

// albumName is the album of the file at path under opts, or "".
func albumName(path string, opts UploadOptions) string {
	if opts.AlbumName != "" {
		return opts.AlbumName
	}
	if opts.AlbumPerFolder {
		abs, err := filepath.Abs(path)
		if err != nil {
			abs = path
		}
		return filepath.Base(filepath.Dir(abs))
	}
	return ""
}

// updateAlbums finds or creates the albums of the run and adds to them the
// uploaded assets and the duplicates whose asset is not in the trash (or was
// restored), in batches of 1000. Each failure is reported in its
// AlbumResult; nothing is claimed that the server did not confirm.
//
// An existing album is found by exact name among the albums the user can
// see (GET /albums), preferring one the user owns over one shared with
// them; with several of the same name, the first the server lists.
func (r *uploadRun) updateAlbums(ctx context.Context) []AlbumResult {
	c, opts, userID := r.c, r.opts, r.srv.userID
	want := map[string][]albumAsset{}
	for i := range r.nfiles() {
		fr := r.file(i)
		if fr.out.status != uploaded && !fr.out.liveDuplicate() {
			continue
		}
		if name := albumName(r.path(fr), opts); name != "" {
			want[name] = append(want[name], albumAsset{id: fr.out.assetID.String(), path: r.path(fr)})
		}
	}
	names := slices.Sorted(maps.Keys(want))
	if len(names) == 0 {
		return nil
	}
	results := make([]AlbumResult, len(names))

	ids, err := c.albumIDs(ctx, userID)
	if err != nil {
		for k, n := range names {
			results[k] = AlbumResult{Name: n, Failed: albumFailures(want[n], err), Error: err.Error()}
		}
		return results
	}
	// Albums are independent: create and fill up to albumConcurrency at
	// once (AlbumPerFolder makes one per folder; serial calls would cost
	// one round trip per album and batch in a row).
	var g errgroup.Group
	g.SetLimit(albumConcurrency)
	for k, name := range names {
		g.Go(func() error {
			r := &results[k]
			r.Name = name
			r.ID = ids[name]
			assets := want[name]
			if opts.DryRun {
				r.WouldCreate = r.ID == ""
				r.WouldAdd = len(assets)
				return nil
			}
			if r.ID == "" {
				id, err := c.createAlbum(ctx, name, userID)
				if err != nil {
					r.Error = err.Error()
					r.Failed = albumFailures(assets, err)
					return nil
				}
				r.ID, r.Created = id, true
			}
			c.addToAlbum(ctx, r, assets)
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// albumIDs maps album names to ids (see updateAlbums for the choice among
// albums of the same name).
func (c *Client) albumIDs(ctx context.Context, userID string) (map[string]string, error) {
	var existing []struct {
		ID        string `json:"id"`
		AlbumName string `json:"albumName"`
		OwnerID   string `json:"ownerId"`
	}
	if err := c.callJSON(ctx, "getAllAlbums", http.MethodGet, "/albums", nil, &existing); err != nil {
		return nil, err
	}
	ids := map[string]string{}
	owned := map[string]bool{}
	for _, a := range existing {
		mine := userID != "" && a.OwnerID == userID
		if _, dup := ids[a.AlbumName]; !dup || (mine && !owned[a.AlbumName]) {
			ids[a.AlbumName] = a.ID
			owned[a.AlbumName] = mine
		}
	}
	return ids, nil
}

// createAlbum creates the album name. POST /albums is not repeated blindly
// (a lost answer would make a second album): after a failure that may be
// transient (connection error, 5xx, 429) it lists the albums, takes the
// album if the failed call created it after all, and tries again otherwise,
// under the Client's RetryPolicy.
func (c *Client) createAlbum(ctx context.Context, name, userID string) (string, error) {
	p := c.retry
	for n := 1; ; n++ {
		var created struct {
			ID string `json:"id"`
		}
		err := c.callJSON(ctx, "createAlbum", http.MethodPost, "/albums", api.CreateAlbumDto{AlbumName: name}, &created)
		if err == nil && created.ID == "" {
			return "", fmt.Errorf("createAlbum: the answer has no album id")
		}
		if err == nil {
			return created.ID, nil
		}
		var ae *APIError
		if (errors.As(err, &ae) && !retryableStatus(ae.StatusCode)) || n >= p.attempts() || ctx.Err() != nil {
			return "", err
		}
		if ids, lerr := c.albumIDs(ctx, userID); lerr == nil && ids[name] != "" {
			return ids[name], nil
		}
		if serr := sleep(ctx, p.backoff(n, nil)); serr != nil {
			return "", err
		}
	}
}

func albumFailures(assets []albumAsset, err error) []AlbumFailure {
	out := make([]AlbumFailure, len(assets))
	for i, a := range assets {
		out[i] = AlbumFailure{AssetID: a.id, Filepath: a.path, Error: err.Error()}
	}
	return out
}

// addToAlbum adds assets to album r.ID in batches and records the server's
// answer for each asset.
func (c *Client) addToAlbum(ctx context.Context, r *AlbumResult, assets []albumAsset) {
	for start := 0; start < len(assets); start += albumBatchSize {
		batch := assets[start:min(start+albumBatchSize, len(assets))]
		byID := make(map[string]albumAsset, len(batch))
		uids := make([]uuid.UUID, 0, len(batch))
		for _, a := range batch {
			u, err := uuid.Parse(a.id)
			if err != nil {
				r.Failed = append(r.Failed, AlbumFailure{AssetID: a.id, Filepath: a.path, Error: "not an asset id"})
				continue
			}
			if _, dup := byID[u.String()]; !dup {
				uids = append(uids, u)
			}
			byID[u.String()] = a
		}
		var ans []api.BulkIdResponseDto
		err := c.callJSON(ctx, "addAssetsToAlbum", http.MethodPut, "/albums/"+url.PathEscape(r.ID)+"/assets", api.BulkIdsDto{Ids: uids}, &ans)
		if err != nil {
			r.Failed = append(r.Failed, albumFailures(batch, err)...)
			continue
		}
		answered := map[string]bool{}
		for _, a := range ans {
			id := a.Id.String()
			asset, ok := byID[id]
			if !ok || answered[id] {
				continue
			}
			answered[id] = true
			switch {
			case a.Success:
				r.Added++
			case a.Error != nil && *a.Error == api.BulkIdErrorReasonDuplicate:
				r.AlreadyIn++
			default:
				msg := "unknown error"
				if a.Error != nil {
					msg = string(*a.Error)
				}
				if a.ErrorMessage != nil && *a.ErrorMessage != "" {
					msg += ": " + *a.ErrorMessage
				}
				r.Failed = append(r.Failed, AlbumFailure{AssetID: id, Filepath: asset.path, Error: msg})
			}
		}
		for id, asset := range byID {
			if !answered[id] {
				r.Failed = append(r.Failed, AlbumFailure{AssetID: id, Filepath: asset.path, Error: "the server did not answer for this asset"})
			}
		}
	}
}

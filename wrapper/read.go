package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
)

// SearchPageSize is the page size SearchAssets and AlbumAssets ask for when
// the search does not give one: the largest Immich accepts.
const SearchPageSize = 1000

// ErrAmbiguous is returned (wrapped) when a name matches several albums.
var ErrAmbiguous = errors.New("ambiguous name")

// albumVisibilities are the visibilities AlbumAssets searches, one after
// the other. Locked assets need a session elevated with the user's PIN code,
// which an API key never has; they are left out.
var albumVisibilities = []api.AssetVisibility{
	api.AssetVisibilityTimeline, api.AssetVisibilityArchive, api.AssetVisibilityHidden,
}

// Ptr returns a pointer to a copy of v, for the optional fields of the
// generated models: api.MetadataSearchDto{City: wrapper.Ptr("Paris")}.
func Ptr[T any](v T) *T { return &v }

// SearchAssets yields every asset that POST /search/metadata finds for dto,
// following the server's nextPage from dto.Page (1 when nil) to the last
// page. Only one page is held at a time (dto.Size assets, SearchPageSize
// when nil), so memory does not grow with the number of results. Each page
// is one request under the Client's RetryPolicy (a search is safe to
// repeat).
//
// An error is yielded once, with a zero asset, and ends the sequence; a
// caller that stops early stops the requests too. Results come in the
// server's order; an asset that moves between pages while the search runs
// (added or removed meanwhile) may be missed or seen twice.
func (c *Client) SearchAssets(ctx context.Context, dto api.MetadataSearchDto) iter.Seq2[api.AssetResponseDto, error] {
	return searchPages[api.AssetResponseDto](ctx, c, dto)
}

// AlbumAssets yields every asset of album albumID that the key's user may
// see: Immich 3 no longer lists assets in the album's answer, so they come
// from POST /search/metadata with albumIds, once for each visibility
// (timeline, then archive, then hidden: live photos' motion parts).
// Assets in the locked folder are not included: searching them needs a
// session elevated with the user's PIN code. Paging, memory and errors are
// those of SearchAssets.
func (c *Client) AlbumAssets(ctx context.Context, albumID uuid.UUID) iter.Seq2[api.AssetResponseDto, error] {
	return func(yield func(api.AssetResponseDto, error) bool) {
		for _, v := range albumVisibilities {
			dto := api.MetadataSearchDto{AlbumIds: &[]uuid.UUID{albumID}, Visibility: Ptr(v)}
			for a, err := range c.SearchAssets(ctx, dto) {
				if err != nil {
					yield(a, fmt.Errorf("listing the assets of album %s: %w", albumID, err))
					return
				}
				if !yield(a, nil) {
					return
				}
			}
		}
	}
}

// Albums yields the albums the key's user can see (owned and shared with
// them; see api.GetAllAlbumsParams for filters, nil for none). Immich
// answers them in one response, without their assets (see AlbumAssets).
// An error is yielded once and ends the sequence.
func (c *Client) Albums(ctx context.Context, params *api.GetAllAlbumsParams) iter.Seq2[api.AlbumResponseDto, error] {
	return func(yield func(api.AlbumResponseDto, error) bool) {
		r, err := c.GetAllAlbumsWithResponse(ctx, params)
		if err == nil && r.JSON200 == nil {
			err = c.notImmich("getAllAlbums", r.StatusCode(), r.HTTPResponse.Header, bytes.NewReader(r.Body))
		}
		if err != nil {
			yield(api.AlbumResponseDto{}, fmt.Errorf("listing albums: %w", err))
			return
		}
		albums := *r.JSON200
		for _, a := range albums {
			if !yield(a, nil) {
				return
			}
		}
	}
}

// AlbumByName returns the album the key's user can see whose name is
// exactly name. No such album is an error matching ErrNotFound; several
// (albums shared with the user may share a name) an error matching
// ErrAmbiguous that lists their ids, so the caller can choose one by id.
func (c *Client) AlbumByName(ctx context.Context, name string) (*api.AlbumResponseDto, error) {
	var found []api.AlbumResponseDto
	for a, err := range c.Albums(ctx, nil) {
		if err != nil {
			return nil, err
		}
		if a.AlbumName == name {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("album %q: %w: no album of that name (names are case-sensitive)", name, ErrNotFound)
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, a := range found {
		ids[i] = a.Id.String()
	}
	return nil, fmt.Errorf("album %q: %w: %d albums have that name (%s); give one by id", name, ErrAmbiguous, len(found), strings.Join(ids, ", "))
}

// searchPages pages through POST /search/metadata for dto and yields the
// items decoded as T: api.AssetResponseDto for callers, or a smaller struct
// that decodes only what it needs (and so also what other releases send).
func searchPages[T any](ctx context.Context, c *Client, dto api.MetadataSearchDto) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		page := 1
		if dto.Page != nil {
			page = *dto.Page
		}
		if dto.Size == nil {
			dto.Size = Ptr(SearchPageSize)
		}
		for {
			dto.Page = Ptr(page)
			var ans struct {
				Assets struct {
					Items    []T     `json:"items"`
					NextPage *string `json:"nextPage"`
				} `json:"assets"`
			}
			if err := c.callJSON(ctx, "searchAssets", http.MethodPost, "/search/metadata", dto, &ans); err != nil {
				yield(zero, err)
				return
			}
			for _, a := range ans.Assets.Items {
				if !yield(a, nil) {
					return
				}
			}
			next := ans.Assets.NextPage
			if next == nil || *next == "" {
				return
			}
			n, err := strconv.Atoi(*next)
			if err != nil || n <= page {
				yield(zero, fmt.Errorf("searchAssets: the server's nextPage %q does not follow page %d (is this Immich?)", *next, page))
				return
			}
			page = n
		}
	}
}

package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api"
)

// restoreBatchSize is the most asset ids sent in one trash restore.
const restoreBatchSize = 1000

// restoreTrashed takes the server's trashed duplicates out of the trash and
// marks (and confirms in the cache) those the server confirms restored.
func (r *uploadRun) restoreTrashed(ctx context.Context) {
	byID := map[uuid.UUID][]int{}
	var ids []uuid.UUID
	for i := range r.nfiles() {
		o := r.file(i).out
		if o.reason == duplicate && o.trash == inTrash {
			if _, ok := byID[o.assetID]; !ok {
				ids = append(ids, o.assetID)
			}
			byID[o.assetID] = append(byID[o.assetID], i)
		}
	}
	for start := 0; start < len(ids); start += restoreBatchSize {
		batch := ids[start:min(start+restoreBatchSize, len(ids))]
		err := r.c.callJSON(ctx, "restoreAssets", http.MethodPost, "/trash/restore/assets", api.BulkIdsDto{Ids: batch}, nil)
		if err != nil {
			r.c.logger.Warn("restoring trashed duplicates failed", "error", err)
			continue
		}
		for _, id := range batch {
			// The answer is only a count: confirm each asset left the trash.
			trashed, err := r.c.assetTrashed(ctx, id.String())
			if err != nil || trashed {
				continue
			}
			for _, i := range byID[id] {
				fr := r.file(i)
				fr.out.restored, fr.out.trash = true, notTrashed
				r.cache.confirm(fr.sum, id.String())
			}
		}
	}
}

// assetTrashed asks the server whether asset id is in the trash.
func (c *Client) assetTrashed(ctx context.Context, id string) (bool, error) {
	var a struct {
		IsTrashed *bool `json:"isTrashed"`
	}
	if err := c.callJSON(ctx, "getAssetInfo", http.MethodGet, "/assets/"+url.PathEscape(id), nil, &a); err != nil {
		return false, err
	}
	if a.IsTrashed == nil {
		return false, errors.New("getAssetInfo: answer has no isTrashed")
	}
	return *a.IsTrashed, nil
}

// deleteConfirmed deletes local files the server confirmed: uploaded files
// (DeleteUploaded) and duplicates of assets not in the trash
// (DeleteDuplicates; when the trash state is unknown it asks the server).
// A file that changed since the scan is kept. Failures are returned; the
// files stay.
func (r *uploadRun) deleteConfirmed(ctx context.Context) []FailedFile {
	var errs []FailedFile
	for i := range r.nfiles() {
		if ctx.Err() != nil {
			break
		}
		fr := r.file(i)
		if err := r.deleteOne(ctx, fr); err != nil {
			errs = append(errs, FailedFile{Filepath: r.path(fr), Error: "not deleted: " + err.Error(), Err: err})
		}
	}
	return errs
}

// deleteOne deletes fr's local file when the options ask for it and the
// server confirmed it; it returns why a file that should go stays.
func (r *uploadRun) deleteOne(ctx context.Context, fr *fileRun) error {
	o := &fr.out
	switch {
	case o.status == uploaded && r.opts.DeleteUploaded:
	case o.reason == duplicate && r.opts.DeleteDuplicates && o.assetID != uuid.Nil:
		if o.trash == trashUnknown {
			t, err := r.c.assetTrashed(ctx, o.assetID.String())
			if err != nil {
				return fmt.Errorf("cannot confirm the server's copy is not in the trash: %w", err)
			}
			o.trash = trashOf(&t)
		}
		if o.trash == inTrash {
			return errors.New("the server's copy is in the trash")
		}
	default:
		return nil
	}
	fi, err := os.Lstat(r.path(fr))
	if err != nil {
		return err
	}
	if fi.Mode().IsRegular() && !fr.sameAs(fi) {
		return errors.New("the file changed since it was uploaded")
	}
	if err := os.Remove(r.path(fr)); err != nil {
		return err
	}
	o.deleted = true
	return nil
}

// report hands every file's outcome to OnFile, or lists it in res, and
// counts the stats.
func (r *uploadRun) report(res *UploadResult) {
	emit := r.opts.OnFile
	if emit == nil {
		r.makeLists(res)
		emit = res.add
	}
	st := &res.Stats
	for _, p := range r.scan.unsupported {
		emit(FileOutcome{Path: p, Status: FileRejected, Reason: RejectUnsupportedFormat})
		st.Rejected++
	}
	for _, f := range r.scan.failed {
		emit(FileOutcome{Path: f.Filepath, Status: FileFailed, Err: f.Err})
		st.Failed++
	}
	for i := range r.nfiles() {
		fr := r.file(i)
		fo := r.outcome(i)
		switch fo.Status {
		case FileUploaded:
			st.Uploaded++
			st.BytesUploaded += fo.Bytes
		case FileRejected:
			st.Rejected++
		default:
			st.Failed++
		}
		if fr.cacheHit {
			st.HashCacheHits++
		}
		if fr.checkSkipped {
			st.ChecksSkipped++
		}
		emit(fo)
	}
	st.Total = st.Uploaded + st.Rejected + st.Failed
	st.DurationMS = time.Since(r.start).Milliseconds()
}

// makeLists allocates res's lists at the sizes the run's outcomes need.
func (r *uploadRun) makeLists(res *UploadResult) {
	nUp, nRej := 0, len(r.scan.unsupported)
	for i := range r.nfiles() {
		switch r.file(i).out.status {
		case uploaded:
			nUp++
		case rejected:
			nRej++
		}
	}
	res.Uploaded = make([]UploadedFile, 0, nUp)
	res.Rejected = make([]RejectedFile, 0, nRej)
	res.Failed = make([]FailedFile, 0, r.nfiles()-nUp-nRej+len(r.scan.unsupported)+len(r.scan.failed))
}

// outcome is file i's final outcome, for OnFile or the result's lists.
func (r *uploadRun) outcome(i int) FileOutcome {
	fr := r.file(i)
	o := &fr.out
	return FileOutcome{
		Path: r.path(fr), Sidecar: r.scan.sidecar(i).path, Bytes: fr.size(),
		Status: o.status.FileStatus(), Reason: o.reason.RejectReason(), AssetID: o.assetID, AnsweredDuplicate: o.answeredDup,
		Trashed: o.trash == inTrash, Restored: o.restored, Deleted: o.deleted, Err: r.errOf(i),
	}
}

// add lists fo in res (the stats are counted by report).
func (res *UploadResult) add(fo FileOutcome) {
	switch fo.Status {
	case FileUploaded:
		res.Uploaded = append(res.Uploaded, fo.UploadedFile())
	case FileRejected:
		res.Rejected = append(res.Rejected, fo.RejectedFile())
	default:
		res.Failed = append(res.Failed, fo.FailedFile())
	}
}

// UploadedFile is fo as UploadResult.Uploaded lists it (for an OnFile
// that writes the result's lists itself); fo.Status should be
// FileUploaded.
func (fo *FileOutcome) UploadedFile() UploadedFile {
	status := api.AssetMediaStatusCreated
	if fo.AnsweredDuplicate {
		status = api.AssetMediaStatusDuplicate
	}
	return UploadedFile{Asset: api.AssetMediaResponseDto{Id: fo.AssetID, Status: status},
		Filepath: fo.Path, Sidecar: fo.Sidecar, Bytes: fo.Bytes, Deleted: fo.Deleted}
}

// RejectedFile is fo as UploadResult.Rejected lists it; fo.Status should
// be FileRejected.
func (fo *FileOutcome) RejectedFile() RejectedFile {
	var id *string
	if fo.Reason == RejectDuplicate {
		s := fo.AssetID.String()
		id = &s
	}
	return RejectedFile{Filepath: fo.Path, AssetID: id, Reason: fo.Reason,
		Trashed: fo.Trashed, Restored: fo.Restored, Deleted: fo.Deleted}
}

// FailedFile is fo as UploadResult.Failed lists it; fo.Status should be
// FileFailed.
func (fo *FileOutcome) FailedFile() FailedFile {
	msg := ""
	if fo.Err != nil {
		msg = fo.Err.Error()
	}
	return FailedFile{Filepath: fo.Path, Error: msg, Err: fo.Err}
}

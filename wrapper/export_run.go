package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// run carries out the plan: deletions mirrored first, then moves (which
// may free paths), files in place, and the downloads, Concurrency at once.
func (e *exporter) run(ctx context.Context) {
	if e.opts.MirrorDeletes {
		e.trashGone(ctx)
	}
	var moves, fetches []*exportItem
	for _, it := range e.items {
		switch it.act {
		case actMove:
			moves = append(moves, it)
		case actFetch:
			fetches = append(fetches, it)
		case actKeep:
			e.mu.Lock()
			e.res.Unchanged++
			e.mu.Unlock()
			e.sidecar(it)
		case actAdopt:
			e.adopt(it)
		}
	}
	e.moveAll(moves)

	var total int64
	for _, it := range fetches {
		if x := it.a.ExifInfo; x != nil && x.FileSizeInByte != nil {
			total += *x.FileSizeInByte
		}
	}
	if len(fetches) > 0 {
		e.prog.Total(len(fetches), total)
	}
	var g errgroup.Group
	g.SetLimit(e.opts.Concurrency)
	for _, it := range fetches {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := e.fetch(ctx, it); err != nil && ctx.Err() == nil {
				e.fail(it.a.ID, it.target, err)
			}
			return nil
		})
	}
	_ = g.Wait()
}

// record sets the state entry of an asset whose file is now at it.target.
func (e *exporter) record(it *exportItem, size int64) *exportStateEntry {
	s := &exportStateEntry{Checksum: it.a.Checksum, Path: it.target, Size: size, MotionOf: it.motionOf}
	e.mu.Lock()
	if old := e.st.Assets[it.a.ID]; old != nil && old.Path == it.target {
		s.Sidecar, s.UpdatedAt = old.Sidecar, old.UpdatedAt
	}
	e.st.Assets[it.a.ID] = s
	e.dirty = true
	e.mu.Unlock()
	return s
}

// adopt records a file that already holds the asset's bytes.
func (e *exporter) adopt(it *exportItem) {
	fi, err := e.root.Lstat(filepath.FromSlash(it.target))
	if err != nil {
		e.fail(it.a.ID, it.target, err)
		return
	}
	e.record(it, fi.Size())
	e.mu.Lock()
	e.res.Unchanged++
	e.mu.Unlock()
	e.sidecar(it)
}

// fetch downloads the asset into the staging folder with the download
// engine, sets its mtime, moves an older version into .trash, and links it
// into place.
func (e *exporter) fetch(ctx context.Context, it *exportItem) error {
	a := it.a
	var want []byte
	if a.LibraryID == nil {
		sum, err := decodeChecksum(a.Checksum)
		if err != nil {
			return fmt.Errorf("exporting asset %s: %w", a.ID, err)
		}
		want = sum
	}
	staged := sanitizeFilename(a.ID + path.Ext(firstName(a.OriginalFileName)))
	key := filepath.Join(e.dir, filepath.FromSlash(it.target))
	p, err := e.c.fetchToDir(ctx, filepath.Join(e.dir, filepath.FromSlash(exportStaging)), fetchSpec{
		what:    fmt.Sprintf("exporting asset %s (%s)", a.ID, it.target),
		op:      "downloadAsset",
		method:  http.MethodGet,
		path:    "/assets/" + a.ID + "/original",
		resume:  true,
		sha1:    want,
		nameFor: func(http.Header) string { return staged },
	}, DownloadOptions{Progress: keyedProgress{p: e.prog, key: key}})
	if err != nil {
		return err
	}
	src := path.Join(exportStaging, filepath.Base(p.Path))
	if !a.FileCreatedAt.IsZero() {
		_ = e.root.Chtimes(filepath.FromSlash(src), time.Now(), a.FileCreatedAt)
	}
	fi, err := e.root.Lstat(filepath.FromSlash(src))
	if err != nil {
		return err
	}
	if prev := it.prev; prev != nil && prev.Checksum != a.Checksum {
		// Replaced on the server: the older version goes to .trash.
		if e.exists(prev.Path) {
			if _, err := e.trash(prev.Path, prev.Path); err != nil {
				_ = e.root.Remove(filepath.FromSlash(src))
				return fmt.Errorf("exporting asset %s: moving its older version %s into %s: %w", a.ID, prev.Path, exportTrashDir, err)
			}
			e.trashSidecar(prev)
			e.mu.Lock()
			e.res.Trashed++
			e.mu.Unlock()
		}
	}
	if err := e.rename(src, it.target); err != nil {
		_ = e.root.Remove(filepath.FromSlash(src))
		return fmt.Errorf("exporting asset %s: %w", a.ID, err)
	}
	e.record(it, fi.Size())
	e.mu.Lock()
	e.res.Downloaded++
	e.res.Stats.BytesDownloaded += fi.Size()
	e.mu.Unlock()
	e.sidecar(it)
	if err := e.save(false); err != nil {
		e.fail("", "", err)
	}
	return nil
}

// moveAll renames files to their new layout paths. A path still held by a
// file that moves away waits for it; a cycle goes through the staging
// folder; a file in the way that the export does not own is never
// touched: the asset then stays where it is.
func (e *exporter) moveAll(moves []*exportItem) {
	leaving := map[string]bool{}
	for _, it := range moves {
		leaving[strings.ToLower(it.prev.Path)] = true
	}
	for len(moves) > 0 {
		var wait []*exportItem
		for _, it := range moves {
			if e.exists(it.target) {
				if leaving[strings.ToLower(it.target)] {
					wait = append(wait, it)
					continue
				}
				it.target, it.act = it.prev.Path, actKeep
				e.mu.Lock()
				e.res.Unchanged++
				e.mu.Unlock()
				e.sidecar(it)
				continue
			}
			delete(leaving, strings.ToLower(it.prev.Path))
			e.move(it)
		}
		if len(wait) == len(moves) {
			// A cycle: park one in the staging folder to break it.
			it := wait[0]
			tmp := path.Join(exportStaging, it.a.ID+".moving")
			if err := e.rename(it.prev.Path, tmp); err != nil {
				e.fail(it.a.ID, it.prev.Path, err)
				wait = wait[1:]
			} else {
				delete(leaving, strings.ToLower(it.prev.Path))
				it.prev.Path = tmp
			}
		}
		moves = wait
	}
}

// move renames one file, with its sidecar, and prunes the folders it
// leaves empty.
func (e *exporter) move(it *exportItem) {
	from := it.prev.Path
	if err := e.rename(from, it.target); err != nil {
		e.fail(it.a.ID, it.target, fmt.Errorf("moving %s: %w", from, err))
		return
	}
	s := e.record(it, it.prev.Size)
	if old := it.prev.Sidecar; old != "" && e.exists(old) {
		to := it.target + strings.TrimPrefix(old, from)
		if !strings.HasPrefix(old, from) {
			to = it.target + path.Ext(old)
		}
		if err := e.rename(old, to); err == nil {
			e.mu.Lock()
			s.Sidecar, s.UpdatedAt = to, it.prev.UpdatedAt
			e.mu.Unlock()
		}
	}
	e.prune(from)
	e.mu.Lock()
	e.res.Moved++
	e.mu.Unlock()
	e.sidecar(it)
}

// trashGone moves the files of state entries no longer listed into .trash,
// after asking each query again for that id: an asset that a change on the
// server during the listing hid from it is kept.
func (e *exporter) trashGone(ctx context.Context) {
	kept := map[string]bool{}
	for _, id := range e.gone {
		if e.st.Assets[id].MotionOf != "" {
			continue
		}
		if present, err := e.stillThere(ctx, id); err != nil || present {
			kept[id] = true
		}
	}
	for _, id := range e.gone {
		s := e.st.Assets[id]
		if kept[id] || kept[s.MotionOf] || ctx.Err() != nil {
			continue
		}
		if e.exists(s.Path) {
			if _, err := e.trash(s.Path, s.Path); err != nil {
				e.fail(id, s.Path, fmt.Errorf("moving into %s: %w", exportTrashDir, err))
				continue
			}
			e.trashSidecar(s)
			e.prune(s.Path)
			e.res.Trashed++
		}
		e.mu.Lock()
		delete(e.st.Assets, id)
		e.dirty = true
		e.mu.Unlock()
	}
}

// stillThere asks every query of the listing for asset id alone.
func (e *exporter) stillThere(ctx context.Context, id string) (bool, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return false, nil
	}
	for _, q := range e.queries {
		q.Id, q.Page, q.Size = &u, nil, Ptr(1)
		for _, err := range searchPages[struct{}](ctx, e.c, q) {
			if err != nil {
				return false, err
			}
			return true, nil
		}
	}
	return false, nil
}

// trashSidecar moves the sidecar of a state entry into .trash.
func (e *exporter) trashSidecar(s *exportStateEntry) {
	if s.Sidecar != "" && e.exists(s.Sidecar) {
		_, _ = e.trash(s.Sidecar, s.Sidecar)
	}
}

// trash moves p into .trash/YYYY-MM-DD/as (numbered when taken).
func (e *exporter) trash(p, as string) (string, error) {
	base := path.Join(exportTrashDir, trashDay(e.now), as)
	for i := 0; i < maxNumberedNames; i++ {
		dst := base
		if i > 0 {
			dst = numberedName(base, i)
		}
		err := e.rename(p, dst)
		if !errors.Is(err, fs.ErrExist) {
			return dst, err
		}
	}
	return "", fmt.Errorf("%s and its numbered names are all taken", base)
}

// rename gives file from the name to without ever replacing a file: a
// hard link that fails when the name is taken, then the old name removed;
// where hard links are not supported, a check and a rename.
func (e *exporter) rename(from, to string) error {
	f, t := filepath.FromSlash(from), filepath.FromSlash(to)
	if dir := path.Dir(to); dir != "." {
		if err := e.root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return err
		}
	}
	err := e.root.Link(f, t)
	if err == nil {
		return e.root.Remove(f)
	}
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s is taken: %w", to, fs.ErrExist)
	}
	if _, serr := e.root.Lstat(t); serr == nil {
		return fmt.Errorf("%s is taken: %w", to, fs.ErrExist)
	}
	return e.root.Rename(f, t)
}

// prune removes the folders p leaves empty, up to the export folder.
func (e *exporter) prune(p string) {
	for d := path.Dir(p); d != "." && d != "/" && !reservedExportPath(d); d = path.Dir(d) {
		if e.root.Remove(filepath.FromSlash(d)) != nil {
			return
		}
	}
}

// save writes the state when it changed: at once when force, else at most
// every exportSaveEvery. An unchanged export leaves the file untouched.
func (e *exporter) save(force bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.dirty || (!force && time.Since(e.lastSave) < exportSaveEvery) {
		return nil
	}
	e.lastSave = time.Now()
	if err := e.st.save(e.root); err != nil {
		return err
	}
	e.dirty = false
	return nil
}

// keyedProgress reports a download under its final path rather than its
// staging name.
type keyedProgress struct {
	p   Progress
	key string
}

func (k keyedProgress) Total(int, int64)                   {}
func (k keyedProgress) Start(_ string, size int64)         { k.p.Start(k.key, size) }
func (k keyedProgress) Add(_ string, n int64)              { k.p.Add(k.key, n) }
func (k keyedProgress) Done(_ string, s Status, err error) { k.p.Done(k.key, s, err) }

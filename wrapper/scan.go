package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/goimmich/goimmich/internal/hashcache"
)

// MediaTypes is the set of file extensions the server accepts, as
// GET /server/media-types lists them (lower case, with the dot).
type MediaTypes struct {
	Image   []string
	Video   []string
	Sidecar []string
}

// DefaultMediaTypes is the built-in list Upload falls back to when
// GET /server/media-types fails (Immich 3.0's list).
func DefaultMediaTypes() MediaTypes {
	return MediaTypes{
		Image: []string{".3fr", ".ari", ".arw", ".avif", ".bmp", ".cap", ".cin", ".cr2", ".cr3", ".crw", ".dcr", ".dng",
			".erf", ".fff", ".gif", ".heic", ".heif", ".hif", ".iiq", ".insp", ".jp2", ".jpe", ".jpeg", ".jpg", ".jxl",
			".k25", ".kdc", ".mrw", ".nef", ".nrw", ".orf", ".ori", ".pef", ".png", ".psd", ".raf", ".raw", ".rw2",
			".rwl", ".sr2", ".srf", ".srw", ".svg", ".tif", ".tiff", ".webp", ".x3f"},
		Video: []string{".3gp", ".3gpp", ".avi", ".flv", ".insv", ".m2t", ".m2ts", ".m4v", ".mkv", ".mov", ".mp4",
			".mpe", ".mpeg", ".mpg", ".mts", ".vob", ".webm", ".wmv"},
		Sidecar: []string{".xmp"},
	}
}

// extSet is a lookup table of lower-case extensions.
type extSet map[string]bool

func newExtSet(lists ...[]string) extSet {
	s := extSet{}
	for _, l := range lists {
		for _, e := range l {
			e = strings.ToLower(strings.TrimSpace(e))
			if e == "" || strings.Contains(e, "/") { // a MIME type, not an extension
				continue
			}
			if !strings.HasPrefix(e, ".") {
				e = "." + e
			}
			s[e] = true
		}
	}
	return s
}

func (s extSet) has(path string) bool { return s[strings.ToLower(filepath.Ext(path))] }

// scannedFile is one media file the scan selected. It holds no pointer,
// so a chunk of them is one block the garbage collector does not scan,
// and no string: its path is in the scan's folder table (scanResult.path),
// where the names of a folder's files are one string.
type scannedFile struct {
	// stat is what the scan's stat said, as the hash cache keys it (used
	// for lookups while fresh, see scanStatFresh).
	stat fileStat
	// dir indexes scanResult.dirs; the file's name is that folder's names
	// from nameOff, nameLen bytes long.
	dir, nameOff, nameLen uint32
}

// scanDir is a walked folder (path as walked, real with links resolved)
// with the names of its selected files, concatenated; a file named by the
// caller has one of its own, with path and real "" and its whole path as
// the name.
type scanDir struct {
	path, real, names string
}

// sidecarFile is the XMP sidecar of a scanned file.
type sidecarFile struct {
	path string
	size int64
}

// fileStat is a hashcache.FileKey without its path (24 bytes): the scan
// keeps one per file, and the path is already there.
type fileStat struct {
	size, modTime int64
	id            uint64 // hashcache.StatID of ctime, device and inode
}

func statOf(k hashcache.FileKey) fileStat {
	return fileStat{size: k.Size, modTime: k.ModTime, id: k.ID}
}

// key is the hash cache's key of the file at path (absolute, cleaned).
func (s fileStat) key(path string) hashcache.FileKey {
	return hashcache.FileKey{Path: path, Size: s.size, ModTime: s.modTime, ID: s.id}
}

func (f *scannedFile) size() int64 { return f.stat.size }

func (f *scannedFile) modTime() time.Time { return time.Unix(0, f.stat.modTime) }

// sameAs reports whether fi, a later stat of the file, shows the size and
// mtime the scan saw.
func (f *scannedFile) sameAs(fi os.FileInfo) bool {
	return fi.Size() == f.stat.size && fi.ModTime().UnixNano() == f.stat.modTime
}

// scanResult is what scan found: files to process, explicitly named files
// that are not media, and paths that could not be read.
type scanResult struct {
	started time.Time // before the first stat
	files   fileList  // in scan order
	dirs    []scanDir // the folders of files (scannedFile.dir)
	// sidecars holds the sidecars found, by index in files.
	sidecars    map[int]sidecarFile
	unsupported []string
	folders     []string // the named folders that were walked
	failed      []FailedFile
}

// path is f's path: as the caller named it, or joined under its folder.
func (r *scanResult) path(f *scannedFile) string {
	d := &r.dirs[f.dir]
	return underFolder(d.path, d.names[f.nameOff:f.nameOff+f.nameLen])
}

// underFolder is the path of the file name in folder dir, or name itself
// for a file named by the caller (dir "").
func underFolder(dir, name string) string {
	if dir == "" {
		return name
	}
	return filepath.Join(dir, name)
}

// sidecar is the sidecar of file i; its path is "" when there is none.
func (r *scanResult) sidecar(i int) sidecarFile { return r.sidecars[i] }

// scanner walks the input paths. It follows symbolic links to folders and
// files but visits every real folder once, so link loops end.
type scanner struct {
	media         extSet
	ignore        []string
	includeHidden bool
	withSidecars  bool
	// flat takes only the files directly in a named folder: its
	// subfolders (and links to folders) are not entered.
	flat bool

	visitedDirs map[string]bool // real paths of walked folders
	// linked maps the real path of each media file named by the caller
	// or reached through a link to its index in res.files. Files found directly in walked folders are not kept in it:
	// each real folder is walked once, so they cannot repeat among
	// themselves, and dropSecondSightings matches them with these after
	// the walk (a million paths would cost 50 MB here).
	linked map[string]int
	res    scanResult
	// listings counts the folders listed (scanner.list).
	listings int
}

// validateIgnores checks doublestar patterns up front, so that a typo is an
// error before anything is sent.
func validateIgnores(patterns []string) error {
	for _, p := range patterns {
		if !doublestar.ValidatePattern(filepath.ToSlash(p)) {
			return fmt.Errorf("wrapper: ignore pattern %q is not a valid glob (see github.com/bmatcuk/doublestar)", p)
		}
	}
	return nil
}

// scan walks paths. A file named explicitly is taken when its extension is a
// media type (even when hidden), and is rejected as unsupported_format
// otherwise; ignore patterns do not apply to it (the caller named it). Files
// found by walking a folder are taken when they are media, not hidden (name
// starting with ".", unless includeHidden) and not ignored; other files are
// skipped silently, as the official CLI does. Hidden and ignored folders are
// not entered, nor, when flat, any subfolder.
func (s *scanner) scan(ctx context.Context, paths []string) scanResult {
	s.res.started = time.Now()
	s.visitedDirs = map[string]bool{}
	s.linked = map[string]int{}
	others := map[string]bool{} // real paths of named files that are not media
	named := s.folder("", "")   // the named files' names are their paths
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		fi, err := os.Stat(p)
		if err != nil {
			s.fail(p, err)
			continue
		}
		switch {
		case fi.IsDir():
			s.walkDir(ctx, p, p, "", nil)
			s.res.folders = append(s.res.folders, p)
		case !fi.Mode().IsRegular():
			s.fail(p, errors.New("not a regular file or folder"))
		case !s.media.has(p):
			if real, _ := s.linkedOnce(p); !others[real] {
				others[real] = true
				s.res.unsupported = append(s.res.unsupported, p)
			}
		default:
			if real, first := s.linkedOnce(p); first {
				s.linked[real] = s.addFile(&named, p, fi, nil)
			}
		}
	}
	named.done()
	s.dropSecondSightings()
	return s.res
}

func (s *scanner) fail(path string, err error) {
	s.res.failed = append(s.res.failed, FailedFile{Filepath: path, Error: err.Error(), Err: err})
}

// linkedOnce returns the real path of a file named by the caller or
// reached through a link, and whether no such file had it before.
func (s *scanner) linkedOnce(path string) (real string, first bool) {
	real, err := realPath(path)
	if err != nil {
		real, _ = filepath.Abs(path)
	}
	_, seen := s.linked[real]
	return real, !seen
}

// dropSecondSightings removes each file found both directly in a walked
// folder and by name or through a link (one real file): the first in scan
// order stays. Only the folders that hold the target of such a file are
// looked at.
func (s *scanner) dropSecondSightings() {
	targetDirs := map[string]bool{}
	for real := range s.linked {
		targetDirs[filepath.Dir(real)] = true
	}
	folders := map[uint32]bool{}
	for k, d := range s.res.dirs {
		if d.real != "" && targetDirs[d.real] {
			folders[uint32(k)] = true
		}
	}
	if len(folders) == 0 {
		return
	}
	drop := map[int]bool{}
	for i := range s.res.files.len() {
		f := s.res.files.at(i)
		if !folders[f.dir] {
			continue
		}
		d := &s.res.dirs[f.dir]
		real := filepath.Join(d.real, d.names[f.nameOff:f.nameOff+f.nameLen])
		if j, ok := s.linked[real]; ok && j != i {
			drop[max(i, j)] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	// Compact in place: file i moves down to k <= i.
	k := 0
	var sidecars map[int]sidecarFile
	for i := range s.res.files.len() {
		if drop[i] {
			continue
		}
		*s.res.files.at(k) = *s.res.files.at(i)
		if sc, ok := s.res.sidecars[i]; ok {
			if sidecars == nil {
				sidecars = map[int]sidecarFile{}
			}
			sidecars[k] = sc
		}
		k++
	}
	s.res.files.truncate(k)
	s.res.sidecars = sidecars
}

// realPath is path with every symbolic link resolved, made absolute: a
// relative root and a link to it by its absolute path name the same
// folder, and must be seen as one.
func realPath(path string) (string, error) {
	r, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	return filepath.Abs(r)
}

// folderFiles gathers the names of one folder's selected files, which
// become one string when the folder is done.
type folderFiles struct {
	s          *scanner
	path, real string
	dir        int // index in s.res.dirs, or -1 before the first file
	names      []string
	off        int
}

// folder starts the files of folder path, real with links resolved (both
// "" for a file named by the caller, whose name is its path).
func (s *scanner) folder(path, real string) folderFiles {
	return folderFiles{s: s, path: path, real: real, dir: -1}
}

// add records name as the next file's, and returns its folder index and
// offset.
func (d *folderFiles) add(name string) (dir, off uint32) {
	if d.dir < 0 {
		d.dir = len(d.s.res.dirs)
		d.s.res.dirs = append(d.s.res.dirs, scanDir{path: d.path, real: d.real})
	}
	d.names = append(d.names, name)
	d.off += len(name)
	return uint32(d.dir), uint32(d.off - len(name))
}

// done stores the folder's names.
func (d *folderFiles) done() {
	if d.dir >= 0 {
		d.s.res.dirs[d.dir].names = strings.Join(d.names, "")
	}
}

// addFile selects a media file of folder d and returns its index; names
// lists the folder's entries (nil: look the sidecars up with Stat).
func (s *scanner) addFile(d *folderFiles, name string, fi os.FileInfo, names map[string]bool) int {
	dir, off := d.add(name)
	f := scannedFile{stat: statOf(hashcache.StatKey(fi)), dir: dir, nameOff: off, nameLen: uint32(len(name))}
	i := s.res.files.add(fileRun{scannedFile: f, leader: -1})
	if s.withSidecars {
		if p, size := findSidecar(underFolder(d.path, name), names); p != "" {
			if s.res.sidecars == nil {
				s.res.sidecars = map[int]sidecarFile{}
			}
			s.res.sidecars[i] = sidecarFile{path: p, size: size}
		}
	}
	return i
}

// findSidecar returns the XMP sidecar of path: "x.jpg.xmp" is preferred
// over "x.xmp" (the more specific name; "x.xmp" may belong to x.jpg and
// x.mov alike). names, when not nil, lists the folder's entries.
func findSidecar(path string, names map[string]bool) (string, int64) {
	base := filepath.Base(path)
	for _, cand := range []string{base + ".xmp", strings.TrimSuffix(base, filepath.Ext(base)) + ".xmp"} {
		if names != nil && !names[cand] {
			continue
		}
		p := filepath.Join(filepath.Dir(path), cand)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, fi.Size()
		}
	}
	return "", 0
}

func isHidden(name string) bool { return strings.HasPrefix(name, ".") && name != "." && name != ".." }

// ignored reports whether an ignore pattern matches the walked entry at
// path (rel is relative to the named root). A pattern without "/" matches
// the base name at any depth ("*.tmp", "@eaDir"); one with "/" matches the
// path relative to the root ("raw/**", "**/cache/*") or the whole path.
func (s *scanner) ignored(path, rel string) bool {
	for _, p := range s.ignore {
		p = filepath.ToSlash(p)
		var names []string
		if !strings.Contains(strings.TrimSuffix(p, "/"), "/") {
			names = []string{filepath.Base(path)}
			p = strings.TrimSuffix(p, "/")
		} else {
			names = []string{filepath.ToSlash(rel), filepath.ToSlash(path)}
			if abs, err := filepath.Abs(path); err == nil {
				names = append(names, filepath.ToSlash(abs))
			}
		}
		for _, n := range names {
			if ok, _ := doublestar.Match(p, n); ok {
				return true
			}
		}
	}
	return false
}

// walkDir walks folder dir, found under the named root; real is dir with
// symbolic links resolved, or "" when not known yet. ls, when not nil, is
// the folder's listing, started ahead (prefetch).
func (s *scanner) walkDir(ctx context.Context, root, dir, real string, ls *listing) {
	if ctx.Err() != nil {
		ls.discard()
		return
	}
	if real == "" {
		r, err := realPath(dir)
		if err != nil {
			ls.discard()
			s.fail(dir, err)
			return
		}
		real = r
	}
	if s.visitedDirs[real] {
		ls.discard()
		return // a link loop, or a folder reached twice
	}
	s.visitedDirs[real] = true
	if ls == nil {
		ls = s.list(root, dir)
	}
	l := ls.wait()
	if l.err != nil {
		s.fail(dir, l.err)
		return
	}
	// The plain subfolders are listed ahead, up to listAhead at a time,
	// while the files before them are added and the ones before them
	// walked: the walk itself is one goroutine, and on a network share
	// each listing is round trips.
	var subs []int // indexes in l.items of plain subfolders
	if !s.flat {
		for k, it := range l.items {
			if it.entry.IsDir() && it.entry.Type()&fs.ModeSymlink == 0 {
				subs = append(subs, k)
			}
		}
	}
	ahead := map[int]*listing{}
	next := 0        // subs[next] is the next subfolder to list ahead
	fill := func() { // nothing more once cancelled
		for ; next < len(subs) && len(ahead) < listAhead && ctx.Err() == nil; next++ {
			ahead[subs[next]] = s.list(root, l.items[subs[next]].path)
		}
	}
	defer func() { // on cancel: wait for the listings still running
		for _, a := range ahead {
			a.discard()
		}
	}()
	fill()
	files := s.folder(dir, real)
	defer files.done()
	for k, it := range l.items {
		e, path := it.entry, it.path
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			fi, err := os.Stat(path)
			if err != nil {
				continue // a dangling link found by walking is not a photo
			}
			if fi.IsDir() {
				if !s.flat {
					s.walkDir(ctx, root, path, "", nil)
				}
				continue
			}
			if !fi.Mode().IsRegular() || !s.media.has(e.Name()) {
				continue
			}
			if real, first := s.linkedOnce(path); first {
				s.linked[real] = s.addFile(&files, e.Name(), fi, l.names)
			}
		case e.IsDir():
			if s.flat {
				continue
			}
			sub := ahead[k]
			delete(ahead, k)
			fill()
			// A folder entry is no link: its real path is under real.
			s.walkDir(ctx, root, path, filepath.Join(real, e.Name()), sub)
		case it.err != nil:
			s.fail(path, it.err)
		default:
			s.addFile(&files, e.Name(), it.info, l.names)
		}
	}
}

// listAhead is how many subfolders of each folder on the walk's path are
// listed ahead of it.
const listAhead = 2

// listing is a folder's entries to visit, in order, with its media files
// stat'ed, made by a goroutine of its own (scanner.list).
type listing struct {
	done chan struct{}
	listed
}

type listed struct {
	items []dirItem
	names map[string]bool // every entry's name, when looking for sidecars
	err   error
}

// list starts listing folder dir (under the named root).
func (s *scanner) list(root, dir string) *listing {
	s.listings++
	ls := &listing{done: make(chan struct{})}
	go func() {
		defer close(ls.done)
		ls.listed = s.readFolder(root, dir)
	}()
	return ls
}

// wait returns the listing once it is made.
func (ls *listing) wait() *listed {
	<-ls.done
	return &ls.listed
}

// discard waits for a listing that will not be used (so that no
// goroutine outlives the scan); nil does nothing.
func (ls *listing) discard() {
	if ls != nil {
		<-ls.done
	}
}

// readFolder lists folder dir: the entries to visit in order (subfolders,
// links, and the media files, which it stat's), without the hidden and
// ignored ones. It reads the scanner's settings only, so listings of
// several folders may run at once.
func (s *scanner) readFolder(root, dir string) listed {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return listed{err: err}
	}
	var l listed
	if s.withSidecars {
		l.names = make(map[string]bool, len(entries))
		for _, e := range entries {
			l.names[e.Name()] = true
		}
	}
	var media []int
	for _, e := range entries {
		name := e.Name()
		if !s.includeHidden && isHidden(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if len(s.ignore) > 0 {
			if rel, _ := filepath.Rel(root, path); s.ignored(path, rel) {
				continue
			}
		}
		mode := e.Type()
		switch {
		case mode&fs.ModeSymlink != 0 || e.IsDir():
		case mode.IsRegular() && s.media.has(name):
			media = append(media, len(l.items))
		default:
			continue
		}
		l.items = append(l.items, dirItem{entry: e, path: path})
	}
	statItems(l.items, media)
	return l
}

// dirItem is one entry of a walked folder, with its stat once taken.
type dirItem struct {
	entry fs.DirEntry
	path  string
	info  fs.FileInfo
	err   error
}

// statWorkers bounds the stats of one folder's files made at once: on a
// network share each is a round trip, and locally they use every core.
const statWorkers = 8

// statItems takes the stat (lstat: they are no links) of items[i] for each
// i in idx, in up to statWorkers goroutines of at least 32 files each.
func statItems(items []dirItem, idx []int) {
	stat := func(part []int) {
		for _, i := range part {
			items[i].info, items[i].err = items[i].entry.Info()
		}
	}
	workers := min(statWorkers, (len(idx)+31)/32)
	if workers <= 1 {
		stat(idx)
		return
	}
	per := (len(idx) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(idx); lo += per {
		part := idx[lo:min(lo+per, len(idx))]
		wg.Go(func() { stat(part) })
	}
	wg.Wait()
}

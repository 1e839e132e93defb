package wrapper

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// DefaultExportLayout is the layout Export uses when ExportOptions.Layout is
// empty: one folder per year and month of capture.
const DefaultExportLayout = "{{.Year}}/{{.Month}}/{{.Name}}"

// ErrBadLayout is returned (wrapped) by Export for a layout that does not
// parse, names a field ExportPathFields does not have, or makes a path
// outside the export folder. Nothing is written then.
var ErrBadLayout = errors.New("bad export layout")

// ExportPathFields is what an export layout (a text/template) is executed
// over, once per asset. Every field is sanitised into a single portable
// file name element (no separator, no "..", no control character), so only
// the layout's own text can make folders.
type ExportPathFields struct {
	// Year, Month and Day are the capture date as the camera's clock showed
	// it (Immich's localDateTime): "2024", "03", "07".
	Year, Month, Day string
	// Album is the album name: the first of ExportOptions.Albums that holds
	// the asset, else the first album holding it by name, "" when none.
	Album string
	// Name is the original file name ("IMG_0001.jpg"), Stem the name
	// without its extension ("IMG_0001"), Ext the extension without its dot
	// ("jpg").
	Name, Stem, Ext string
	// ID is the asset id.
	ID string
	// Type is IMAGE, VIDEO, AUDIO or OTHER.
	Type string
}

// layoutFields lists the fields for error messages.
const layoutFields = ".Year .Month .Day .Album .Name .Stem .Ext .ID .Type"

// exportLayout is a parsed, validated layout.
type exportLayout struct {
	text    string
	tmpl    *template.Template
	inAlbum bool // uses .Album: album membership must be listed
}

// parseLayout parses text and checks it against a sample asset: a template
// error, an unknown field, or a path that is absolute, climbs out with "..",
// or lands in the export's own folders is an error matching ErrBadLayout.
func parseLayout(text string) (*exportLayout, error) {
	if text == "" {
		text = DefaultExportLayout
	}
	t, err := template.New("layout").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrBadLayout, text, err)
	}
	l := &exportLayout{text: text, tmpl: t, inAlbum: strings.Contains(text, ".Album")}
	sample := ExportPathFields{Year: "2024", Month: "03", Day: "07", Album: "Album", Name: "IMG_0001.jpg",
		Stem: "IMG_0001", Ext: "jpg", ID: "00000000-0000-4000-8000-000000000000", Type: "IMAGE"}
	if _, err := l.render(sample); err != nil {
		return nil, err
	}
	return l, nil
}

// render executes the layout for f and returns a clean, slash-separated
// path relative to the export folder, each element a portable file name.
func (l *exportLayout) render(f ExportPathFields) (string, error) {
	var b bytes.Buffer
	if err := l.tmpl.Execute(&b, f); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "can't evaluate field") {
			msg = msg[i+2:]
		}
		return "", fmt.Errorf("%w %q: %s; the fields are %s", ErrBadLayout, l.text, msg, layoutFields)
	}
	raw := strings.ReplaceAll(b.String(), `\`, "/")
	if strings.HasPrefix(raw, "/") || filepath.IsAbs(raw) || filepath.VolumeName(raw) != "" {
		return "", fmt.Errorf("%w %q: it makes the absolute path %q; a layout is relative to the export folder", ErrBadLayout, l.text, raw)
	}
	var elems []string
	for _, e := range strings.Split(raw, "/") {
		if e == ".." {
			return "", fmt.Errorf("%w %q: it makes %q, which leaves the export folder", ErrBadLayout, l.text, raw)
		}
		if e = sanitizeFilename(e); e != "" {
			elems = append(elems, e)
		}
	}
	if len(elems) == 0 {
		return "", fmt.Errorf("%w %q: it makes an empty path; end it with a file name such as {{.Name}}", ErrBadLayout, l.text)
	}
	p := path.Join(elems...)
	if reservedExportPath(p) {
		return "", fmt.Errorf("%w %q: it makes %q, inside the export's own %s or %s folder", ErrBadLayout, l.text, p, exportMetaDir, exportTrashDir)
	}
	return p, nil
}

// reservedExportPath reports a path inside the folders Export keeps for
// itself. Sanitised elements never start with a dot, so a rendered path
// cannot be one; the check keeps it so should sanitising ever change.
func reservedExportPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.EqualFold(first, exportMetaDir) || strings.EqualFold(first, exportTrashDir)
}

// pathFields fills ExportPathFields for an asset.
func pathFields(a *exportAsset, album string) ExportPathFields {
	day := a.LocalDateTime
	if day.IsZero() {
		day = a.FileCreatedAt
	}
	day = day.UTC()
	name := firstName(a.OriginalFileName, "asset-"+a.ID)
	ext := path.Ext(name)
	return ExportPathFields{
		Year:  fmt.Sprintf("%04d", day.Year()),
		Month: fmt.Sprintf("%02d", int(day.Month())),
		Day:   fmt.Sprintf("%02d", day.Day()),
		Album: albumElement(album),
		Name:  name,
		Stem:  stemOf(name),
		Ext:   strings.TrimPrefix(ext, "."),
		ID:    a.ID,
		Type:  a.Type,
	}
}

// albumElement turns an album name into one file name element: its slashes
// become "_" rather than folders.
func albumElement(name string) string {
	return sanitizeFilename(strings.NewReplacer("/", "_", `\`, "_").Replace(name))
}

// idSuffixed returns p with "~" and the first n characters of id before its
// extension: the name of an asset whose layout path another asset holds.
func idSuffixed(p, id string, n int) string {
	dir, name := path.Split(p)
	ext := path.Ext(name)
	if len(ext) > maxExtBytes || ext == name {
		ext = ""
	}
	return dir + strings.TrimSuffix(name, ext) + "~" + id[:min(n, len(id))] + ext
}

// trashDay names the folder of .trash that a run moves files into.
func trashDay(t time.Time) string { return t.Format("2006-01-02") }

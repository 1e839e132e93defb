package wrapper

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// sidecar writes it's sidecar when the plan says so: a temporary file,
// synced, renamed into place, so no half-written sidecar ever has the final
// name. A file of that name the export did not write is left alone.
func (e *exporter) sidecar(it *exportItem) {
	if !it.sidecar || e.opts.Sidecar == ExportSidecarNone {
		return
	}
	var b []byte
	switch e.opts.Sidecar {
	case ExportSidecarJSON:
		if it.a.raw == nil {
			return // known from the state only: nothing new to write
		}
		b = append(bytes.TrimSpace(it.a.raw), '\n')
	case ExportSidecarXMP:
		b = xmpSidecar(it.a)
	}
	p := it.target + "." + string(e.opts.Sidecar)
	e.mu.Lock()
	s := e.st.Assets[it.a.ID]
	ours := s != nil && s.Sidecar == p
	e.mu.Unlock()
	if s == nil {
		return
	}
	if !ours && e.exists(p) {
		e.fail(it.a.ID, p, fmt.Errorf("a file not written by the export is where its sidecar goes; it is left as it is"))
		return
	}
	if err := e.writeFile(p, b); err != nil {
		e.fail(it.a.ID, p, fmt.Errorf("writing the sidecar: %w", err))
		return
	}
	e.mu.Lock()
	s.Sidecar, s.UpdatedAt = p, it.a.UpdatedAt
	e.dirty = true
	e.res.Stats.Sidecars++
	e.mu.Unlock()
}

// writeFile writes b to p (slash-separated, under the export folder)
// through writeSynced.
func (e *exporter) writeFile(p string, b []byte) error {
	return writeSynced(e.root, filepath.FromSlash(p), b)
}

// writeSynced writes b to name under root through a temporary file that is
// synced and renamed over name, so a crash leaves the old file or the new
// one, never a part; the temporary file is removed on failure.
func writeSynced(root *os.Root, name string, b []byte) error {
	tmp := name + ".tmp"
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}

// xmpSidecar is an XMP packet with what Immich knows of the asset:
// description (dc:description), rating (xmp:Rating), favourite
// (xmp:Label "Favorite"), tags (dc:subject, and lr:hierarchicalSubject
// for nested ones), GPS position and capture time (exif:).
func xmpSidecar(a *exportAsset) []byte {
	var b bytes.Buffer
	esc := func(s string) string {
		var w bytes.Buffer
		_ = xml.EscapeText(&w, []byte(s))
		return w.String()
	}
	b.WriteString("<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n")
	b.WriteString(`<x:xmpmeta xmlns:x="adobe:ns:meta/">` + "\n")
	b.WriteString(` <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` + "\n")
	b.WriteString(`  <rdf:Description rdf:about=""` + "\n")
	b.WriteString(`    xmlns:dc="http://purl.org/dc/elements/1.1/"` + "\n")
	b.WriteString(`    xmlns:xmp="http://ns.adobe.com/xap/1.0/"` + "\n")
	b.WriteString(`    xmlns:exif="http://ns.adobe.com/exif/1.0/"` + "\n")
	b.WriteString(`    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"`)
	taken := a.FileCreatedAt
	x := a.ExifInfo
	if x != nil && x.DateTimeOriginal != nil {
		taken = *x.DateTimeOriginal
	}
	if !taken.IsZero() {
		fmt.Fprintf(&b, "\n    exif:DateTimeOriginal=\"%s\"", taken.UTC().Format(time.RFC3339Nano))
	}
	if x != nil && x.Rating != nil {
		fmt.Fprintf(&b, "\n    xmp:Rating=\"%d\"", *x.Rating)
	}
	if a.IsFavorite {
		b.WriteString("\n    xmp:Label=\"Favorite\"")
	}
	if x != nil && x.Latitude != nil && x.Longitude != nil {
		fmt.Fprintf(&b, "\n    exif:GPSLatitude=\"%s\"\n    exif:GPSLongitude=\"%s\"",
			xmpCoordinate(*x.Latitude, "N", "S"), xmpCoordinate(*x.Longitude, "E", "W"))
	}
	b.WriteString(">\n")
	if x != nil && x.Description != nil && *x.Description != "" {
		fmt.Fprintf(&b, "   <dc:description><rdf:Alt><rdf:li xml:lang=\"x-default\">%s</rdf:li></rdf:Alt></dc:description>\n", esc(*x.Description))
	}
	if len(a.Tags) > 0 {
		b.WriteString("   <dc:subject><rdf:Bag>\n")
		for _, t := range a.Tags {
			leaf := t.Value
			if i := bytes.LastIndexByte([]byte(leaf), '/'); i >= 0 {
				leaf = leaf[i+1:]
			}
			fmt.Fprintf(&b, "    <rdf:li>%s</rdf:li>\n", esc(leaf))
		}
		b.WriteString("   </rdf:Bag></dc:subject>\n")
		b.WriteString("   <lr:hierarchicalSubject><rdf:Bag>\n")
		for _, t := range a.Tags {
			fmt.Fprintf(&b, "    <rdf:li>%s</rdf:li>\n", esc(t.Value))
		}
		b.WriteString("   </rdf:Bag></lr:hierarchicalSubject>\n")
	}
	b.WriteString("  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>\n")
	return b.Bytes()
}

// xmpCoordinate writes a GPS coordinate as XMP wants it: "DDD,MM.mmmmmmK".
func xmpCoordinate(v float64, pos, neg string) string {
	ref := pos
	if v < 0 {
		ref, v = neg, -v
	}
	deg := math.Floor(v)
	minutes := (v - deg) * 60
	return strconv.Itoa(int(deg)) + "," + strconv.FormatFloat(minutes, 'f', 6, 64) + ref
}

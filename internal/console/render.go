package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates, one set per page file: layout.html and the page, whose
// "content" block the layout places in the page's main element.
var (
	pagesOnce sync.Once
	pages     map[string]*template.Template
	pagesErr  error
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"bytes": humanBytes,
	"join":  strings.Join,
	// under: path is section or a page below it (the navigation marks its section).
	"under": func(path, section string) bool {
		return path == section || strings.HasPrefix(path, section+"/")
	},
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"millis": func(ms int64) string {
		if ms < 0 {
			return ""
		}
		return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z")
	},
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

func parseTemplates() error {
	pagesOnce.Do(func() {
		layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
		if err != nil {
			pagesErr = err
			return
		}
		names, err := fs.Glob(templateFS, "templates/*.html")
		if err != nil {
			pagesErr = err
			return
		}
		pages = make(map[string]*template.Template)
		for _, name := range names {
			base := strings.TrimPrefix(name, "templates/")
			if base == "layout.html" {
				continue
			}
			t, err := template.Must(layout.Clone()).ParseFS(templateFS, name)
			if err != nil {
				pagesErr = fmt.Errorf("console template %s: %w", base, err)
				return
			}
			pages[base] = t
		}
	})
	return pagesErr
}

// page is what the layout sees: the page's own data is .Data.
type page struct {
	Title     string
	Path      string
	Principal string
	SignIn    bool
	Registry  bool
	Connect   bool
	Data      any
}

// render writes the page built from the template file name, titled title, with data.
func (c *Console) render(w http.ResponseWriter, r *http.Request, name, title string, data any) {
	t := pages[name]
	if t == nil {
		c.logger.Error("console: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := page{Title: title, Path: r.URL.Path, SignIn: c.opts.SignIn, Registry: c.opts.RegistryURL != "",
		Connect: c.opts.ConnectURL != "", Data: data}
	if s := sessionOf(r); s != nil {
		p.Principal = s.Principal
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.logger.Error("console: template failed", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// fail answers an error: a page for navigations, JSON {"error": …} for scripts.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	w.WriteHeader(status)
	c.render(w, r, "error.html", http.StatusText(status), struct {
		Status  int
		Message string
	}{status, msg})
}

// writeJSON answers v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func withSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// humanBytes formats a size as B, KiB, MiB, GiB or TiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}

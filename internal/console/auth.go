package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authenticate gives every request its session: the shared anonymous one when sign-in is
// off, else the signed-in user's from the session cookie; a request without one is sent to
// /login (pages) or answered 401 (/api/ and websocket paths). /login and /static/ need none.
func (c *Console) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" || r.URL.Path == "/logout" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		var s *Session
		if !c.opts.SignIn {
			var err error
			if s, err = c.anonymous(r.Context()); err != nil {
				c.fail(w, r, http.StatusBadGateway, "cannot reach the cluster: "+err.Error())
				return
			}
		} else {
			if ck, err := r.Cookie(sessionCookie); err == nil {
				c.mu.Lock()
				s = c.sessions[ck.Value]
				c.mu.Unlock()
			}
			if s == nil {
				if wantsJSON(r) {
					http.Error(w, "sign in first", http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		s.used.Store(time.Now().Unix())
		next.ServeHTTP(w, r.WithContext(withSession(r.Context(), s)))
	})
}

// wantsJSON: the request is from the pages' scripts (or another program), not a navigation.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json") ||
		r.Header.Get("Upgrade") != ""
}

type loginPage struct {
	Mechanisms []string
	Next       string
	User       string
	Error      string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	if !c.opts.SignIn {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.render(w, r, "login.html", "Sign in", loginPage{Mechanisms: c.opts.Mechanisms, Next: safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.opts.SignIn {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	user, pass, mech := r.PostFormValue("user"), r.PostFormValue("password"), r.PostFormValue("mechanism")
	next := safeNext(r.PostFormValue("next"))
	known := false
	for _, m := range c.opts.Mechanisms {
		known = known || m == mech
	}
	page := loginPage{Mechanisms: c.opts.Mechanisms, Next: next, User: user}
	if !known {
		page.Error = "choose one of the offered mechanisms"
	} else if (user == "" && mech != "OAUTHBEARER") || pass == "" {
		page.Error = "enter a user name and password (or a token)"
	}
	if page.Error == "" {
		id, err := c.signIn(r.Context(), mech, user, pass)
		if err == nil {
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		c.logger.Info("console sign-in refused", "user", user, "mechanism", mech, "err", err)
		page.Error = "the cluster refused these credentials: " + err.Error()
	}
	w.WriteHeader(http.StatusUnauthorized)
	c.render(w, r, "login.html", "Sign in", page)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.mu.Lock()
		if s := c.sessions[ck.Value]; s != nil {
			s.close()
			delete(c.sessions, ck.Value)
		}
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

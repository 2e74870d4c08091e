package console

import (
	"io/fs"
	"net/http"
)

// routes registers every page and API path. Each area's handlers live in its own file.
func (c *Console) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", c.loginForm)
	mux.HandleFunc("POST /login", c.login)
	mux.HandleFunc("POST /logout", c.logout)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
	})

	// Overview, brokers, topics, security and quotas (overview.go, brokers.go, topics.go,
	// security.go, quotas.go).
	c.overviewRoutes(mux)
	c.brokerRoutes(mux)
	c.topicRoutes(mux)
	c.securityRoutes(mux)
	c.quotaRoutes(mux)

	// The message browser (messages.go).
	c.messageRoutes(mux)

	// Consumer groups, schemas and connectors (groups.go, schemas.go, connectors.go).
	c.groupRoutes(mux)
	c.schemaRoutes(mux)
	c.connectorRoutes(mux)
}

package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// registryOptions are the flags of the `sluice schema` commands: where the schema registry is
// (Confluent's REST API, which every Sluice node serves on --schema-registry-addr) and how to
// authenticate to it, the way the HTTP listener takes callers (basic or bearer, over TLS).
type registryOptions struct {
	url      string
	userInfo string // user:password for HTTP basic
	token    string // bearer token
	caFile   string
	timeout  time.Duration
	format   string
}

func (o *registryOptions) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.url, "schema-registry", envOr("SLUICE_SCHEMA_REGISTRY", "http://localhost:8081"),
		"schema registry URL (env SLUICE_SCHEMA_REGISTRY)")
	f.StringVar(&o.userInfo, "basic-auth-user-info", os.Getenv("SLUICE_SCHEMA_REGISTRY_USER_INFO"),
		"USER:PASSWORD for HTTP basic authentication, as Confluent's basic.auth.user.info (env SLUICE_SCHEMA_REGISTRY_USER_INFO)")
	f.StringVar(&o.token, "bearer-token", os.Getenv("SLUICE_SCHEMA_REGISTRY_TOKEN"),
		"bearer token (a JWT) for HTTP bearer authentication (env SLUICE_SCHEMA_REGISTRY_TOKEN)")
	f.StringVar(&o.caFile, "ca-file", os.Getenv("SLUICE_SCHEMA_REGISTRY_CA_FILE"),
		"PEM file of the CA certificates to trust for an https URL (env SLUICE_SCHEMA_REGISTRY_CA_FILE; default: the system's)")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the registry to answer")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
}

// registryClient calls one registry.
type registryClient struct {
	base  *url.URL
	opts  *registryOptions
	http  *http.Client
	ctx   context.Context
	close func()
}

// client checks the flags and returns a client bounded by --timeout; call close when done.
func (o *registryOptions) client(cmd *cobra.Command) (*registryClient, error) {
	if o.format != "text" && o.format != "json" {
		return nil, fmt.Errorf("--format %q: use text or json", o.format)
	}
	u, err := url.Parse(strings.TrimRight(o.url, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--schema-registry %q: want http://host:port or https://host:port", o.url)
	}
	if o.userInfo != "" && !strings.Contains(o.userInfo, ":") {
		return nil, errors.New("--basic-auth-user-info: want USER:PASSWORD")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificates", o.caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	return &registryClient{base: u, opts: o, http: &http.Client{Transport: transport}, ctx: ctx,
		close: func() { cancel(); transport.CloseIdleConnections() }}, nil
}

// registryError is an error the registry answered: Confluent's error_code and message.
type registryError struct {
	Status  int
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *registryError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("schema registry: HTTP %d", e.Status)
	}
	return fmt.Sprintf("schema registry: %s (error code %d)", e.Message, e.Code)
}

// call sends method path?query with body (JSON-encoded unless nil) and decodes the answer into
// out (unless nil). path segments must already be escaped (see seg).
func (c *registryClient) call(method, path string, query url.Values, body, out any) error {
	target := c.base.String() + path
	if q := query.Encode(); q != "" {
		target += "?" + q
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	if user, pass, ok := strings.Cut(c.opts.userInfo, ":"); ok {
		req.SetBasicAuth(user, pass)
	} else if c.opts.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.explain(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read the registry's answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		re := &registryError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, re)
		if re.Message == "" && resp.StatusCode == http.StatusUnauthorized {
			re.Message = "unauthorized: pass --basic-auth-user-info USER:PASSWORD or --bearer-token"
		}
		return re
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode the registry's answer to %s %s: %w", method, path, err)
	}
	return nil
}

// explain names the URL and the flag that sets it when the registry cannot be reached.
func (c *registryClient) explain(err error) error {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w\ncannot reach the schema registry at %s: check that the cluster serves it (--schema-registry-addr), or point --schema-registry (or SLUICE_SCHEMA_REGISTRY) at it", err, c.base)
	}
	return err
}

// seg escapes one path segment (subjects may hold any character).
func seg(s string) string { return url.PathEscape(s) }

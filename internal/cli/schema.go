package cli

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newSchemaCommand() *cobra.Command {
	o := &registryOptions{}
	cmd := &cobra.Command{Use: "schema", Short: "Register, read, check and delete schemas in the schema registry",
		Long: "Talks to the schema registry every Sluice node serves (Confluent's REST API on --schema-registry-addr,\n" +
			"default localhost:8081). Subjects are named as Confluent names them: <topic>-key and <topic>-value with\n" +
			"the default TopicNameStrategy; a context is a :.name: prefix."}
	o.register(cmd)
	cmd.AddCommand(newSchemaRegisterCommand(o), newSchemaGetCommand(o), newSchemaListCommand(o), newSchemaCheckCommand(o),
		newSchemaDeleteCommand(o), newSchemaConfigCommand(o), newSchemaModeCommand(o))
	return cmd
}

// schemaReference is one entry of a schema's references.
type schemaReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// schemaInfo is a schema as the registry returns it.
type schemaInfo struct {
	Subject    string            `json:"subject,omitempty"`
	Version    int               `json:"version,omitempty"`
	ID         int               `json:"id,omitempty"`
	SchemaType string            `json:"schemaType,omitempty"`
	References []schemaReference `json:"references,omitempty"`
	Schema     string            `json:"schema"`
}

// schemaFileFlags are the flags naming a schema to send: register and check.
type schemaFileFlags struct {
	file       string
	schemaType string
	references []string
	normalize  bool
}

func (s *schemaFileFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.file, "file", "", "the schema file (- for standard input)")
	f.StringVar(&s.schemaType, "type", "", "AVRO, JSON or PROTOBUF (default: PROTOBUF for a .proto file, JSON for .json, else AVRO)")
	f.StringArrayVar(&s.references, "reference", nil, "a reference NAME=SUBJECT:VERSION (VERSION may be latest); repeatable")
	f.BoolVar(&s.normalize, "normalize", false, "normalize the schema before it is compared and stored")
	_ = cmd.MarkFlagRequired("file")
}

// request reads the file and builds the registry's request body.
func (s *schemaFileFlags) request(cmd *cobra.Command, c *registryClient) (*schemaInfo, error) {
	var data []byte
	var err error
	if s.file == "-" {
		data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 64<<20))
	} else {
		data, err = os.ReadFile(s.file)
	}
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	typ := strings.ToUpper(s.schemaType)
	if typ == "" {
		switch strings.ToLower(filepath.Ext(s.file)) {
		case ".proto":
			typ = "PROTOBUF"
		case ".json":
			typ = "JSON"
		default:
			typ = "AVRO"
		}
	}
	switch typ {
	case "AVRO", "JSON", "PROTOBUF":
	default:
		return nil, fmt.Errorf("--type %q: use AVRO, JSON or PROTOBUF", s.schemaType)
	}
	req := &schemaInfo{Schema: string(data)}
	if typ != "AVRO" {
		req.SchemaType = typ
	}
	for _, r := range s.references {
		ref, err := parseReference(c, r)
		if err != nil {
			return nil, err
		}
		req.References = append(req.References, ref)
	}
	return req, nil
}

// parseReference reads NAME=SUBJECT:VERSION; a latest VERSION is asked of the registry.
func parseReference(c *registryClient, s string) (schemaReference, error) {
	name, target, ok := strings.Cut(s, "=")
	i := strings.LastIndex(target, ":")
	if !ok || name == "" || i <= 0 || i == len(target)-1 {
		return schemaReference{}, fmt.Errorf("--reference %q: want NAME=SUBJECT:VERSION", s)
	}
	ref := schemaReference{Name: name, Subject: target[:i]}
	version := target[i+1:]
	if version == "latest" {
		var latest schemaInfo
		if err := c.call("GET", "/subjects/"+seg(ref.Subject)+"/versions/latest", nil, nil, &latest); err != nil {
			return schemaReference{}, fmt.Errorf("--reference %s: %w", s, err)
		}
		ref.Version = latest.Version
		return ref, nil
	}
	v, err := strconv.Atoi(version)
	if err != nil || v < 1 {
		return schemaReference{}, fmt.Errorf("--reference %q: version %q is not a positive number or latest", s, version)
	}
	ref.Version = v
	return ref, nil
}

// versionPath is a --version value as the registry takes it: a number or latest.
func versionPath(v string) (string, error) {
	if v == "latest" || v == "-1" {
		return "latest", nil
	}
	if n, err := strconv.Atoi(v); err != nil || n < 1 {
		return "", fmt.Errorf("--version %q: use a version number or latest", v)
	}
	return v, nil
}

func newSchemaRegisterCommand(o *registryOptions) *cobra.Command {
	var s schemaFileFlags
	cmd := &cobra.Command{Use: "register SUBJECT --file FILE", Short: "Register a schema under a subject (a new version unless it is already there)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			req, err := s.request(cmd, c)
			if err != nil {
				return err
			}
			q := url.Values{}
			if s.normalize {
				q.Set("normalize", "true")
			}
			subject := args[0]
			var id struct {
				ID int `json:"id"`
			}
			if err := c.call("POST", "/subjects/"+seg(subject)+"/versions", q, req, &id); err != nil {
				return err
			}
			// The version is not in the answer: look the schema up, as Confluent's clients do.
			var got schemaInfo
			if err := c.call("POST", "/subjects/"+seg(subject), q, req, &got); err != nil {
				return err
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"subject": subject, "version": got.Version, "id": id.ID})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "subject %s version %d id %d\n", subject, got.Version, id.ID)
			return nil
		}}
	s.register(cmd)
	return cmd
}

func newSchemaGetCommand(o *registryOptions) *cobra.Command {
	var version string
	var id int
	var schemaOnly, deleted bool
	cmd := &cobra.Command{Use: "get (SUBJECT [--version N|latest] | --id ID)", Short: "Print a schema: a subject's version, or the schema with an id",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			byID := cmd.Flags().Changed("id")
			if byID == (len(args) == 1) {
				return errors.New("name a SUBJECT or pass --id, not both")
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			q := url.Values{}
			if deleted {
				q.Set("deleted", "true")
			}
			var info schemaInfo
			var subjects []schemaInfo // the subject-versions of an id
			if byID {
				if err := c.call("GET", "/schemas/ids/"+strconv.Itoa(id), nil, nil, &info); err != nil {
					return err
				}
				info.ID = id
				if err := c.call("GET", "/schemas/ids/"+strconv.Itoa(id)+"/versions", q, nil, &subjects); err != nil {
					return err
				}
			} else {
				v, err := versionPath(version)
				if err != nil {
					return err
				}
				if err := c.call("GET", "/subjects/"+seg(args[0])+"/versions/"+v, q, nil, &info); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			switch {
			case schemaOnly:
				fmt.Fprintln(w, info.Schema)
				return nil
			case o.format == "json":
				if byID {
					return writeJSON(w, map[string]any{"id": info.ID, "schemaType": schemaTypeOf(info), "references": info.References,
						"schema": info.Schema, "versions": subjects})
				}
				info.SchemaType = schemaTypeOf(info)
				return writeJSON(w, info)
			}
			if byID {
				fmt.Fprintf(w, "id: %d\n", info.ID)
				for _, s := range subjects {
					fmt.Fprintf(w, "subject: %s version %d\n", s.Subject, s.Version)
				}
			} else {
				fmt.Fprintf(w, "subject: %s\nversion: %d\nid: %d\n", info.Subject, info.Version, info.ID)
			}
			fmt.Fprintf(w, "type: %s\n", schemaTypeOf(info))
			for _, r := range info.References {
				fmt.Fprintf(w, "reference: %s=%s:%d\n", r.Name, r.Subject, r.Version)
			}
			fmt.Fprintf(w, "\n%s\n", info.Schema)
			return nil
		}}
	f := cmd.Flags()
	f.StringVar(&version, "version", "latest", "the version: a number or latest")
	f.IntVar(&id, "id", 0, "the schema id (instead of SUBJECT)")
	f.BoolVar(&schemaOnly, "schema-only", false, "print the schema text alone")
	f.BoolVar(&deleted, "deleted", false, "include soft-deleted versions")
	return cmd
}

// schemaTypeOf is a schema's type; the registry leaves AVRO out.
func schemaTypeOf(s schemaInfo) string {
	if s.SchemaType == "" {
		return "AVRO"
	}
	return s.SchemaType
}

func newSchemaListCommand(o *registryOptions) *cobra.Command {
	var prefix string
	var deleted bool
	cmd := &cobra.Command{Use: "list [--prefix P] [--deleted]", Short: "List subjects and their versions",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			q := url.Values{}
			if prefix != "" {
				q.Set("subjectPrefix", prefix)
			}
			if deleted {
				q.Set("deleted", "true")
			}
			var subjects []string
			if err := c.call("GET", "/subjects", q, nil, &subjects); err != nil {
				return err
			}
			type row struct {
				Subject  string `json:"subject"`
				Versions []int  `json:"versions"`
			}
			rows := make([]row, 0, len(subjects))
			vq := url.Values{}
			if deleted {
				vq.Set("deleted", "true")
			}
			for _, s := range subjects {
				r := row{Subject: s}
				if err := c.call("GET", "/subjects/"+seg(s)+"/versions", vq, nil, &r.Versions); err != nil {
					return fmt.Errorf("versions of %s: %w", s, err)
				}
				rows = append(rows, r)
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			t := newTable(cmd.OutOrStdout(), "SUBJECT", "VERSIONS")
			for _, r := range rows {
				vs := make([]string, len(r.Versions))
				for i, v := range r.Versions {
					vs[i] = strconv.Itoa(v)
				}
				t.row(r.Subject, strings.Join(vs, ","))
			}
			return t.flush()
		}}
	cmd.Flags().StringVar(&prefix, "prefix", "", "only subjects starting with this")
	cmd.Flags().BoolVar(&deleted, "deleted", false, "include soft-deleted subjects and versions")
	return cmd
}

// errIncompatible makes check exit 1 once it has printed why.
var errIncompatible = errors.New("the schema is not compatible")

func newSchemaCheckCommand(o *registryOptions) *cobra.Command {
	var s schemaFileFlags
	var version string
	cmd := &cobra.Command{Use: "check SUBJECT --file FILE [--version N|latest]",
		Short: "Check a schema against a subject's compatibility level (exit status 1 when incompatible)",
		Long: "Without --version the schema is checked against the versions the subject's compatibility level names\n" +
			"(the latest, or all of them for a transitive level); with it, against that version.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			req, err := s.request(cmd, c)
			if err != nil {
				return err
			}
			path := "/compatibility/subjects/" + seg(args[0]) + "/versions"
			if version != "" {
				v, err := versionPath(version)
				if err != nil {
					return err
				}
				path += "/" + v
			}
			q := url.Values{"verbose": {"true"}}
			if s.normalize {
				q.Set("normalize", "true")
			}
			var verdict struct {
				IsCompatible bool     `json:"is_compatible"`
				Messages     []string `json:"messages"`
			}
			if err := c.call("POST", path, q, req, &verdict); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if o.format == "json" {
				if err := writeJSON(w, verdict); err != nil {
					return err
				}
			} else if verdict.IsCompatible {
				fmt.Fprintln(w, "compatible")
			} else {
				fmt.Fprintln(w, "incompatible")
				for _, m := range verdict.Messages {
					fmt.Fprintf(w, "  %s\n", m)
				}
			}
			if !verdict.IsCompatible {
				return fmt.Errorf("%w with %s", errIncompatible, args[0])
			}
			return nil
		}}
	s.register(cmd)
	cmd.Flags().StringVar(&version, "version", "", "check against this version only (a number or latest)")
	return cmd
}

func newSchemaDeleteCommand(o *registryOptions) *cobra.Command {
	var version string
	var permanent bool
	cmd := &cobra.Command{Use: "delete SUBJECT [--version N|latest] [--permanent]",
		Short: "Delete a subject or one version: soft first; --permanent removes what was soft-deleted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			q := url.Values{}
			kind := "soft-deleted"
			if permanent {
				q.Set("permanent", "true")
				kind = "permanently deleted"
			}
			var versions []int
			if version == "" {
				if err := c.call("DELETE", "/subjects/"+seg(args[0]), q, nil, &versions); err != nil {
					return err
				}
			} else {
				v, err := versionPath(version)
				if err != nil {
					return err
				}
				var one int
				if err := c.call("DELETE", "/subjects/"+seg(args[0])+"/versions/"+v, q, nil, &one); err != nil {
					return err
				}
				versions = []int{one}
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"subject": args[0], "versions": versions, "permanent": permanent})
			}
			vs := make([]string, len(versions))
			for i, v := range versions {
				vs[i] = strconv.Itoa(v)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s versions %s\n", kind, args[0], strings.Join(vs, ","))
			return nil
		}}
	cmd.Flags().StringVar(&version, "version", "", "delete this version only (a number or latest)")
	cmd.Flags().BoolVar(&permanent, "permanent", false, "delete permanently (the subject or version must be soft-deleted first)")
	return cmd
}

// levelCommand is config and mode: GET, PUT (--set) or DELETE (--delete) of /config or /mode,
// global or for a subject.
type levelCommand struct {
	path    string // "config" or "mode"
	field   string // the PUT body's field
	answers []string
}

func newSchemaConfigCommand(o *registryOptions) *cobra.Command {
	return newLevelCommand(o, levelCommand{path: "config", field: "compatibility", answers: []string{"compatibilityLevel", "compatibility"}},
		"config [SUBJECT] [--set LEVEL | --delete]",
		"Show or set the compatibility level, global or of a subject (BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE)")
}

func newSchemaModeCommand(o *registryOptions) *cobra.Command {
	return newLevelCommand(o, levelCommand{path: "mode", field: "mode", answers: []string{"mode"}},
		"mode [SUBJECT] [--set MODE | --delete]",
		"Show or set the mode, global or of a subject (READWRITE, READONLY, READONLY_OVERRIDE, IMPORT)")
}

func newLevelCommand(o *registryOptions, l levelCommand, use, short string) *cobra.Command {
	var set string
	var del, force bool
	cmd := &cobra.Command{Use: use, Short: short, Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if set != "" && del {
				return errors.New("pass --set or --delete, not both")
			}
			c, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer c.close()
			path, subject := "/"+l.path, ""
			if len(args) == 1 {
				subject = args[0]
				path += "/" + seg(subject)
			}
			q := url.Values{}
			var answer map[string]any
			switch {
			case set != "":
				if force {
					q.Set("force", "true")
				}
				err = c.call("PUT", path, q, map[string]string{l.field: strings.ToUpper(set)}, &answer)
			case del:
				if subject == "" {
					return fmt.Errorf("--delete needs a SUBJECT (the global %s cannot be deleted)", l.path)
				}
				err = c.call("DELETE", path, q, nil, &answer)
			default:
				if subject != "" {
					q.Set("defaultToGlobal", "true")
				}
				err = c.call("GET", path, q, nil, &answer)
			}
			if err != nil {
				return err
			}
			if o.format == "json" {
				return writeJSON(cmd.OutOrStdout(), answer)
			}
			value := ""
			for _, k := range l.answers {
				if v, ok := answer[k].(string); ok {
					value = v
					break
				}
			}
			if subject != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", subject, value)
			} else {
				fmt.Fprintln(cmd.OutOrStdout(), value)
			}
			return nil
		}}
	cmd.Flags().StringVar(&set, "set", "", "the new value")
	cmd.Flags().BoolVar(&del, "delete", false, "delete the subject's own setting (it falls back to the global one)")
	if l.path == "mode" {
		cmd.Flags().BoolVar(&force, "force", false, "with --set IMPORT: even though the registry holds schemas")
	}
	return cmd
}

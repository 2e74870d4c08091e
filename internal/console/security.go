package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Security (/security): SCRAM users (DescribeUserScramCredentials, AlterUserScramCredentials)
// and ACLs (DescribeAcls with a filter, CreateAcls, DeleteAcls), all as the signed-in user, so
// only a user the cluster allows (a super user, or one with Alter/Describe on the cluster) can
// see or change them; anyone else sees Kafka's refusal.

func (c *Console) securityRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /security", c.security)
	mux.HandleFunc("POST /security/users", c.upsertUser)
	mux.HandleFunc("POST /security/users/delete", c.deleteUser)
	mux.HandleFunc("POST /security/acls", c.createACL)
	mux.HandleFunc("POST /security/acls/delete", c.deleteACL)
}

type userRow struct {
	User  string
	Creds []credRow
	Err   string
}

type credRow struct {
	Mechanism  string
	Iterations int32
}

// aclRow is one ACL binding, in Kafka's names (TOPIC, LITERAL, READ, ALLOW).
type aclRow struct {
	Principal, Host, ResourceType, ResourceName, PatternType, Operation, Permission string
}

// aclFilter is the ACL list's filter, from the query (bookmarkable).
type aclFilter struct {
	Principal    string
	ResourceType string // "" any
	ResourceName string
}

type securityPage struct {
	Users     []userRow
	UsersErr  string
	ACLs      []aclRow
	ACLsErr   string
	Filter    aclFilter
	Notice    string
	ActionErr string
	Action    string // users or acls
	// The choices of the forms, in Kafka's names.
	ResourceTypes []string
	PatternTypes  []string
	Operations    []string
	Permissions   []string
	Mechanisms    []string
}

// aclListMax bounds the ACL rows shown.
const aclListMax = 5000

func (c *Console) security(w http.ResponseWriter, r *http.Request) {
	c.renderSecurity(w, r, securityPage{Notice: r.URL.Query().Get("done")}, http.StatusOK)
}

func (c *Console) renderSecurity(w http.ResponseWriter, r *http.Request, p securityPage, status int) {
	s := sessionOf(r)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	q := r.URL.Query()
	p.Filter = aclFilter{Principal: strings.TrimSpace(q.Get("principal")), ResourceType: strings.ToUpper(q.Get("resource_type")),
		ResourceName: strings.TrimSpace(q.Get("resource_name"))}
	p.ResourceTypes = []string{"TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"}
	p.PatternTypes = []string{"LITERAL", "PREFIXED"}
	p.Operations = []string{"ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
		"DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"}
	p.Permissions = []string{"ALLOW", "DENY"}
	p.Mechanisms = []string{"SCRAM-SHA-256", "SCRAM-SHA-512"}

	users, err := s.Admin.DescribeUserSCRAMs(ctx)
	if err == nil {
		for _, u := range users.Sorted() {
			row := userRow{User: u.User}
			if u.Err != nil {
				row.Err = errText(u.Err, u.ErrMessage)
			}
			for _, ci := range u.CredInfos {
				row.Creds = append(row.Creds, credRow{Mechanism: ci.Mechanism.String(), Iterations: ci.Iterations})
			}
			p.Users = append(p.Users, row)
		}
	} else {
		p.UsersErr = err.Error()
	}
	acls, err := describeACLs(ctx, s, p.Filter)
	if err != nil {
		p.ACLsErr = err.Error()
	} else {
		p.ACLs = acls
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	c.render(w, r, "security.html", "Security", p)
}

// describeACLs lists the ACLs matching the filter (DescribeAcls; an empty field matches any).
func describeACLs(ctx context.Context, s *Session, f aclFilter) ([]aclRow, error) {
	req := kmsg.NewPtrDescribeACLsRequest()
	req.ResourceType = kmsg.ACLResourceTypeAny
	if f.ResourceType != "" {
		t, err := kmsg.ParseACLResourceType(f.ResourceType)
		if err != nil {
			return nil, fmt.Errorf("resource type %q: %w", f.ResourceType, err)
		}
		req.ResourceType = t
	}
	if f.ResourceName != "" {
		req.ResourceName = &f.ResourceName
	}
	req.ResourcePatternType = kmsg.ACLResourcePatternTypeAny
	if f.Principal != "" {
		req.Principal = &f.Principal
	}
	req.Operation = kmsg.ACLOperationAny
	req.PermissionType = kmsg.ACLPermissionTypeAny
	resp, err := req.RequestWith(ctx, s.Kafka)
	if err != nil {
		return nil, err
	}
	if err := codeErr(resp.ErrorCode, resp.ErrorMessage); err != nil {
		return nil, err
	}
	var rows []aclRow
	for _, res := range resp.Resources {
		for _, a := range res.ACLs {
			if len(rows) >= aclListMax {
				break
			}
			rows = append(rows, aclRow{Principal: a.Principal, Host: a.Host, ResourceType: res.ResourceType.String(),
				ResourceName: res.ResourceName, PatternType: res.ResourcePatternType.String(), Operation: a.Operation.String(),
				Permission: a.PermissionType.String()})
		}
	}
	slices.SortFunc(rows, func(a, b aclRow) int {
		return strings.Compare(a.ResourceType+"\x00"+a.ResourceName+"\x00"+a.Principal+"\x00"+a.Operation,
			b.ResourceType+"\x00"+b.ResourceName+"\x00"+b.Principal+"\x00"+b.Operation)
	})
	return rows, nil
}

func (c *Console) securityAction(w http.ResponseWriter, r *http.Request, action string, err error, notice string) {
	if err != nil {
		c.renderSecurity(w, r, securityPage{Action: action, ActionErr: err.Error()}, http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/security?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

func scramMechanism(name string) (kadm.ScramMechanism, error) {
	switch name {
	case "SCRAM-SHA-256":
		return kadm.ScramSha256, nil
	case "SCRAM-SHA-512":
		return kadm.ScramSha512, nil
	}
	return 0, fmt.Errorf("mechanism %q: SCRAM-SHA-256 or SCRAM-SHA-512", name)
}

func alteredUserErr(rs kadm.AlteredUserSCRAMs, err error) error {
	if err != nil {
		return err
	}
	for _, a := range rs.Sorted() {
		if a.Err != nil {
			return errors.New(errText(a.Err, a.ErrMessage))
		}
	}
	return nil
}

func (c *Console) upsertUser(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	user, pass := strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password")
	mech, err := scramMechanism(r.PostFormValue("mechanism"))
	if err == nil && user == "" {
		err = errors.New("enter a user name")
	}
	if err == nil && pass == "" {
		err = errors.New("enter a password")
	}
	iters := int64(8192)
	if v := strings.TrimSpace(r.PostFormValue("iterations")); v != "" && err == nil {
		iters, err = strconv.ParseInt(v, 10, 32)
		if err != nil || iters < 4096 || iters > 16384 {
			err = errors.New("iterations: a number from 4096 to 16384")
		}
	}
	if err != nil {
		c.securityAction(w, r, "users", err, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	err = alteredUserErr(s.Admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: mech, Iterations: int32(iters), Password: pass}}))
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.securityAction(w, r, "users", err, "set the "+mech.String()+" password of "+user)
}

func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	user := r.PostFormValue("user")
	mech, err := scramMechanism(r.PostFormValue("mechanism"))
	if err != nil {
		c.securityAction(w, r, "users", err, "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	err = alteredUserErr(s.Admin.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: mech}}, nil))
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.securityAction(w, r, "users", err, "deleted the "+mech.String()+" credential of "+user)
}

// aclFromForm reads one ACL binding from a form, in Kafka's names.
func aclFromForm(r *http.Request) (aclRow, kmsg.ACLResourceType, kmsg.ACLResourcePatternType, kmsg.ACLOperation, kmsg.ACLPermissionType, error) {
	a := aclRow{Principal: strings.TrimSpace(r.PostFormValue("principal")), Host: strings.TrimSpace(r.PostFormValue("host")),
		ResourceType: r.PostFormValue("resource_type"), ResourceName: strings.TrimSpace(r.PostFormValue("resource_name")),
		PatternType: r.PostFormValue("pattern_type"), Operation: r.PostFormValue("operation"), Permission: r.PostFormValue("permission")}
	if a.Host == "" {
		a.Host = "*"
	}
	fail := func(err error) (aclRow, kmsg.ACLResourceType, kmsg.ACLResourcePatternType, kmsg.ACLOperation, kmsg.ACLPermissionType, error) {
		return a, 0, 0, 0, 0, err
	}
	if !strings.Contains(a.Principal, ":") {
		return fail(errors.New(`principal: type:name, e.g. User:alice (or User:* for everyone)`))
	}
	rt, err := kmsg.ParseACLResourceType(a.ResourceType)
	if err != nil || rt <= kmsg.ACLResourceTypeAny {
		return fail(fmt.Errorf("resource type %q: TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN or USER", a.ResourceType))
	}
	if rt == kmsg.ACLResourceTypeCluster && a.ResourceName == "" {
		a.ResourceName = "kafka-cluster"
	}
	if a.ResourceName == "" {
		return fail(errors.New("enter a resource name (* for all)"))
	}
	pt, err := kmsg.ParseACLResourcePatternType(a.PatternType)
	if err != nil || (pt != kmsg.ACLResourcePatternTypeLiteral && pt != kmsg.ACLResourcePatternTypePrefixed) {
		return fail(fmt.Errorf("pattern type %q: LITERAL or PREFIXED", a.PatternType))
	}
	op, err := kmsg.ParseACLOperation(a.Operation)
	if err != nil || op <= kmsg.ACLOperationAny {
		return fail(fmt.Errorf("operation %q is not one of Kafka's", a.Operation))
	}
	perm, err := kmsg.ParseACLPermissionType(a.Permission)
	if err != nil || (perm != kmsg.ACLPermissionTypeAllow && perm != kmsg.ACLPermissionTypeDeny) {
		return fail(fmt.Errorf("permission %q: ALLOW or DENY", a.Permission))
	}
	return a, rt, pt, op, perm, nil
}

func (c *Console) createACL(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	a, rt, pt, op, perm, err := aclFromForm(r)
	if err != nil {
		c.securityAction(w, r, "acls", err, "")
		return
	}
	req := kmsg.NewPtrCreateACLsRequest()
	cr := kmsg.NewCreateACLsRequestCreation()
	cr.ResourceType, cr.ResourceName, cr.ResourcePatternType = rt, a.ResourceName, pt
	cr.Principal, cr.Host, cr.Operation, cr.PermissionType = a.Principal, a.Host, op, perm
	req.Creations = append(req.Creations, cr)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, s.Kafka)
	if err == nil {
		for _, res := range resp.Results {
			if err = codeErr(res.ErrorCode, res.ErrorMessage); err != nil {
				break
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	}
	c.securityAction(w, r, "acls", err, fmt.Sprintf("added %s %s %s on %s %s (%s)", a.Permission, a.Principal, a.Operation, a.ResourceType, a.ResourceName, a.PatternType))
}

func (c *Console) deleteACL(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	a, rt, pt, op, perm, err := aclFromForm(r)
	if err != nil {
		c.securityAction(w, r, "acls", err, "")
		return
	}
	req := kmsg.NewPtrDeleteACLsRequest()
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourceName, f.ResourcePatternType = rt, &a.ResourceName, pt
	f.Principal, f.Host, f.Operation, f.PermissionType = &a.Principal, &a.Host, op, perm
	req.Filters = append(req.Filters, f)
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	resp, err := req.RequestWith(ctx, s.Kafka)
	deleted := 0
	if err == nil {
		for _, res := range resp.Results {
			if err = codeErr(res.ErrorCode, res.ErrorMessage); err != nil {
				break
			}
			for _, m := range res.MatchingACLs {
				if err = codeErr(m.ErrorCode, m.ErrorMessage); err != nil {
					break
				}
				deleted++
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("Kafka refused: %w", err)
	} else if deleted == 0 {
		err = errors.New("no ACL matched; it may have been deleted already")
	}
	c.securityAction(w, r, "acls", err, fmt.Sprintf("deleted %s %s %s on %s %s", a.Permission, a.Principal, a.Operation, a.ResourceType, a.ResourceName))
}

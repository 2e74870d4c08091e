package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newACLCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "acl", Short: "Create, list and delete ACLs (as kafka-acls.sh)"}
	cmd.AddCommand(newACLCreateCommand(), newACLListCommand(), newACLDeleteCommand())
	return cmd
}

// aclFlags are kafka-acls.sh's resource, principal, host and operation options.
type aclFlags struct {
	allowPrincipals, denyPrincipals []string
	allowHosts, denyHosts           []string
	operations                      []string
	topics, groups, txnIDs, tokens  []string
	users                           []string // USER resources (principals), for CreateTokens/DescribeTokens
	cluster                         bool
	pattern                         string
	// The kafka-acls.sh shortcuts (create and delete only).
	producer, consumer, idempotent bool
}

func (a *aclFlags) register(f *pflag.FlagSet, patternDefault, patternHelp string) {
	f.StringArrayVar(&a.allowPrincipals, "allow-principal", nil, "principal the ACL allows, as Type:Name (User:alice, User:* for everyone; repeatable)")
	f.StringArrayVar(&a.denyPrincipals, "deny-principal", nil, "principal the ACL denies (repeatable)")
	f.StringArrayVar(&a.allowHosts, "allow-host", nil, "IP address the allow applies from (repeatable; default * for every host)")
	f.StringArrayVar(&a.denyHosts, "deny-host", nil, "IP address the deny applies from (repeatable; default *)")
	f.StringArrayVar(&a.operations, "operation", nil, "operation: Read, Write, Create, Delete, Alter, Describe, ClusterAction, "+
		"DescribeConfigs, AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All (repeatable)")
	f.StringArrayVar(&a.topics, "topic", nil, "topic resource (repeatable; * for every topic)")
	f.StringArrayVar(&a.groups, "group", nil, "consumer group resource (repeatable)")
	f.StringArrayVar(&a.txnIDs, "transactional-id", nil, "transactional id resource (repeatable)")
	f.StringArrayVar(&a.tokens, "delegation-token", nil, "delegation token resource (repeatable)")
	f.StringArrayVar(&a.users, "user-principal", nil, "a user principal as the resource (User:alice), e.g. for CreateTokens or DescribeTokens (repeatable)")
	f.BoolVar(&a.cluster, "cluster", false, "the cluster resource (kafka-cluster)")
	f.StringVar(&a.pattern, "resource-pattern-type", patternDefault, patternHelp)
}

// registerShortcuts adds kafka-acls.sh's --producer, --consumer and --idempotent.
func (a *aclFlags) registerShortcuts(f *pflag.FlagSet) {
	f.BoolVar(&a.producer, "producer", false, "the producer's ACLs: Write, Describe and Create on each --topic, Write and Describe on each --transactional-id")
	f.BoolVar(&a.consumer, "consumer", false, "the consumer's ACLs: Read and Describe on each --topic, Read on each --group")
	f.BoolVar(&a.idempotent, "idempotent", false, "with --producer: also IdempotentWrite on the cluster (not needed since Kafka 3.0, KIP-679)")
}

// grant is the operations the flags name on one resource.
type grant struct {
	resource aclResource
	ops      []kmsg.ACLOperation
}

// grants pairs each resource with its operations: --operation on every resource named, or
// kafka-acls.sh's --producer / --consumer sets. With no operation at all, ops is empty
// (filters then match any operation).
func (a *aclFlags) grants() ([]grant, error) {
	if !a.producer && !a.consumer {
		if a.idempotent {
			return nil, errors.New("--idempotent goes with --producer")
		}
		ops, err := a.parseOperations()
		if err != nil {
			return nil, err
		}
		var out []grant
		for _, r := range a.resources() {
			out = append(out, grant{r, ops})
		}
		return out, nil
	}
	switch {
	case len(a.operations) > 0:
		return nil, errors.New("--operation cannot be combined with --producer or --consumer (they choose the operations)")
	case a.cluster || len(a.tokens) > 0 || len(a.users) > 0:
		return nil, errors.New("--producer and --consumer take --topic, --group and --transactional-id only")
	case len(a.topics) == 0:
		return nil, errors.New("--producer and --consumer need a --topic")
	case a.consumer && len(a.groups) == 0:
		return nil, errors.New("--consumer needs a --group")
	case a.idempotent && !a.producer:
		return nil, errors.New("--idempotent goes with --producer")
	}
	var out []grant
	add := func(typ kmsg.ACLResourceType, names []string, ops ...kmsg.ACLOperation) {
		for _, n := range names {
			out = append(out, grant{aclResource{typ, n}, ops})
		}
	}
	if a.producer {
		add(kmsg.ACLResourceTypeTopic, a.topics, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe, kmsg.ACLOperationCreate)
		add(kmsg.ACLResourceTypeTransactionalId, a.txnIDs, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe)
		if a.idempotent {
			add(kmsg.ACLResourceTypeCluster, []string{"kafka-cluster"}, kmsg.ACLOperationIdempotentWrite)
		}
	}
	if a.consumer {
		add(kmsg.ACLResourceTypeTopic, a.topics, kmsg.ACLOperationRead, kmsg.ACLOperationDescribe)
		add(kmsg.ACLResourceTypeGroup, a.groups, kmsg.ACLOperationRead)
	}
	return out, nil
}

// aclResource is one resource named by the flags.
type aclResource struct {
	typ  kmsg.ACLResourceType
	name string
}

func (a *aclFlags) resources() []aclResource {
	var out []aclResource
	add := func(typ kmsg.ACLResourceType, names []string) {
		for _, n := range names {
			out = append(out, aclResource{typ, n})
		}
	}
	add(kmsg.ACLResourceTypeTopic, a.topics)
	add(kmsg.ACLResourceTypeGroup, a.groups)
	add(kmsg.ACLResourceTypeTransactionalId, a.txnIDs)
	add(kmsg.ACLResourceTypeDelegationToken, a.tokens)
	add(kmsg.ACLResourceTypeUser, a.users)
	if a.cluster {
		out = append(out, aclResource{kmsg.ACLResourceTypeCluster, "kafka-cluster"})
	}
	return out
}

// aclOperations are kafka-acls.sh's operation names, compared without case, '_' or '-'.
var aclOperations = map[string]kmsg.ACLOperation{
	"all": kmsg.ACLOperationAll, "read": kmsg.ACLOperationRead, "write": kmsg.ACLOperationWrite,
	"create": kmsg.ACLOperationCreate, "delete": kmsg.ACLOperationDelete, "alter": kmsg.ACLOperationAlter,
	"describe": kmsg.ACLOperationDescribe, "clusteraction": kmsg.ACLOperationClusterAction,
	"describeconfigs": kmsg.ACLOperationDescribeConfigs, "alterconfigs": kmsg.ACLOperationAlterConfigs,
	"idempotentwrite": kmsg.ACLOperationIdempotentWrite, "createtokens": kmsg.ACLOperationCreateTokens,
	"describetokens": kmsg.ACLOperationDescribeTokens,
}

func parseACLOperation(s string) (kmsg.ACLOperation, error) {
	key := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(strings.TrimSpace(s)))
	if op, ok := aclOperations[key]; ok {
		return op, nil
	}
	return 0, fmt.Errorf("--operation %q: use Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, "+
		"AlterConfigs, IdempotentWrite, CreateTokens, DescribeTokens or All", s)
}

func (a *aclFlags) parseOperations() ([]kmsg.ACLOperation, error) {
	var ops []kmsg.ACLOperation
	for _, s := range a.operations {
		op, err := parseACLOperation(s)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parsePatternType(s string, filter bool) (kmsg.ACLResourcePatternType, error) {
	switch strings.ToLower(s) {
	case "literal":
		return kmsg.ACLResourcePatternTypeLiteral, nil
	case "prefixed":
		return kmsg.ACLResourcePatternTypePrefixed, nil
	case "any":
		if filter {
			return kmsg.ACLResourcePatternTypeAny, nil
		}
	case "match":
		if filter {
			return kmsg.ACLResourcePatternTypeMatch, nil
		}
	}
	if filter {
		return 0, fmt.Errorf("--resource-pattern-type %q: use literal, prefixed, any or match", s)
	}
	return 0, fmt.Errorf("--resource-pattern-type %q: an ACL is literal or prefixed", s)
}

// aclEntry is a principal, host and permission the flags name.
type aclEntry struct {
	principal, host *string
	perm            kmsg.ACLPermissionType
}

// entries pairs each allowed principal with each allow host (and the same for deny); hosts
// default to * for creating and to any host for filters. No principal at all gives one entry
// matching every principal (filters only).
func (a *aclFlags) entries(filter bool) []aclEntry {
	var out []aclEntry
	pair := func(principals, hosts []string, perm kmsg.ACLPermissionType) {
		for _, p := range principals {
			if len(hosts) == 0 {
				var host *string
				if !filter {
					host = kmsg.StringPtr("*")
				}
				out = append(out, aclEntry{principal: kmsg.StringPtr(p), host: host, perm: perm})
			}
			for _, h := range hosts {
				out = append(out, aclEntry{principal: kmsg.StringPtr(p), host: kmsg.StringPtr(h), perm: perm})
			}
		}
	}
	pair(a.allowPrincipals, a.allowHosts, kmsg.ACLPermissionTypeAllow)
	pair(a.denyPrincipals, a.denyHosts, kmsg.ACLPermissionTypeDeny)
	if filter && len(out) == 0 {
		out = append(out, aclEntry{perm: kmsg.ACLPermissionTypeAny})
	}
	return out
}

// aclRow is one ACL as the commands print it.
type aclRow struct {
	ResourceType string `json:"resource_type"`
	Resource     string `json:"resource"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

func newACLRow(typ kmsg.ACLResourceType, name string, pattern kmsg.ACLResourcePatternType, principal, host string,
	op kmsg.ACLOperation, perm kmsg.ACLPermissionType) aclRow {
	return aclRow{ResourceType: typ.String(), Resource: name, PatternType: pattern.String(), Principal: principal, Host: host,
		Operation: op.String(), Permission: perm.String()}
}

func printACLs(w io.Writer, format string, rows []aclRow) error {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.ResourceType != b.ResourceType {
			return a.ResourceType < b.ResourceType
		}
		if a.Resource != b.Resource {
			return a.Resource < b.Resource
		}
		if a.PatternType != b.PatternType {
			return a.PatternType < b.PatternType
		}
		if a.Principal != b.Principal {
			return a.Principal < b.Principal
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		return a.Permission < b.Permission
	})
	if format == "json" {
		if rows == nil {
			rows = []aclRow{}
		}
		return writeJSON(w, rows)
	}
	t := newTable(w, "RESOURCE-TYPE", "RESOURCE", "PATTERN", "PRINCIPAL", "HOST", "OPERATION", "PERMISSION")
	for _, r := range rows {
		t.row(r.ResourceType, r.Resource, r.PatternType, r.Principal, r.Host, r.Operation, r.Permission)
	}
	return t.flush()
}

// aclError names the error code and the broker's message.
func aclError(verb string, code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("%s: %w: %s", verb, err, *msg)
	}
	if errors.Is(err, kerr.SecurityDisabled) {
		return fmt.Errorf("%s: %w (set authorizer.class.name on the brokers)", verb, err)
	}
	return fmt.Errorf("%s: %w", verb, err)
}

func newACLCreateCommand() *cobra.Command {
	var o clientOptions
	var a aclFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create ACLs: every principal × host × operation × resource named",
		Example: "  sluice acl create --allow-principal User:alice --operation Read --operation Describe --topic orders --group billing\n" +
			"  sluice acl create --allow-principal User:app --operation Write --topic logs- --resource-pattern-type prefixed\n" +
			"  sluice acl create --allow-principal User:app --consumer --topic orders --group billing",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pattern, err := parsePatternType(a.pattern, false)
			if err != nil {
				return err
			}
			grants, err := a.grants()
			if err != nil {
				return err
			}
			entries := a.entries(false)
			switch {
			case len(grants) == 0:
				return errors.New("name a resource: --topic, --group, --transactional-id, --delegation-token, --user-principal or --cluster")
			case len(entries) == 0:
				return errors.New("name a principal: --allow-principal or --deny-principal (Type:Name, e.g. User:alice)")
			case len(grants[0].ops) == 0:
				return errors.New("name an operation: --operation (e.g. Read, Write, Describe, All), or use --producer or --consumer")
			}
			req := kmsg.NewPtrCreateACLsRequest()
			var rows []aclRow
			for _, g := range grants {
				r := g.resource
				for _, e := range entries {
					for _, op := range g.ops {
						c := kmsg.NewCreateACLsRequestCreation()
						c.ResourceType, c.ResourceName, c.ResourcePatternType = r.typ, r.name, pattern
						c.Principal, c.Host, c.Operation, c.PermissionType = *e.principal, *e.host, op, e.perm
						req.Creations = append(req.Creations, c)
						rows = append(rows, newACLRow(r.typ, r.name, pattern, *e.principal, *e.host, op, e.perm))
					}
				}
			}
			resp, err := requestACL[*kmsg.CreateACLsResponse](cmd.Context(), &o, req)
			if err != nil {
				return err
			}
			var errs []error
			var created []aclRow
			for i, res := range resp.Results {
				if err := aclError("create ACL", res.ErrorCode, res.ErrorMessage); err != nil && i < len(rows) {
					r := rows[i]
					errs = append(errs, fmt.Errorf("%s %s on %s %s: %w", r.Permission, r.Principal, r.ResourceType, r.Resource, err))
					continue
				}
				if i < len(rows) {
					created = append(created, rows[i])
				}
			}
			if len(created) > 0 {
				if err := printACLs(cmd.OutOrStdout(), o.format, created); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, true)
	a.register(cmd.Flags(), "literal", "literal (the named resource; * for all) or prefixed (every resource whose name starts with it)")
	a.registerShortcuts(cmd.Flags())
	return cmd
}

// filters builds DescribeAcls/DeleteAcls filters from the flags: one per resource × entry ×
// operation (a missing dimension matches everything).
func (a *aclFlags) filters(pattern kmsg.ACLResourcePatternType) ([]kmsg.DeleteACLsRequestFilter, error) {
	grants, err := a.grants()
	if err != nil {
		return nil, err
	}
	if len(grants) == 0 {
		ops, err := a.parseOperations()
		if err != nil {
			return nil, err
		}
		grants = []grant{{resource: aclResource{typ: kmsg.ACLResourceTypeAny}, ops: ops}}
	}
	var out []kmsg.DeleteACLsRequestFilter
	for _, g := range grants {
		ops := g.ops
		if len(ops) == 0 {
			ops = []kmsg.ACLOperation{kmsg.ACLOperationAny}
		}
		for _, e := range a.entries(true) {
			for _, op := range ops {
				f := kmsg.NewDeleteACLsRequestFilter()
				f.ResourceType, f.ResourcePatternType = g.resource.typ, pattern
				if g.resource.typ != kmsg.ACLResourceTypeAny {
					f.ResourceName = kmsg.StringPtr(g.resource.name)
				}
				f.Principal, f.Host, f.Operation, f.PermissionType = e.principal, e.host, op, e.perm
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func newACLListCommand() *cobra.Command {
	var o clientOptions
	var a aclFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ACLs (all of them, or those the flags select)",
		Example: "  sluice acl list\n  sluice acl list --topic orders --resource-pattern-type match\n" +
			"  sluice acl list --allow-principal User:alice",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pattern, err := parsePatternType(a.pattern, true)
			if err != nil {
				return err
			}
			filters, err := a.filters(pattern)
			if err != nil {
				return err
			}
			seen := map[aclRow]bool{}
			var rows []aclRow
			for _, f := range filters {
				req := kmsg.NewPtrDescribeACLsRequest()
				req.ResourceType, req.ResourceName, req.ResourcePatternType = f.ResourceType, f.ResourceName, f.ResourcePatternType
				req.Principal, req.Host, req.Operation, req.PermissionType = f.Principal, f.Host, f.Operation, f.PermissionType
				resp, err := requestACL[*kmsg.DescribeACLsResponse](cmd.Context(), &o, req)
				if err != nil {
					return err
				}
				if err := aclError("list ACLs", resp.ErrorCode, resp.ErrorMessage); err != nil {
					return err
				}
				for _, res := range resp.Resources {
					for _, e := range res.ACLs {
						row := newACLRow(res.ResourceType, res.ResourceName, res.ResourcePatternType, e.Principal, e.Host, e.Operation, e.PermissionType)
						if !seen[row] {
							seen[row] = true
							rows = append(rows, row)
						}
					}
				}
			}
			return printACLs(cmd.OutOrStdout(), o.format, rows)
		},
	}
	o.register(cmd, true)
	a.register(cmd.Flags(), "any", "any, literal, prefixed or match (every ACL that applies to the named resource: literal, * and matching prefixes)")
	return cmd
}

func newACLDeleteCommand() *cobra.Command {
	var o clientOptions
	var a aclFlags
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the ACLs the flags select, and print them",
		Example: "  sluice acl delete --topic orders\n" +
			"  sluice acl delete --allow-principal User:alice --operation Read --topic orders",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pattern, err := parsePatternType(a.pattern, true)
			if err != nil {
				return err
			}
			if len(a.resources()) == 0 {
				return errors.New("name a resource: --topic, --group, --transactional-id, --delegation-token, --user-principal or --cluster")
			}
			filters, err := a.filters(pattern)
			if err != nil {
				return err
			}
			req := kmsg.NewPtrDeleteACLsRequest()
			req.Filters = filters
			resp, err := requestACL[*kmsg.DeleteACLsResponse](cmd.Context(), &o, req)
			if err != nil {
				return err
			}
			var errs []error
			seen := map[aclRow]bool{}
			var rows []aclRow
			for _, res := range resp.Results {
				if err := aclError("delete ACLs", res.ErrorCode, res.ErrorMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				for _, m := range res.MatchingACLs {
					row := newACLRow(m.ResourceType, m.ResourceName, m.ResourcePatternType, m.Principal, m.Host, m.Operation, m.PermissionType)
					if !seen[row] {
						seen[row] = true
						rows = append(rows, row)
					}
				}
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			if len(rows) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no ACL matched")
				return nil
			}
			return printACLs(cmd.OutOrStdout(), o.format, rows)
		},
	}
	o.register(cmd, true)
	a.register(cmd.Flags(), "literal", "literal, prefixed, any or match")
	a.registerShortcuts(cmd.Flags())
	return cmd
}

// requestACL sends req and returns its typed response.
func requestACL[R kmsg.Response](parent context.Context, o *clientOptions, req kmsg.Request) (R, error) {
	var zero R
	cl, err := o.client()
	if err != nil {
		return zero, err
	}
	defer cl.Close()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	resp, err := cl.Request(ctx, req)
	if err != nil {
		return zero, o.explain(err)
	}
	r, ok := resp.(R)
	if !ok {
		return zero, fmt.Errorf("unexpected response %T", resp)
	}
	return r, nil
}

package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
)

func newQuotaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "quota", Short: "Describe and alter client quotas (byte rates, request percentage, controller mutation rate)",
		Long: "Client quotas (KIP-13, KIP-124, KIP-546) apply to a user, a client id, both, or an IP, each possibly the\n" +
			"default entity. Entities are named as kafka-configs names them: --user/--client/--ip (or --user-defaults,\n" +
			"--client-defaults, --ip-defaults), or --entity-type users|clients|ips with --entity-name NAME or\n" +
			"--entity-default, paired in order."}
	cmd.AddCommand(newQuotaDescribeCommand(), newQuotaAlterCommand())
	return cmd
}

// entityPart is one (type, name) of a quota entity as the flags give it; nil name is the default.
type entityPart struct {
	typ  string
	name *string
}

// entityFlags collects an entity from kafka-configs style flags.
type entityFlags struct {
	user, client, ip                  string
	userDefault, clientDef, ipDefault bool
	types                             []string
	names                             []*string // --entity-name and --entity-default, in command-line order
}

// orderedName appends to the shared name list: --entity-name NAME appends NAME, --entity-default
// appends nil (the default), so their order on the command line pairs them with --entity-type.
type orderedName struct {
	names *[]*string
	def   bool
}

func (o orderedName) String() string { return "" }
func (o orderedName) Type() string {
	if o.def {
		return "bool"
	}
	return "string"
}
func (o orderedName) Set(v string) error {
	if o.def {
		*o.names = append(*o.names, nil)
		return nil
	}
	*o.names = append(*o.names, &v)
	return nil
}

func (e *entityFlags) register(f *pflag.FlagSet) {
	f.StringVar(&e.user, "user", "", "the user (principal name) the quota applies to")
	f.StringVar(&e.client, "client", "", "the client id the quota applies to")
	f.StringVar(&e.ip, "ip", "", "the IP address the quota applies to (connection_creation_rate)")
	f.BoolVar(&e.userDefault, "user-defaults", false, "the default user entity")
	f.BoolVar(&e.clientDef, "client-defaults", false, "the default client id entity")
	f.BoolVar(&e.ipDefault, "ip-defaults", false, "the default IP entity")
	f.StringArrayVar(&e.types, "entity-type", nil, "entity type: users, clients or ips (repeatable, as kafka-configs)")
	f.Var(orderedName{names: &e.names}, "entity-name", "entity name, paired in order with --entity-type")
	def := f.VarPF(orderedName{names: &e.names, def: true}, "entity-default", "", "the default entity, paired in order with --entity-type")
	def.NoOptDefVal = "true"
}

// quotaEntityTypes maps kafka-configs' entity types to the protocol's.
var quotaEntityTypes = map[string]string{"users": "user", "user": "user", "clients": "client-id", "client-id": "client-id",
	"client": "client-id", "ips": "ip", "ip": "ip"}

// parts returns the entity the flags name, in user, client-id, ip order; forDescribe allows a
// type without a name (--entity-type users alone: every entity having a user).
func (e *entityFlags) parts(cmd *cobra.Command, forDescribe bool) ([]entityPart, error) {
	var out []entityPart
	add := func(typ string, name *string) error {
		for _, p := range out {
			if p.typ == typ {
				return fmt.Errorf("the entity names %s twice", typ)
			}
		}
		out = append(out, entityPart{typ: typ, name: name})
		return nil
	}
	shorthand := []struct {
		typ, name string
		isSet     bool
		def       bool
	}{
		{"user", e.user, cmd.Flags().Changed("user"), e.userDefault},
		{"client-id", e.client, cmd.Flags().Changed("client"), e.clientDef},
		{"ip", e.ip, cmd.Flags().Changed("ip"), e.ipDefault},
	}
	for _, s := range shorthand {
		switch {
		case s.isSet && s.def:
			return nil, fmt.Errorf("name a %s or its defaults, not both", s.typ)
		case s.isSet:
			name := s.name
			if err := add(s.typ, &name); err != nil {
				return nil, err
			}
		case s.def:
			if err := add(s.typ, nil); err != nil {
				return nil, err
			}
		}
	}
	if len(e.names) > len(e.types) || (!forDescribe && len(e.names) != len(e.types)) {
		return nil, fmt.Errorf("%d --entity-type for %d --entity-name/--entity-default: give each type its name or --entity-default", len(e.types), len(e.names))
	}
	for i, t := range e.types {
		typ, ok := quotaEntityTypes[t]
		if !ok {
			return nil, fmt.Errorf("--entity-type %q: use users, clients or ips", t)
		}
		var name *string
		specified := i >= len(e.names)
		if !specified {
			name = e.names[i]
		}
		if specified {
			typ = "?" + typ // a type without a name: described as "any entity of this type"
		}
		if err := add(typ, name); err != nil {
			return nil, err
		}
	}
	order := map[string]int{"user": 0, "?user": 0, "client-id": 1, "?client-id": 1, "ip": 2, "?ip": 2}
	slices.SortStableFunc(out, func(a, b entityPart) int { return order[a.typ] - order[b.typ] })
	return out, nil
}

func entityString(parts []entityPart) string {
	var s []string
	for _, p := range parts {
		name := "<default>"
		if p.name != nil {
			name = *p.name
		}
		s = append(s, p.typ+"="+name)
	}
	return strings.Join(s, ", ")
}

// quotaEntry is one entity and its quotas, as `quota describe` prints them.
type quotaEntry struct {
	Entity map[string]*string `json:"entity"` // type → name, null for the default
	Quotas map[string]float64 `json:"quotas"`
	text   string
}

func newQuotaDescribeCommand() *cobra.Command {
	var o clientOptions
	var e entityFlags
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "List client quotas: all of them, or those of the entity the flags name (exactly that entity)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parts, err := e.parts(cmd, true)
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			entries, err := describeQuotas(ctx, adm, parts)
			if err != nil {
				return o.explain(err)
			}
			return printQuotas(cmd.OutOrStdout(), o.format, entries)
		},
	}
	o.register(cmd, true)
	e.register(cmd.Flags())
	return cmd
}

// describeQuotas asks for the quotas of exactly the entity parts name (strict), or all when
// parts is empty. A part whose type starts with "?" matches any name of that type.
func describeQuotas(ctx context.Context, adm *kadm.Client, parts []entityPart) ([]quotaEntry, error) {
	var comps []kadm.DescribeClientQuotaComponent
	for _, p := range parts {
		c := kadm.DescribeClientQuotaComponent{Type: p.typ, MatchName: p.name}
		switch {
		case strings.HasPrefix(p.typ, "?"):
			c.Type, c.MatchType = p.typ[1:], 2 // SPECIFIED
		case p.name == nil:
			c.MatchType = 1 // DEFAULT
		}
		comps = append(comps, c)
	}
	described, err := adm.DescribeClientQuotas(ctx, len(comps) > 0, comps)
	if err != nil {
		return nil, fmt.Errorf("describe client quotas: %w", err)
	}
	var out []quotaEntry
	for _, d := range described {
		entry := quotaEntry{Entity: map[string]*string{}, Quotas: map[string]float64{}}
		var ps []entityPart
		for _, c := range d.Entity {
			entry.Entity[c.Type] = c.Name
			ps = append(ps, entityPart{typ: c.Type, name: c.Name})
		}
		entry.text = entityString(ps)
		for _, v := range d.Values {
			entry.Quotas[v.Key] = v.Value
		}
		out = append(out, entry)
	}
	slices.SortFunc(out, func(a, b quotaEntry) int { return strings.Compare(a.text, b.text) })
	return out, nil
}

func formatQuotaValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func printQuotas(w io.Writer, format string, entries []quotaEntry) error {
	if format == "json" {
		if entries == nil {
			entries = []quotaEntry{}
		}
		return writeJSON(w, entries)
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "No client quotas.")
		return err
	}
	t := newTable(w, "ENTITY", "QUOTAS")
	for _, e := range entries {
		var kv []string
		for _, k := range slices.Sorted(mapKeys(e.Quotas)) {
			kv = append(kv, k+"="+formatQuotaValue(e.Quotas[k]))
		}
		t.row(e.text, strings.Join(kv, ","))
	}
	return t.flush()
}

func mapKeys(m map[string]float64) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func newQuotaAlterCommand() *cobra.Command {
	var o clientOptions
	var e entityFlags
	var add, del []string
	var validateOnly bool
	cmd := &cobra.Command{
		Use:   "alter",
		Short: "Set (--add-config key=value) and remove (--delete-config key) the quotas of one entity",
		Example: "  sluice quota alter --user alice --add-config producer_byte_rate=1048576,consumer_byte_rate=2097152\n" +
			"  sluice quota alter --entity-type clients --entity-default --add-config request_percentage=50\n" +
			"  sluice quota alter --client app --delete-config producer_byte_rate",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			parts, err := e.parts(cmd, false)
			if err != nil {
				return err
			}
			if len(parts) == 0 {
				return fmt.Errorf("name the entity: --user, --client, --ip (or their -defaults), or --entity-type with --entity-name/--entity-default")
			}
			ops, err := quotaOps(add, del)
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			entity := kadm.ClientQuotaEntity{}
			for _, p := range parts {
				entity = append(entity, kadm.ClientQuotaEntityComponent{Type: p.typ, Name: p.name})
			}
			entry := []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: ops}}
			alter := adm.AlterClientQuotas
			if validateOnly {
				alter = adm.ValidateAlterClientQuotas
			}
			res, err := alter(ctx, entry)
			if err != nil {
				return o.explain(fmt.Errorf("alter client quotas: %w", err))
			}
			if len(res) != 1 {
				return fmt.Errorf("alter client quotas: %d results for 1 entity", len(res))
			}
			if res[0].Err != nil {
				if res[0].ErrMessage != "" {
					return fmt.Errorf("alter quotas of %s: %v: %s", entityString(parts), res[0].Err, res[0].ErrMessage)
				}
				return fmt.Errorf("alter quotas of %s: %w", entityString(parts), res[0].Err)
			}
			verb := "altered"
			if validateOnly {
				verb = "validated (not applied)"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s quotas of %s\n", verb, entityString(parts))
			return err
		},
	}
	o.register(cmd, false)
	e.register(cmd.Flags())
	cmd.Flags().StringArrayVar(&add, "add-config", nil, "quotas to set: key=value[,key=value…] (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate; connection_creation_rate for ips)")
	cmd.Flags().StringArrayVar(&del, "delete-config", nil, "quota keys to remove: key[,key…]")
	cmd.Flags().BoolVar(&validateOnly, "validate-only", false, "ask the controller to validate without applying")
	return cmd
}

// quotaOps parses --add-config and --delete-config.
func quotaOps(add, del []string) ([]kadm.AlterClientQuotaOp, error) {
	var ops []kadm.AlterClientQuotaOp
	for _, a := range add {
		for _, kv := range strings.Split(a, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("--add-config %q: expected key=value", kv)
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("--add-config %s=%s: the value is not a number", k, v)
			}
			ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Value: f})
		}
	}
	for _, d := range del {
		for _, k := range strings.Split(d, ",") {
			if k = strings.TrimSpace(k); k != "" {
				ops = append(ops, kadm.AlterClientQuotaOp{Key: k, Remove: true})
			}
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("nothing to change: give --add-config key=value or --delete-config key")
	}
	return ops, nil
}

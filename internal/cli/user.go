package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/internal/security/scram"
)

func newUserCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create, list and delete SCRAM users (as kafka-configs.sh --entity-type users)"}
	cmd.AddCommand(newUserCreateCommand(), newUserListCommand(), newUserDeleteCommand())
	return cmd
}

func parseMechanism(s string) (int8, error) {
	m := scram.MechanismByName(s)
	if m == 0 {
		return 0, fmt.Errorf("--mechanism %q: use SCRAM-SHA-256 or SCRAM-SHA-512", s)
	}
	return m, nil
}

func newUserCreateCommand() *cobra.Command {
	var o clientOptions
	var password, mechanism string
	var iterations int
	cmd := &cobra.Command{
		Use:   "create USER",
		Short: "Create a SCRAM user, or set a new password for one",
		Long: "Create a SCRAM user, or replace its credential for the mechanism. The password is salted here " +
			"(a random salt, PBKDF2 with the given iterations) and only the salted password is sent (KIP-554). " +
			"Without --password the first line of standard input is the password.",
		Example: "  sluice user create alice --password alice-secret\n" +
			"  echo \"$PW\" | sluice user create bob --mechanism SCRAM-SHA-512 --iterations 8192",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mech, err := parseMechanism(mechanism)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("password") {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("read the password from standard input: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if password == "" {
				return errors.New("empty password: pass --password or give it on standard input")
			}
			cred, err := scram.Spec{Mechanism: mech, Name: args[0], Password: password, Iterations: iterations}.Credential(nil)
			if err != nil {
				return err
			}
			salted, err := scram.SaltedPassword(mech, password, cred.Salt, int(cred.Iterations))
			if err != nil {
				return err
			}
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: args[0], Mechanism: kadm.ScramMechanism(mech),
				Iterations: cred.Iterations, Salt: cred.Salt, SaltedPassword: salted}})
			if err != nil {
				return o.explain(err)
			}
			if err := userResultError("create", args[0], res[args[0]].Err, res[args[0]].ErrMessage); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "set %s credential of user %s (%d iterations)\n", scram.MechanismName(mech), args[0], cred.Iterations)
			return nil
		},
	}
	o.register(cmd, false)
	f := cmd.Flags()
	f.StringVar(&password, "password", "", "the password (default: read a line from standard input)")
	f.StringVar(&mechanism, "mechanism", "SCRAM-SHA-256", "SCRAM-SHA-256 or SCRAM-SHA-512")
	f.IntVar(&iterations, "iterations", scram.DefaultIterations, "PBKDF2 iterations, 4096 to 16384")
	return cmd
}

func userResultError(verb, user string, err error, msg string) error {
	if err == nil {
		return nil
	}
	if msg != "" {
		return fmt.Errorf("%s user %s: %w: %s", verb, user, err, msg)
	}
	return fmt.Errorf("%s user %s: %w", verb, user, err)
}

// userRow is one credential as `user list` prints it.
type userRow struct {
	User       string `json:"user"`
	Mechanism  string `json:"mechanism"`
	Iterations int32  `json:"iterations"`
}

func newUserListCommand() *cobra.Command {
	var o clientOptions
	cmd := &cobra.Command{
		Use:   "list [USER...]",
		Short: "List SCRAM users and their mechanisms (never salts or keys)",
		RunE: func(cmd *cobra.Command, users []string) error {
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			described, err := adm.DescribeUserSCRAMs(ctx, users...)
			if err != nil {
				return o.explain(err)
			}
			var rows []userRow
			var errs []error
			for _, d := range described.Sorted() {
				if err := userResultError("describe", d.User, d.Err, d.ErrMessage); err != nil {
					errs = append(errs, err)
					continue
				}
				for _, c := range d.CredInfos {
					rows = append(rows, userRow{User: d.User, Mechanism: c.Mechanism.String(), Iterations: c.Iterations})
				}
			}
			sort.SliceStable(rows, func(i, j int) bool {
				return rows[i].User < rows[j].User || rows[i].User == rows[j].User && rows[i].Mechanism < rows[j].Mechanism
			})
			if o.format == "json" {
				if rows == nil {
					rows = []userRow{}
				}
				if err := writeJSON(cmd.OutOrStdout(), rows); err != nil {
					return err
				}
			} else {
				t := newTable(cmd.OutOrStdout(), "USER", "MECHANISM", "ITERATIONS")
				for _, r := range rows {
					t.row(r.User, r.Mechanism, r.Iterations)
				}
				if err := t.flush(); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		},
	}
	o.register(cmd, true)
	return cmd
}

func newUserDeleteCommand() *cobra.Command {
	var o clientOptions
	var mechanism string
	cmd := &cobra.Command{
		Use:   "delete USER",
		Short: "Delete a SCRAM user's credential for one mechanism, or all of them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			user := args[0]
			adm, ctx, done, err := o.admin(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var mechs []kadm.ScramMechanism
			if mechanism != "" {
				m, err := parseMechanism(mechanism)
				if err != nil {
					return err
				}
				mechs = []kadm.ScramMechanism{kadm.ScramMechanism(m)}
			} else {
				described, err := adm.DescribeUserSCRAMs(ctx, user)
				if err != nil {
					return o.explain(err)
				}
				d := described[user]
				if err := userResultError("delete", user, d.Err, d.ErrMessage); err != nil {
					return err
				}
				for _, c := range d.CredInfos {
					mechs = append(mechs, c.Mechanism)
				}
			}
			// One request per mechanism: a user named twice in one request is refused (KIP-554).
			for _, m := range mechs {
				res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: user, Mechanism: m}}, nil)
				if err != nil {
					return o.explain(err)
				}
				if err := userResultError("delete", user, res[user].Err, res[user].ErrMessage); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s credential of user %s\n", m, user)
			}
			return nil
		},
	}
	o.register(cmd, false)
	cmd.Flags().StringVar(&mechanism, "mechanism", "", "SCRAM-SHA-256 or SCRAM-SHA-512 (default: every mechanism the user has)")
	return cmd
}

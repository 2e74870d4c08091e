package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Main runs the sluice command with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			return exit.code
		}
		fmt.Fprintln(stderr, "sluice:", err)
		return 1
	}
	return 0
}

// exitError carries an exit code that is not a plain failure (for example a signal).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "A Kafka-compatible event streaming platform in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(), newBenchCommand(), newTopicCommand(), newProduceCommand(), newConsumeCommand(), newGroupCommand(), newClusterCommand())
	root.AddCommand(newACLCommand(), newUserCommand())
	root.AddCommand(newQuotaCommand())
	root.AddCommand(newSchemaCommand())
	root.AddCommand(newConnectCommand())
	root.AddCommand(newConsoleCommand())
	return root
}

// envOr returns the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

package tests

import (
	"strings"
	"testing"
)

// TestCLIUsersAndACLs drives `sluice user` and `sluice acl` against a real broker with the
// authorizer on and a bootstrap SCRAM user (--add-scram), then restarts it (SIGTERM, the same
// data directory, without --add-scram) and finds the users and ACLs still there. The CLI
// connects as User:ANONYMOUS, a super user here, so the cluster-level checks pass.
func TestCLIUsersAndACLs(t *testing.T) {
	n := startNode(t, "--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"--override", "super.users=User:ANONYMOUS;User:admin",
		"--add-scram", "SCRAM-SHA-256=[name=admin,password=admin-secret]")
	steps := []cliStep{
		{name: "user_list_bootstrap", args: []string{"user", "list"}, golden: true},
		{name: "user_create", args: []string{"user", "create", "alice", "--password", "alice-secret", "--mechanism", "SCRAM-SHA-512", "--iterations", "8192"},
			stdout: []string{"set SCRAM-SHA-512 credential of user alice (8192 iterations)"}},
		{name: "user_create_stdin", args: []string{"user", "create", "bob"}, stdin: "bob-secret\n",
			stdout: []string{"set SCRAM-SHA-256 credential of user bob (4096 iterations)"}},
		{name: "user_create_second_mechanism", args: []string{"user", "create", "bob", "--password", "bob-secret", "--mechanism", "SCRAM-SHA-512"},
			stdout: []string{"set SCRAM-SHA-512 credential of user bob"}},
		{name: "user_create_bad_iterations", args: []string{"user", "create", "carol", "--password", "x", "--iterations", "100"}, wantFail: true,
			stderr: []string{"100 iterations; Kafka allows 4096..16384"}},
		{name: "user_create_bad_mechanism", args: []string{"user", "create", "carol", "--password", "x", "--mechanism", "SCRAM-SHA-1"}, wantFail: true,
			stderr: []string{`--mechanism "SCRAM-SHA-1": use SCRAM-SHA-256 or SCRAM-SHA-512`}},
		{name: "user_list", args: []string{"user", "list"}, golden: true},
		{name: "user_list_json", args: []string{"user", "list", "bob", "--format", "json"}, golden: true},
		{name: "user_list_missing", args: []string{"user", "list", "nobody"}, wantFail: true,
			stderr: []string{"describe user nobody: RESOURCE_NOT_FOUND"}},
		{name: "user_delete", args: []string{"user", "delete", "bob"}, golden: true},
		{name: "user_delete_missing", args: []string{"user", "delete", "alice", "--mechanism", "SCRAM-SHA-256"}, wantFail: true,
			stderr: []string{"delete user alice: RESOURCE_NOT_FOUND"}},

		{name: "acl_create", args: []string{"acl", "create", "--allow-principal", "User:alice", "--operation", "Read", "--operation", "describe",
			"--topic", "orders", "--group", "billing"}, golden: true},
		{name: "acl_create_prefixed_deny", args: []string{"acl", "create", "--deny-principal", "User:bob", "--deny-host", "10.0.0.9",
			"--operation", "Write", "--topic", "orders-", "--resource-pattern-type", "prefixed"}, golden: true},
		{name: "acl_create_cluster", args: []string{"acl", "create", "--allow-principal", "User:ops", "--operation", "ClusterAction",
			"--operation", "alter_configs", "--cluster"}, stdout: []string{"CLUSTER  kafka-cluster  LITERAL  User:ops  *  CLUSTER_ACTION  ALLOW"}},
		{name: "acl_create_no_operation", args: []string{"acl", "create", "--allow-principal", "User:x", "--topic", "t"}, wantFail: true,
			stderr: []string{"name an operation: --operation"}},
		{name: "acl_create_bad_principal", args: []string{"acl", "create", "--allow-principal", "alice", "--operation", "Read", "--topic", "t"}, wantFail: true,
			stderr: []string{"INVALID_REQUEST", "no colon is present"}},
		{name: "acl_create_match", args: []string{"acl", "create", "--allow-principal", "User:x", "--operation", "Read", "--topic", "t",
			"--resource-pattern-type", "match"}, wantFail: true, stderr: []string{"an ACL is literal or prefixed"}},
		{name: "acl_list", args: []string{"acl", "list"}, golden: true},
		{name: "acl_list_match", args: []string{"acl", "list", "--topic", "orders-eu", "--resource-pattern-type", "match"}, golden: true},
		{name: "acl_list_principal_json", args: []string{"acl", "list", "--allow-principal", "User:alice", "--format", "json"}, golden: true},
		{name: "acl_delete", args: []string{"acl", "delete", "--topic", "orders"}, golden: true},
		{name: "acl_delete_none", args: []string{"acl", "delete", "--topic", "nothing-here"}, stdout: []string{"no ACL matched"}},
		// kafka-acls.sh's shortcuts.
		{name: "acl_create_consumer", args: []string{"acl", "create", "--allow-principal", "User:app", "--consumer", "--topic", "events", "--group", "app-group"}, golden: true},
		{name: "acl_create_producer", args: []string{"acl", "create", "--allow-principal", "User:app", "--producer", "--idempotent", "--topic", "events",
			"--transactional-id", "app-tx"}, golden: true},
		{name: "acl_consumer_without_group", args: []string{"acl", "create", "--allow-principal", "User:app", "--consumer", "--topic", "events"}, wantFail: true,
			stderr: []string{"--consumer needs a --group"}},
		{name: "acl_producer_with_operation", args: []string{"acl", "create", "--allow-principal", "User:app", "--producer", "--topic", "events", "--operation", "Read"}, wantFail: true,
			stderr: []string{"--operation cannot be combined with --producer or --consumer"}},
		{name: "acl_delete_consumer", args: []string{"acl", "delete", "--allow-principal", "User:app", "--consumer", "--topic", "events", "--group", "app-group"}, golden: true},
		{name: "acl_list_app", args: []string{"acl", "list", "--allow-principal", "User:app"}, golden: true},
		{name: "acl_create_user_resource", args: []string{"acl", "create", "--allow-principal", "User:ops", "--operation", "DescribeTokens",
			"--user-principal", "User:app"}, stdout: []string{"USER  User:app  LITERAL  User:ops  *  DESCRIBE_TOKENS  ALLOW"}},
		{name: "acl_list_user_resource", args: []string{"acl", "list", "--user-principal", "User:app"}, stdout: []string{"USER  User:app  LITERAL  User:ops"}},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { runCLIStep(t, n, step) }) {
			t.FailNow()
		}
	}

	// The users and ACLs are in the metadata log: a restart without --add-scram keeps them.
	n.stop()
	n.extraArgs = n.extraArgs[:4]
	n.start()
	after := []cliStep{
		{name: "user_list_after_restart", args: []string{"user", "list"}, stdout: []string{"admin  SCRAM-SHA-256  4096", "alice  SCRAM-SHA-512  8192"}},
		{name: "acl_list_after_restart", args: []string{"acl", "list"}, stdout: []string{"GROUP  billing  LITERAL  User:alice  *  READ  ALLOW",
			"TOPIC  orders-  PREFIXED  User:bob  10.0.0.9  WRITE  DENY"}},
	}
	for _, step := range after {
		if !t.Run(step.name, func(t *testing.T) { runCLIStep(t, n, step) }) {
			t.FailNow()
		}
	}
	if strings.Contains(n.logs.String(), "admin-secret") {
		t.Error("the bootstrap password appears in the broker's log")
	}
}
